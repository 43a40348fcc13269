// The eval callback: at the `ask` phase it says yes only to the graph nodes a request asked for
// (as llama.cpp's imatrix does); at the data phase it copies them out of the compute buffer at
// once, since the buffer is reused afterwards. Micro-batches are stitched into whole-prompt arrays.
// The callback runs inside llama_decode, between graph pieces: every microsecond spent here is
// added to the decode, so the arrays of one decode are carved from a single allocation planned
// in `begin` (one allocation per hook cost ~100 us each, mostly V8 external-memory bookkeeping)
// and F32 rows are read straight into their place. A long prompt's [pos, d] hooks are kept as
// halves (ggml's own float-to-half rounding), which halves the largest thing an inspection holds.
import { hookTable, matchesFilter, type HookFilter, type HookName, type ResolvedHook } from '../hookNames';
import { GgmlType } from '../gguf/ggmlTypes';
import { isHalf, type HeldTensor } from '../activations';
import { halvesToFloats } from '../util/half';
import { tensorName, tensorNe, tensorType, type Native, type Ptr } from './native';

export interface CaptureRequest {
  /** hooks to keep; decided per node at the callback's `ask` phase */
  readonly filter: HookFilter;
  /** total tokens of the prompt (rows of every [pos, d] hook) */
  readonly nTokens: number;
  /** stop computing once this node has been captured (saves the layers after it; CPU only) */
  readonly stopAfter?: string;
  /** keep [pos, d] hooks as IEEE halves (patterns stay float32) */
  readonly halfStates?: boolean;
}

export interface CaptureDims {
  /** general.architecture: picks the node table (llama when absent) */
  readonly arch?: string;
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly dHead: number;
  /** a mixture of experts: the router's width (hook_expert_weights) */
  readonly nExperts?: number;
}

type Store = Map<HookName, HeldTensor>;

export class Capture {
  private table: Map<string, ResolvedHook>;
  private wanted = new Map<string, ResolvedHook>();
  private store: Store = new Map();
  /** where each wanted hook's array lies in this decode's single allocation */
  private planned = new Map<HookName, HeldTensor>();
  private nTokens = 0;
  private halfStates = false;
  private chunkStart = 0;
  private stopAfter: string | undefined;
  private scratch = new Float32Array(0);
  private scratchHalf = new Uint16Array(0);
  /** nodes seen at the ask phase during the last decode (for diagnostics and tests) */
  readonly seen = new Set<string>();
  recordSeen = false;

  constructor(
    private readonly native: Native,
    private readonly dims: CaptureDims,
  ) {
    this.table = hookTable(dims.nLayers, dims.arch);
  }

  begin(req: CaptureRequest): void {
    this.wanted = new Map([...this.table].filter(([, h]) => matchesFilter(req.filter, h.hook)));
    this.store = new Map();
    this.nTokens = req.nTokens;
    this.chunkStart = 0;
    this.stopAfter = req.stopAfter;
    this.halfStates = req.halfStates ?? false;
    this.seen.clear();
    this.plan();
  }

  /** Called before each micro-batch: its first token's index in the prompt. */
  setChunkStart(start: number): void {
    this.chunkStart = start;
  }

  finish(): Store {
    const out = this.store;
    this.wanted = new Map();
    this.store = new Map();
    this.planned = new Map();
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

  /** One zero-filled allocation for every hook the request wants, in hook shapes (one more for halves). */
  private plan(): void {
    const n = this.nTokens;
    const { dModel, nHeads, dHead } = this.dims;
    const shapes = [...this.wanted.values()].map((h): [HookName, number[], boolean] => [
      h.hook,
      h.layout === 'pattern' ? [nHeads, n, n] : [n, h.width === 'heads' ? nHeads * dHead : h.width === 'experts' ? this.dims.nExperts ?? 0 : dModel],
      this.halfStates && h.layout === 'pos_by_dim',
    ]);
    const total = (half: boolean): number => shapes.reduce((s, [, sh, h]) => s + (h === half ? size(sh) : 0), 0);
    const floats = new Float32Array(total(false));
    const halves = new Uint16Array(total(true));
    this.planned = new Map();
    let [atF, atH] = [0, 0];
    for (const [hook, shape, half] of shapes) {
      const n = size(shape);
      this.planned.set(hook, half ? { shape, half: halves.subarray(atH, (atH += n)) } : { shape, data: floats.subarray(atF, (atF += n)) });
    }
  }

  private copy(t: Ptr, hook: ResolvedHook): void {
    const ne = tensorNe(t);
    const type = tensorType(t);
    if (hook.layout === 'pos_by_dim') {
      const [d, nUb] = [ne[0]!, ne[1]!];
      const entry = this.buffer(hook.hook, [this.nTokens, d]);
      const [from, to] = [this.chunkStart * d, (this.chunkStart + nUb) * d];
      if (isHalf(entry)) {
        const rows = entry.half.subarray(from, to);
        if (type === GgmlType.F16) this.native.base.ggml_backend_tensor_get(t, rows, 0, rows.byteLength);
        else this.native.base.ggml_fp32_to_fp16_row(this.read(t, type, d * nUb), rows, d * nUb);
        return;
      }
      const rows = entry.data.subarray(from, to);
      if (type === GgmlType.F32) this.native.base.ggml_backend_tensor_get(t, rows, 0, rows.byteLength);
      else rows.set(this.read(t, type, d * nUb));
    } else {
      // kq_soft_max: ne = [n_kv, n_ub, n_head]; hook layout [head, query_pos, key_pos]; keys past
      // the prompt (n_kv is padded to 256 and more) are left behind
      const [nKv, nUb, nHead] = [ne[0]!, ne[1]!, ne[2]!];
      const n = this.nTokens;
      const entry = this.buffer(hook.hook, [nHead, n, n]);
      if (isHalf(entry)) throw new Error(`${hook.hook} was planned as halves`);
      const dst = entry.data;
      const cols = Math.min(nKv, n);
      if (type === GgmlType.F32) {
        // per head, one strided read: nUb rows of `cols` floats, row stride n_kv there and n here
        for (let h = 0; h < nHead; h++) {
          const rows = dst.subarray((h * n + this.chunkStart) * n, (h * n + this.chunkStart + nUb - 1) * n + cols);
          this.native.base.ggml_backend_tensor_get_2d(t, rows, h * nUb * nKv * 4, cols * 4, nUb, nKv * 4, n * 4);
        }
      } else {
        const src = this.read(t, type, nKv * nUb * nHead);
        for (let h = 0; h < nHead; h++) {
          for (let i = 0; i < nUb; i++) {
            const from = (h * nUb + i) * nKv;
            dst.set(src.subarray(from, from + cols), (h * n + this.chunkStart + i) * n);
          }
        }
      }
    }
  }

  /** The hook's array: its planned place when the tensor has the planned shape, else its own. */
  private buffer(hook: HookName, shape: number[]): HeldTensor {
    let entry = this.store.get(hook);
    if (!entry) {
      const planned = this.planned.get(hook);
      const fits = planned !== undefined && planned.shape.length === shape.length && planned.shape.every((v, i) => v === shape[i]);
      entry = fits ? planned : planned && isHalf(planned) ? { shape, half: new Uint16Array(size(shape)) } : { shape, data: new Float32Array(size(shape)) };
      this.store.set(hook, entry);
    }
    return entry;
  }

  /** The first `values` floats of a tensor, via a reused scratch array. */
  private read(t: Ptr, type: number, values: number): Float32Array {
    const base = this.native.base;
    if (this.scratch.length < values) this.scratch = new Float32Array(values);
    if (type === GgmlType.F32) {
      base.ggml_backend_tensor_get(t, this.scratch, 0, values * 4);
      return this.scratch;
    }
    if (type === GgmlType.F16) {
      if (this.scratchHalf.length < values) this.scratchHalf = new Uint16Array(values);
      base.ggml_backend_tensor_get(t, this.scratchHalf, 0, values * 2);
      halvesToFloats(this.scratchHalf.subarray(0, values), this.scratch);
      return this.scratch;
    }
    throw new Error(`cannot capture ${tensorName(t)}: activation type ${type} is neither F32 nor F16`);
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
