// A loaded model: tokenization with offsets and instrumented decodes that return an
// ActivationCache holding only what was asked for. Synchronous by design: it runs in the engine
// process (see ../worker), where blocking is fine and the eval callback runs at full speed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ActivationCache, asFloat, type HeldTensor, type Tensor } from '../activations';
import { InnerWorldError, modelFileMissing } from '../errors';
import { supportedArchLabels } from '../arch';
import { LlamaModelFile, SUPPORTED_ARCHS, type Hparams } from '../gguf/llamaModel';
import { GgmlType, typeName } from '../gguf/ggmlTypes';
import { openValidated } from '../gguf/validate';
import { expandFilter, hookTable, matchesFilter, missingHookReason, type HookFilter, type HookName } from '../hookNames';
import { getBackend, type Backend, type GpuPreference } from './backend';
import { Capture } from './capture';
import { createCpuThreadpool, evalCallbackProto, fillBatch, freeCpuThreadpool, readFloats, registerCallback, unregisterCallback, type LlamaBatch, type Ptr } from './native';
import { Tokenizer } from './tokens';
import { DEFAULT_MAX_CONTEXT, modelMemory, planFit, weightBytes } from '../models/memoryFit';

export interface SessionOptions {
  gpu?: GpuPreference;
  /** layers to offload; 'auto' fits them to free GPU memory */
  gpuLayers?: number | 'auto';
  threads?: number;
  /**
   * KV cache precision: f32 keeps captured attention exact; f16 halves its memory; q8_0 takes 0.27
   * of it but needs llama.cpp's flash attention, which forms no attention pattern to capture.
   * 'auto' (the default): f32 while the cache is at most KV_F32_MAX_BYTES; beyond (a 7B model's
   * long selection: 1 MB per position in f32, bench/results/inspectionMemory.md) q8_0 for a decode
   * that captures no pattern (the views compute patterns from the states) and f16 for one that does.
   */
  kvType?: KvType | 'auto';
  /**
   * How captured [pos, d] hooks are held: 'auto' (the default) keeps them float32 while one decode's
   * are at most STATES_F32_MAX_BYTES and as halves beyond (a 4,096-token 7B selection's states are
   * 2.2 GB in float32); attention patterns stay float32
   */
  stateType?: 'f32' | 'f16' | 'auto';
  /** most tokens one inspection may hold (default: the model's training context, at most 4096) */
  maxContext?: number;
  /**
   * let llama.cpp repack weights into its CPU extra buffer types (AMX, CPU_REPACK): a copy of the
   * weights in anonymous memory. 'auto' (default): only for files up to REPACK_MAX_FILE_BYTES
   */
  repackWeights?: boolean | 'auto';
  /** an inspection context whose f32-sized KV cache exceeds this is freed after its decode (default KEEP_CONTEXT_MAX_BYTES) */
  keepContextBytes?: number;
  /** free RAM to plan with (default os.freemem()); the tests set it to see a refusal */
  freeRam?: number;
}

export interface ModelInfo extends Pick<Hparams, 'arch' | 'nLayers' | 'dModel' | 'nHeads' | 'nKvHeads' | 'dHead' | 'dFf' | 'nVocab' | 'nCtxTrain' | 'nExperts' | 'nExpertsUsed'> {
  readonly path: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly maxContext: number;
  readonly fileBytes: number;
  /** the file's modification time when it was opened (ms since 1970): with `fileBytes`, which file this is */
  readonly fileModified: number;
  readonly backend: string;
  readonly gpuLayers: number;
  /** a message the user should see about how the model was placed (GPU fallback ...) */
  readonly notice: string | undefined;
}

export interface RunRequest {
  /** hooks to capture (TransformerLens names); `blocks.{l}.hook_resid_pre` is served from resid_post / embed */
  hooks: HookFilter;
  /** also return logits for every position ([pos, d_vocab]) */
  logits?: boolean;
  /**
   * every position's logits handed over micro-batch by micro-batch instead of kept: `rows` is
   * [len, d_vocab] for positions start.., valid only during the call (a 4,096-token 7B prompt's
   * logits are 0.5 GB; the inspection keeps per-token numbers of them)
   */
  logitRows?: (start: number, rows: Float32Array) => void;
  /** checked between micro-batches; set `cancelled` to stop */
  signal?: { cancelled: boolean };
}

export interface BatchResult {
  /** [sum of prompt lengths, d] rows of the hook, prompt after prompt */
  readonly rows: Float32Array;
  /** start row of each prompt */
  readonly offsets: readonly number[];
  readonly d: number;
}

const UBATCH = 512;

export type KvType = 'f32' | 'f16' | 'q8_0';

/** Captured [pos, d] hooks of one decode up to this size stay float32 under stateType 'auto'. */
export const STATES_F32_MAX_BYTES = 1024 ** 3;

/**
 * Larger files load without repacking: at 7B Q4_K_M the repacked copy was 2.85 GiB of anonymous
 * memory (the mapped file costs none), most of the 3 GB an inspection may hold, and a short
 * decode took the same CPU time without it (bench/results/inspectionMemory.md).
 */
export const REPACK_MAX_FILE_BYTES = 1024 ** 3;

/** A KV cache up to this size stays f32 under kvType 'auto' (every small model, short 7B selections). */
export const KV_F32_MAX_BYTES = 256 * 1024 ** 2;
/**
 * An instrumented context whose KV cache is larger than this is freed after its decode: the
 * captures are copied out, and a long selection's cache (GBs at 7B) is not held between
 * inspections. Re-creating it costs far less than the decode that needs it.
 */
export const KEEP_CONTEXT_MAX_BYTES = 256 * 1024 ** 2;
const MAX_SEQ_PER_BATCH = 256; // LLAMA_MAX_SEQ of this build

interface Ctx {
  ptr: Ptr;
  nCtx: number;
  nSeq: number;
  batch: LlamaBatch;
  batchCap: number;
  /** the eval callback is installed (a context without it is the plain baseline) */
  instrumented: boolean;
  kv: KvType;
}

export class ModelSession {
  readonly tokenizer: Tokenizer;
  private readonly capture: Capture;
  private readonly cbHandle: unknown;
  /** shared by this session's contexts: worker threads live across graph computes (see native.ts) */
  private readonly threadpool: Ptr | undefined;
  private promptCtx: Ctx | undefined;
  private batchCtx: Ctx | undefined;
  private plainCtx: Ctx | undefined;
  private disposed = false;

  private constructor(
    readonly info: ModelInfo,
    readonly file: LlamaModelFile,
    private readonly backend: Backend,
    private readonly model: Ptr,
    private readonly opts: Required<Pick<SessionOptions, 'threads' | 'kvType' | 'stateType' | 'keepContextBytes'>>,
  ) {
    const api = backend.native.llama;
    this.tokenizer = new Tokenizer(api, api.llama_model_get_vocab(model), file.tokens);
    this.capture = new Capture(backend.native, info);
    this.cbHandle = registerCallback(this.capture.callback as never, evalCallbackProto);
    this.threadpool = createCpuThreadpool(backend.native, opts.threads);
  }

  static async open(path: string, opts: SessionOptions = {}): Promise<ModelSession> {
    if (!fs.existsSync(path)) throw new InnerWorldError('model-load-failed', modelFileMissing(path));
    // what llama.cpp would abort on is refused here, with the path once and what to do
    const checked = openValidated(path);
    let file: LlamaModelFile;
    try {
      file = new LlamaModelFile(checked);
    } catch (e) {
      checked.close();
      throw e;
    }
    try {
      const hp = file.hparams;
      if (!SUPPORTED_ARCHS.has(hp.arch)) {
        throw new InnerWorldError('not-llama', `${file.name} is a "${hp.arch}" model, an architecture LLM Inner World does not run yet; it runs ${supportedArchLabels()} models (Llama 2 and 3, Mistral, TinyLlama, Qwen 2, 2.5 and 3, Qwen3 MoE, Gemma 2 and 3, Phi-3 and Phi-4 mini ...). Its weights can still be browsed with the weight views.`);
      }
      const experts = file.file.get(`${hp.arch}.expert_count`);
      if (typeof experts === 'number' && experts > 0 && !file.archTable.moe) {
        throw new InnerWorldError('not-llama', `${file.name} is a mixture-of-experts model (${experts} experts per layer), which LLM Inner World does not run yet: its FFN output is not one set of W_gate / W_in / W_out. Its attention weights can still be browsed with the weight views.`);
      }
      file.validate();
      checkWeightTypes(file);
      const fileBytes = file.file.fileSize;
      const backend = await getBackend(opts.gpu ?? 'auto');
      const { layers, notice } = placeModel(backend, file, opts);
      const api = backend.native.llama;
      const repack = opts.repackWeights === undefined || opts.repackWeights === 'auto' ? fileBytes <= REPACK_MAX_FILE_BYTES : opts.repackWeights;
      const loadWith = (n: number): Ptr => api.llama_model_load_from_file(path, { ...api.llama_model_default_params(), n_gpu_layers: n, ...(repack ? {} : { use_extra_bufts: false }) });
      let model = loadWith(layers);
      let gpuLayers = layers;
      let finalNotice = notice;
      if (!model && layers > 0) {
        model = loadWith(0);
        gpuLayers = 0;
        finalNotice = `The model did not fit on the GPU (${backend.label}); it runs on the CPU.`;
      }
      if (!model) {
        await new Promise((r) => setImmediate(r)); // let llama.cpp's queued log lines arrive
        throw new InnerWorldError('model-load-failed', `llama.cpp could not load ${file.name}.`, backend.log.slice(-8).join('\n'));
      }
      const maxContext = Math.min(opts.maxContext ?? DEFAULT_MAX_CONTEXT, hp.nCtxTrain);
      const info: ModelInfo = {
        path,
        name: file.name,
        description: file.file.get('general.description') as string | undefined,
        arch: hp.arch,
        nLayers: hp.nLayers,
        dModel: hp.dModel,
        nHeads: hp.nHeads,
        nKvHeads: hp.nKvHeads,
        dHead: hp.dHead,
        dFf: hp.dFf,
        nVocab: hp.nVocab,
        nCtxTrain: hp.nCtxTrain,
        nExperts: hp.nExperts,
        nExpertsUsed: hp.nExpertsUsed,
        maxContext,
        fileBytes,
        fileModified: fs.statSync(path).mtimeMs,
        backend: gpuLayers > 0 ? backend.label : 'CPU',
        gpuLayers,
        notice: finalNotice,
      };
      return new ModelSession(info, file, backend, model, { threads: opts.threads ?? defaultThreads(), kvType: opts.kvType ?? 'auto', stateType: opts.stateType ?? 'auto', keepContextBytes: opts.keepContextBytes ?? KEEP_CONTEXT_MAX_BYTES });
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The tokens with offsets; BOS first when the model wants it. */
  tokenize(text: string, opts: { addBos?: boolean; overflow?: 'error' | 'truncate' } = {}) {
    if (text.length === 0) throw new InnerWorldError('empty-prompt', 'The selection is empty: select some text to inspect.');
    return this.tokenizer.tokenize(text, { addBos: opts.addBos, maxTokens: this.info.maxContext, overflow: opts.overflow });
  }

  /** One instrumented decode of `tokens` (BOS included if wanted); returns only what was asked. */
  run(tokens: readonly number[], req: RunRequest): ActivationCache {
    this.ensureAlive();
    this.checkPrompt(tokens);
    this.checkHooks(req.hooks);
    const n = tokens.length;
    const filter = expandFilter(req.hooks, this.info.nLayers);
    const ctx = (this.promptCtx = this.ensureCtx(this.promptCtx, n, 1, true, this.capturesPatterns(filter)));
    this.capture.begin({ filter, nTokens: n, halfStates: this.halfStatesFor(filter, n) });
    let logits: Float32Array | undefined;
    try {
      logits = this.decodePrompt(ctx, tokens, { keep: req.logits ?? false, rows: req.logitRows }, req.signal, (start) => this.capture.setChunkStart(start));
    } catch (e) {
      this.capture.finish();
      throw e;
    }
    const store = this.capture.finish();
    if (this.kvBytes(ctx.nCtx, 'f32') > this.opts.keepContextBytes) this.promptCtx = this.freeCtx(ctx);
    const logitsTensor: Tensor | undefined = logits ? { shape: [n, this.info.nVocab], data: logits } : undefined; // [pos, d_vocab]
    return new ActivationCache(tokens, store, logitsTensor);
  }

  /**
   * The same decode as `run` in a context with no eval callback at all: the baseline the
   * capture's cost is measured against (bench/capture.ts), and the check that capturing does not
   * change the numbers. Returns the logits ([pos, d_vocab]) when asked.
   */
  runPlain(tokens: readonly number[], opts: { logits?: boolean } = {}): Float32Array | undefined {
    this.ensureAlive();
    this.checkPrompt(tokens);
    const ctx = (this.plainCtx = this.ensureCtx(this.plainCtx, tokens.length, 1, false, false));
    return this.decodePrompt(ctx, tokens, { keep: opts.logits ?? false }, undefined, () => {});
  }

  /**
   * Many short prompts in few decodes, capturing one [pos, d] hook (the middle dictionary runs
   * thousands of 2-token prompts). Computation stops after the hook's layer where the backend allows.
   */
  runBatch(prompts: readonly (readonly number[])[], hook: HookName, signal?: { cancelled: boolean }): BatchResult {
    this.ensureAlive();
    const node = nodeOf(hook, this.info.arch, this.info.nLayers);
    if (prompts.length === 0) return { rows: new Float32Array(0), offsets: [], d: this.info.dModel };
    for (const p of prompts) {
      if (p.length === 0) throw new InnerWorldError('empty-prompt', 'A batched prompt has no tokens.');
      if (p.length > UBATCH) throw new InnerWorldError('bad-argument', `batched prompts must be at most ${UBATCH} tokens`);
      this.checkTokenIds(p);
    }
    const total = prompts.reduce((s, p) => s + p.length, 0);
    const layer = /^l_out-(\d+)$/.exec(node)?.[1];
    if (layer !== undefined && Number(layer) >= this.info.nLayers) throw new InnerWorldError('bad-argument', `${hook}: the model has ${this.info.nLayers} layers`);
    const allRows = node === `l_out-${this.info.nLayers - 1}`;
    const ctx = (this.batchCtx = this.ensureCtx(this.batchCtx, UBATCH, MAX_SEQ_PER_BATCH, true, false));
    const api = this.backend.native.llama;
    let d = 0;
    let rows = new Float32Array(0);
    const offsets: number[] = [];
    let row = 0;
    let p = 0;
    while (p < prompts.length) {
      if (signal?.cancelled) throw new InnerWorldError('cancelled', 'Cancelled.');
      // pack whole prompts into one micro-batch, each its own sequence
      const group: (readonly number[])[] = [];
      let len = 0;
      while (p < prompts.length && group.length < MAX_SEQ_PER_BATCH && len + prompts[p]!.length <= UBATCH) {
        len += prompts[p]!.length;
        group.push(prompts[p++]!);
      }
      const toks: number[] = [];
      const pos: number[] = [];
      const seq: number[] = [];
      group.forEach((g, s) => {
        offsets.push(row + toks.length);
        g.forEach((t, i) => {
          toks.push(t);
          pos.push(i);
          seq.push(s);
        });
      });
      // One output per sequence keeps the vocabulary projection cheap, but llama.cpp prunes the
      // LAST layer to the output rows before its FFN, so a hook there needs every row as output.
      const out = seq.map((s, i) => (allRows || i === seq.length - 1 || seq[i + 1] !== s ? 1 : 0));
      api.llama_memory_clear(api.llama_get_memory(ctx.ptr), true);
      this.capture.begin({ filter: [hook], nTokens: len, stopAfter: node });
      fillBatch(ctx.batch, toks, pos, seq, out);
      this.capture.setChunkStart(0);
      let held: HeldTensor | undefined;
      try {
        this.decode(ctx);
      } finally {
        held = this.capture.finish().get(hook);
      }
      if (!held) throw new Error(`${hook} was not produced by the graph`);
      const got = asFloat(held);
      d = got.shape[1]!;
      if (rows.length < total * d) {
        const grown = new Float32Array(total * d);
        grown.set(rows);
        rows = grown;
      }
      rows.set(got.data.subarray(0, len * d), row * d);
      row += len;
    }
    return { rows, offsets, d };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const api = this.backend.native.llama;
    for (const c of [this.promptCtx, this.batchCtx, this.plainCtx]) {
      if (!c) continue;
      api.llama_batch_free(c.batch);
      api.llama_free(c.ptr);
    }
    api.llama_model_free(this.model);
    if (this.threadpool) freeCpuThreadpool(this.backend.native, this.threadpool);
    unregisterCallback(this.cbHandle);
    this.file.close();
  }

  /** Nodes the graph showed the eval callback in one decode of `tokens` (tests, diagnostics). */
  graphNodes(tokens: readonly number[]): string[] {
    this.capture.recordSeen = true;
    try {
      this.run(tokens, { hooks: [] });
      return [...this.capture.seen];
    } finally {
      this.capture.recordSeen = false;
    }
  }

  /** A listed hook this architecture's graph never names is refused with the reason, not left empty. */
  private checkHooks(filter: HookFilter): void {
    if (typeof filter === 'function') return;
    for (const h of filter) {
      const why = missingHookReason(h, this.info.arch);
      if (why) throw new InnerWorldError('bad-argument', why);
    }
  }

  private checkPrompt(tokens: readonly number[]): void {
    const n = tokens.length;
    if (n === 0) throw new InnerWorldError('empty-prompt', 'Nothing to run: the prompt has no tokens.');
    if (n > this.info.maxContext) {
      throw new InnerWorldError('prompt-too-long', `The prompt is ${n} tokens; at most ${this.info.maxContext} fit this model's context.`);
    }
    this.checkTokenIds(tokens);
  }

  private checkTokenIds(tokens: readonly number[]): void {
    const bad = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= this.info.nVocab);
    if (bad !== undefined) throw new InnerWorldError('bad-argument', `token id ${bad} is outside the vocabulary (0..${this.info.nVocab - 1})`);
  }

  /** Decode a whole prompt in micro-batches of UBATCH, every token an output; logits kept or handed over when asked. */
  private decodePrompt(
    ctx: Ctx,
    tokens: readonly number[],
    want: { keep: boolean; rows?: (start: number, rows: Float32Array) => void },
    signal: { cancelled: boolean } | undefined,
    onChunk: (start: number) => void,
  ): Float32Array | undefined {
    const api = this.backend.native.llama;
    const n = tokens.length;
    const vocab = this.info.nVocab;
    api.llama_memory_clear(api.llama_get_memory(ctx.ptr), true);
    const logits = want.keep ? new Float32Array(n * vocab) : undefined; // [pos, d_vocab]
    const chunk = want.rows ? new Float32Array(Math.min(n, UBATCH) * vocab) : undefined; // [len, d_vocab]
    for (let start = 0; start < n; start += UBATCH) {
      if (signal?.cancelled) throw new InnerWorldError('cancelled', 'The inspection was cancelled.');
      const end = Math.min(n, start + UBATCH);
      const len = end - start;
      // every token asks for output: otherwise llama.cpp prunes the last layer's rows to the last token
      fillBatch(ctx.batch, tokens.slice(start, end), range(start, end), new Array(len).fill(0), new Array(len).fill(1));
      onChunk(start);
      this.decode(ctx);
      if (logits) for (let i = 0; i < len; i++) logits.set(readFloats(api.llama_get_logits_ith(ctx.ptr, i), vocab), (start + i) * vocab);
      if (chunk) {
        for (let i = 0; i < len; i++) chunk.set(readFloats(api.llama_get_logits_ith(ctx.ptr, i), vocab), i * vocab);
        want.rows!(start, chunk.subarray(0, len * vocab));
      }
    }
    return logits;
  }

  private decode(ctx: Ctx): void {
    const rc = this.backend.native.llama.llama_decode(ctx.ptr, ctx.batch);
    if (rc !== 0) {
      throw new InnerWorldError(rc === 1 ? 'out-of-memory' : 'model-load-failed', `llama_decode failed (code ${rc})${rc === 1 ? ': no room in the KV cache' : ''}`, this.backend.log.slice(-5).join('\n'));
    }
  }

  /** A context for `nTokens`: the current one when it fits (size, sequences, callback, KV type), else a new one. */
  private ensureCtx(current: Ctx | undefined, nTokens: number, nSeq: number, instrumented: boolean, patterns: boolean): Ctx {
    const nCtx = Math.min(Math.max(256, Math.ceil(nTokens / 256) * 256), Math.max(this.info.maxContext, nTokens));
    const kvType = this.kvTypeFor(nCtx, { patterns });
    if (patterns && kvType === 'q8_0') {
      throw new InnerWorldError('bad-argument', 'Attention patterns cannot be captured with a q8_0 KV cache: llama.cpp computes it with flash attention, which forms no pattern. Use kvType f16 or auto.');
    }
    if (current && current.nCtx >= nTokens && current.nSeq === nSeq && current.instrumented === instrumented && current.kv === kvType) return current;
    const api = this.backend.native.llama;
    if (current) this.freeCtx(current);
    const kv = KV_GGML_TYPE[kvType];
    const ptr = api.llama_init_from_model(this.model, {
      ...api.llama_context_default_params(),
      n_ctx: nCtx,
      n_batch: Math.min(nCtx, UBATCH),
      n_ubatch: Math.min(nCtx, UBATCH),
      n_seq_max: nSeq,
      n_threads: this.opts.threads,
      n_threads_batch: this.opts.threads,
      // attention patterns (kq_soft_max) exist only without flash attention; a quantized V cache needs it
      flash_attn_type: kvType === 'q8_0' ? 1 : 0,
      type_k: kv,
      type_v: kv,
      kv_unified: true,
      // sliding-window layers (gemma) keep every position's key: a cell per position, so the
      // pattern's key columns are positions however long the prompt
      swa_full: true,
      cb_eval: instrumented ? this.cbHandle : null,
      cb_eval_user_data: null,
    });
    if (!ptr) {
      throw new InnerWorldError('out-of-memory', `Not enough memory for a ${nCtx}-token context of ${this.info.name}. Select less text or use kvType f16.`, this.backend.log.slice(-5).join('\n'));
    }
    if (this.threadpool) api.llama_attach_threadpool(ptr, this.threadpool, this.threadpool);
    const batchCap = Math.min(nCtx, UBATCH);
    return { ptr, nCtx, nSeq, batch: api.llama_batch_init(batchCap, 0, 1), batchCap, instrumented, kv: kvType };
  }

  /** KV-cache bytes of the contexts this session holds now (between decodes) */
  get heldKvBytes(): number {
    return [this.promptCtx, this.batchCtx, this.plainCtx].reduce((a, c) => a + (c ? this.kvBytes(c.nCtx, c.kv) : 0), 0);
  }

  /** Bytes of the K and V caches of an nCtx-position context (every layer, every kv head). */
  kvBytes(nCtx: number, type: KvType): number {
    const i = this.info;
    return 2 * i.nLayers * nCtx * i.nKvHeads * i.dHead * KV_BYTES_PER_VALUE[type];
  }

  /**
   * The KV cache type of an nCtx-position context: the option, or under 'auto' f32 while it is
   * small, and beyond q8_0 unless the decode captures patterns (or a head is not a whole number
   * of q8_0 blocks), f16 then.
   */
  kvTypeFor(nCtx: number, o: { patterns?: boolean } = {}): KvType {
    if (this.opts.kvType !== 'auto') return this.opts.kvType;
    if (this.kvBytes(nCtx, 'f32') <= KV_F32_MAX_BYTES) return 'f32';
    return o.patterns || this.info.dHead % 32 !== 0 ? 'f16' : 'q8_0';
  }

  /** Whether a decode with this filter keeps its [pos, d] hooks as halves (stateType, and under 'auto' their size). */
  halfStatesFor(filter: HookFilter, nTokens: number): boolean {
    if (this.opts.stateType !== 'auto') return this.opts.stateType === 'f16';
    const rows = [...hookTable(this.info.nLayers, this.info.arch).values()].filter((h) => h.layout === 'pos_by_dim' && matchesFilter(filter, h.hook)).length;
    return rows * nTokens * this.info.dModel * 4 > STATES_F32_MAX_BYTES;
  }

  private capturesPatterns(filter: HookFilter): boolean {
    return [...hookTable(this.info.nLayers, this.info.arch).values()].some((h) => h.layout === 'pattern' && matchesFilter(filter, h.hook));
  }

  private freeCtx(c: Ctx): undefined {
    const api = this.backend.native.llama;
    api.llama_batch_free(c.batch);
    api.llama_free(c.ptr);
    return undefined;
  }

  private ensureAlive(): void {
    if (this.disposed) throw new InnerWorldError('no-model', 'The model was released; load it again.');
  }
}

/**
 * Types ggml-cpu has no dot product for (integers, F64, and the activation-only Q8_1 / Q8_K).
 * llama.cpp loads a file holding such a weight without complaint and then crashes the whole
 * process in the first decode (a segfault, seen with an I32 attn_q): refuse them before it tries.
 */
const NOT_WEIGHT_TYPES: ReadonlySet<number> = new Set([GgmlType.I8, GgmlType.I16, GgmlType.I32, GgmlType.I64, GgmlType.F64, GgmlType.Q8_1, GgmlType.Q8_K]);

function checkWeightTypes(file: LlamaModelFile): void {
  const bad = file.file.tensors.find((t) => NOT_WEIGHT_TYPES.has(t.type));
  if (bad) {
    throw new InnerWorldError('unsupported-tensor-type', `${file.name} stores ${bad.name} as ${typeName(bad.type)}, which is not a weight type llama.cpp can compute with: the file is not a usable model. Choose another file, or convert the model again with llama.cpp's tools.`);
  }
}

function nodeOf(hook: HookName, arch: string, nLayers: number): string {
  const m = /^blocks\.(\d+)\.hook_resid_post$/.exec(hook);
  if (m) return `l_out-${m[1]}`;
  if (hook === 'hook_embed') return [...hookTable(nLayers, arch).values()].find((h) => h.hook === 'hook_embed')!.node; // gemma: inp_scaled
  throw new InnerWorldError('bad-argument', `batched decode captures resid_post or hook_embed, not ${hook}`);
}

/**
 * Where the model goes, checked before llama.cpp loads it: mapped weights + KV cache + compute
 * reserve against free RAM and free GPU memory (see ../models/memoryFit). What does not fit is
 * refused with the arithmetic; what fits only partly on the GPU is refused as
 * 'needs-partial-offload' (the layers that fit in `detail`) unless the caller allowed it.
 */
function placeModel(backend: Backend, file: LlamaModelFile, opts: SessionOptions): { layers: number; notice: string | undefined } {
  const hp = file.hparams;
  const context = opts.maxContext ?? DEFAULT_MAX_CONTEXT;
  const kvType = opts.kvType ?? 'auto';
  // as kvTypeFor decides it for the largest context
  const f32 = kvType === 'f32' || (kvType === 'auto' && 2 * hp.nLayers * context * hp.nKvHeads * hp.dHead * 4 <= KV_F32_MAX_BYTES);
  const need = modelMemory({ weightBytes: weightBytes(file.file.tensors), shape: hp, context, kvBytesPerValue: f32 ? 4 : 2 });
  const want = opts.gpuLayers ?? 'auto';
  const mem = backend.gpu ? backend.gpuMemory() : undefined;
  if (want !== 'auto') {
    const layers = !backend.gpu ? 0 : want < 0 ? hp.nLayers + 1 : want;
    return { layers, notice: layers > 0 && layers < hp.nLayers + 1 ? `${layers} of ${hp.nLayers + 1} layers run on the GPU (${backend.label}); the rest run on the CPU.` : undefined };
  }
  const plan = planFit({ name: file.name, need, nLayers: hp.nLayers, freeRam: opts.freeRam ?? os.freemem(), gpu: mem ? { free: mem.free, label: backend.label } : undefined });
  if (plan.kind === 'refused') throw new InnerWorldError('out-of-memory', plan.message);
  if (plan.kind === 'partial') throw new InnerWorldError('needs-partial-offload', plan.message, String(plan.gpuLayers));
  return { layers: backend.gpu && !mem ? hp.nLayers + 1 : plan.gpuLayers, notice: undefined };
}

const KV_GGML_TYPE: Record<KvType, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0 };
/** q8_0: 32 values in 34 bytes (an f16 scale and 32 int8) */
const KV_BYTES_PER_VALUE: Record<KvType, number> = { f32: 4, f16: 2, q8_0: 34 / 32 };

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function defaultThreads(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}
