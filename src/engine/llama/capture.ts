// The eval callback: at the `ask` phase it says yes only to the graph nodes a request asked for
// (as llama.cpp's imatrix does); at the data phase it copies them out of the compute buffer at
// once, since the buffer is reused afterwards. Micro-batches are stitched into whole-prompt arrays.
import { hookTable, matchesFilter, type HookFilter, type HookName, type ResolvedHook } from '../hookNames';
import { GgmlType } from '../gguf/ggmlTypes';
import { halfTableView } from '../util/half';
import { tensorName, tensorNe, tensorType, type Native, type Ptr } from './native';

export interface CaptureRequest {
  /** hooks to keep; decided per node at the callback's `ask` phase */
  readonly filter: HookFilter;
  /** total tokens of the prompt (rows of every [pos, d] hook) */
  readonly nTokens: number;
  /** stop computing once this node has been captured (saves the layers after it; CPU only) */
  readonly stopAfter?: string;
}

export class Capture {
  private table: Map<string, ResolvedHook>;
  private wanted = new Map<string, ResolvedHook>();
  private store = new Map<HookName, { shape: number[]; data: Float32Array }>();
  private nTokens = 0;
  private chunkStart = 0;
  private stopAfter: string | undefined;
  private scratch = new Float32Array(0);
  private scratchHalf = new Uint16Array(0);
  /** nodes seen at the ask phase during the last decode (for diagnostics and tests) */
  readonly seen = new Set<string>();
  recordSeen = false;

  constructor(
    private readonly native: Native,
    nLayers: number,
  ) {
    this.table = hookTable(nLayers);
  }

  begin(req: CaptureRequest): void {
    this.wanted = new Map([...this.table].filter(([, h]) => matchesFilter(req.filter, h.hook)));
    this.store = new Map();
    this.nTokens = req.nTokens;
    this.chunkStart = 0;
    this.stopAfter = req.stopAfter;
    this.seen.clear();
  }

  /** Called before each micro-batch: its first token's index in the prompt. */
  setChunkStart(start: number): void {
    this.chunkStart = start;
  }

  finish(): Map<HookName, { shape: number[]; data: Float32Array }> {
    const out = this.store;
    this.wanted = new Map();
    this.store = new Map();
    return out;
  }

  /** The function handed to llama.cpp as `cb_eval`. */
  readonly callback = (t: Ptr, ask: boolean): boolean => {
    if (this.wanted.size === 0 && !this.recordSeen) return ask ? false : true;
    const name = tensorName(t);
    if (ask) {
      if (this.recordSeen) this.seen.add(name);
      return this.wanted.has(name);
    }
    const hook = this.wanted.get(name);
    if (hook) this.copy(t, hook);
    return name !== this.stopAfter;
  };

  private copy(t: Ptr, hook: ResolvedHook): void {
    const ne = tensorNe(t);
    const values = ne[0]! * ne[1]! * ne[2]! * ne[3]!;
    const src = this.read(t, values);
    if (hook.layout === 'pos_by_dim') {
      const [d, nUb] = [ne[0]!, ne[1]!];
      const dst = this.buffer(hook.hook, [this.nTokens, d]);
      dst.set(src.subarray(0, d * nUb), this.chunkStart * d);
    } else {
      // kq_soft_max: ne = [n_kv, n_ub, n_head]; hook layout [head, query_pos, key_pos]
      const [nKv, nUb, nHead] = [ne[0]!, ne[1]!, ne[2]!];
      const n = this.nTokens;
      const dst = this.buffer(hook.hook, [nHead, n, n]);
      const cols = Math.min(nKv, n);
      for (let h = 0; h < nHead; h++) {
        for (let i = 0; i < nUb; i++) {
          const from = (h * nUb + i) * nKv;
          dst.set(src.subarray(from, from + cols), (h * n + this.chunkStart + i) * n);
        }
      }
    }
  }

  private buffer(hook: HookName, shape: number[]): Float32Array {
    let entry = this.store.get(hook);
    if (!entry) {
      entry = { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
      this.store.set(hook, entry);
    }
    return entry.data;
  }

  private read(t: Ptr, values: number): Float32Array {
    const type = tensorType(t);
    const base = this.native.base;
    if (type === GgmlType.F32) {
      if (this.scratch.length < values) this.scratch = new Float32Array(values);
      base.ggml_backend_tensor_get(t, this.scratch, 0, values * 4);
      return this.scratch;
    }
    if (type === GgmlType.F16) {
      if (this.scratchHalf.length < values) this.scratchHalf = new Uint16Array(values);
      if (this.scratch.length < values) this.scratch = new Float32Array(values);
      base.ggml_backend_tensor_get(t, this.scratchHalf, 0, values * 2);
      const table = halfTableView();
      for (let i = 0; i < values; i++) this.scratch[i] = table[this.scratchHalf[i]!]!;
      return this.scratch;
    }
    throw new Error(`cannot capture ${tensorName(t)}: activation type ${type} is neither F32 nor F16`);
  }
}
