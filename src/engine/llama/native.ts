// The ONE module that declares the llama.cpp / ggml C API for koffi. Nothing else touches raw
// pointers' layouts. The declarations match the llama.cpp build shipped by node-llama-cpp
// 3.21.1 (its llama/gitRelease.bundle holds the exact headers); the struct sizes below are
// asserted against the library's own default-params functions when the library is loaded.
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const NODE_LLAMA_CPP_VERSION = '3.21.1';

/** Opaque C pointer as koffi hands it out. */
export type Ptr = unknown;

const LLAMA_MODEL_PARAMS_SIZE = 80;
const LLAMA_CONTEXT_PARAMS_SIZE = 160;
const LLAMA_BATCH_SIZE = 56;
export const GGML_TENSOR_SIZE = 336;
/** Offsets in `struct ggml_tensor` (ggml.h of this build). */
export const TENSOR_OFFSETS = { type: 0, ne: 16, nb: 48, op: 80, data: 248, name: 256 } as const;

const T = {
  modelParams: koffi.struct('llama_model_params', {
    devices: 'void *',
    tensor_buft_overrides: 'void *',
    n_gpu_layers: 'int32_t',
    split_mode: 'int32_t',
    load_mode: 'int32_t',
    lazy_mode: 'int32_t',
    main_gpu: 'int32_t',
    tensor_split: 'void *',
    progress_callback: 'void *',
    progress_callback_user_data: 'void *',
    kv_overrides: 'void *',
    vocab_only: 'bool',
    check_tensors: 'bool',
    use_extra_bufts: 'bool',
    no_host: 'bool',
    no_alloc: 'bool',
    load_mtp: 'bool',
  }),
  contextParams: koffi.struct('llama_context_params', {
    n_ctx: 'uint32_t',
    n_batch: 'uint32_t',
    n_ubatch: 'uint32_t',
    n_seq_max: 'uint32_t',
    n_rs_seq: 'uint32_t',
    n_outputs_max: 'uint32_t',
    n_outputs_max_per_seq: 'uint32_t',
    n_threads: 'int32_t',
    n_threads_batch: 'int32_t',
    ctx_type: 'int32_t',
    rope_scaling_type: 'int32_t',
    pooling_type: 'int32_t',
    attention_type: 'int32_t',
    flash_attn_type: 'int32_t',
    rope_freq_base: 'float',
    rope_freq_scale: 'float',
    yarn_ext_factor: 'float',
    yarn_attn_factor: 'float',
    yarn_beta_fast: 'float',
    yarn_beta_slow: 'float',
    yarn_orig_ctx: 'uint32_t',
    defrag_thold: 'float',
    cb_eval: 'void *',
    cb_eval_user_data: 'void *',
    type_k: 'int32_t',
    type_v: 'int32_t',
    abort_callback: 'void *',
    abort_callback_data: 'void *',
    embeddings: 'bool',
    offload_kqv: 'bool',
    no_perf: 'bool',
    op_offload: 'bool',
    swa_full: 'bool',
    kv_unified: 'bool',
    samplers: 'void *',
    n_samplers: 'size_t',
    ctx_other: 'void *',
  }),
  batch: koffi.struct('llama_batch', {
    n_tokens: 'int32_t',
    token: 'void *',
    embd: 'void *',
    pos: 'void *',
    n_seq_id: 'void *',
    seq_id: 'void *',
    logits: 'void *',
  }),
  ggmlInitParams: koffi.struct('ggml_init_params', { mem_size: 'size_t', mem_buffer: 'void *', no_alloc: 'bool' }),
  typeTraits: koffi.struct('ggml_type_traits', {
    type_name: 'const char *',
    blck_size: 'int64_t',
    blck_size_interleave: 'int64_t',
    type_size: 'size_t',
    is_quantized: 'bool',
    to_float: 'void *',
    from_float_ref: 'void *',
  }),
};

export const evalCallbackProto = koffi.proto('bool ggml_backend_sched_eval_callback(void *t, bool ask, void *user_data)');
export const logCallbackProto = koffi.proto('void ggml_log_callback(int level, const char *text, void *user_data)');
export const abortCallbackProto = koffi.proto('bool ggml_abort_callback(void *data)');
const toFloatProto = koffi.proto('void ggml_to_float_t(const void *x, _Out_ float *y, int64_t k)');
const setThreadsProto = koffi.proto('void ggml_backend_set_n_threads_t(void *backend, int n_threads)');
const extraBuftsProto = koffi.proto('void *ggml_backend_dev_get_extra_bufts_t(void *device)');
const getFeaturesProto = koffi.proto('void *ggml_backend_get_features_t(void *reg)');
const threadpoolNewProto = koffi.proto('void *ggml_threadpool_new_t(void *params)');
const threadpoolFreeProto = koffi.proto('void ggml_threadpool_free_t(void *threadpool)');
const setThreadpoolProto = koffi.proto('void ggml_backend_cpu_set_threadpool_t(void *backend, void *threadpool)');
/** sizeof(struct ggml_threadpool_params): bool cpumask[GGML_MAX_N_THREADS = 512], int n_threads, int prio, uint32 poll, bool strict_cpu, bool paused */
const THREADPOOL_PARAMS_SIZE = 528;

export interface LlamaModelParams {
  n_gpu_layers: number;
  vocab_only: boolean;
  use_extra_bufts: boolean;
  [key: string]: unknown;
}
export interface LlamaContextParams {
  n_ctx: number;
  n_batch: number;
  n_ubatch: number;
  n_seq_max: number;
  n_threads: number;
  n_threads_batch: number;
  flash_attn_type: number;
  cb_eval: unknown;
  cb_eval_user_data: unknown;
  abort_callback: unknown;
  offload_kqv: boolean;
  kv_unified: boolean;
  no_perf: boolean;
  [key: string]: unknown;
}
export interface LlamaBatch {
  n_tokens: number;
  token: Ptr;
  embd: Ptr;
  pos: Ptr;
  n_seq_id: Ptr;
  seq_id: Ptr;
  logits: Ptr;
}

/** The library files of one node-llama-cpp build (CPU, CUDA, Vulkan, Metal), found by pattern. */
export interface LibraryFiles {
  binsDir: string;
  ggmlBase: string;
  ggml: string;
  llama: string;
}

export function findLibraryFiles(binsDir: string): LibraryFiles {
  const names = fs.readdirSync(binsDir);
  const pick = (re: RegExp, what: string): string => {
    const hit = names.find((n) => re.test(n));
    if (!hit) throw new Error(`no ${what} library in ${binsDir} (files: ${names.join(', ')})`);
    return path.join(binsDir, hit);
  };
  return {
    binsDir,
    ggmlBase: pick(/^(lib)?ggml-base\.(so|dylib|dll)$/, 'ggml-base'),
    ggml: pick(/^(lib)?ggml(\.[a-z]+)?\.v[\d.]+\.(so|dylib|dll)$|^(lib)?ggml\.(so|dylib|dll)$/, 'ggml'),
    llama: pick(/^(lib)?llama(\.[a-z]+)?\.v[\d.]+\.(so|dylib|dll)$|^(lib)?llama\.(so|dylib|dll)$/, 'llama'),
  };
}

function declare(lib: LibraryHandle) {
  return <F extends (...args: never[]) => unknown>(decl: string): F => lib.func(decl) as unknown as F;
}

function bindGgmlBase(lib: LibraryHandle) {
  const f = declare(lib);
  return {
    ggml_type_size: f<(type: number) => number>('size_t ggml_type_size(int type)'),
    ggml_blck_size: f<(type: number) => number>('int64_t ggml_blck_size(int type)'),
    ggml_type_name: f<(type: number) => string | null>('const char *ggml_type_name(int type)'),
    ggml_get_type_traits: f<(type: number) => Ptr>('void *ggml_get_type_traits(int type)'),
    ggml_quantize_chunk: f<(type: number, src: Float32Array, dst: Uint8Array, start: number, nrows: number, nPerRow: number, imatrix: Float32Array | null) => number>(
      'size_t ggml_quantize_chunk(int type, const float *src, _Out_ uint8_t *dst, int64_t start, int64_t nrows, int64_t n_per_row, const float *imatrix)',
    ),
    ggml_quantize_requires_imatrix: f<(type: number) => boolean>('bool ggml_quantize_requires_imatrix(int type)'),
    ggml_init: f<(params: { mem_size: number; mem_buffer: Ptr; no_alloc: boolean }) => Ptr>('void *ggml_init(ggml_init_params params)'),
    ggml_free: f<(ctx: Ptr) => void>('void ggml_free(void *ctx)'),
    ggml_tensor_overhead: f<() => number>('size_t ggml_tensor_overhead()'),
    ggml_graph_overhead: f<() => number>('size_t ggml_graph_overhead()'),
    ggml_new_tensor_1d: f<(ctx: Ptr, type: number, ne0: number) => Ptr>('void *ggml_new_tensor_1d(void *ctx, int type, int64_t ne0)'),
    ggml_new_tensor_2d: f<(ctx: Ptr, type: number, ne0: number, ne1: number) => Ptr>('void *ggml_new_tensor_2d(void *ctx, int type, int64_t ne0, int64_t ne1)'),
    ggml_view_2d: f<(ctx: Ptr, a: Ptr, ne0: number, ne1: number, nb1: number, offset: number) => Ptr>('void *ggml_view_2d(void *ctx, void *a, int64_t ne0, int64_t ne1, size_t nb1, size_t offset)'),
    ggml_mul_mat: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_mul_mat(void *ctx, void *a, void *b)'),
    ggml_top_k: f<(ctx: Ptr, a: Ptr, k: number) => Ptr>('void *ggml_top_k(void *ctx, void *a, int k)'),
    ggml_get_rows: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_get_rows(void *ctx, void *a, void *b)'),
    ggml_abs: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_abs(void *ctx, void *a)'),
    ggml_cont: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_cont(void *ctx, void *a)'),
    ggml_transpose: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_transpose(void *ctx, void *a)'),
    ggml_set_output: f<(t: Ptr) => void>('void ggml_set_output(void *t)'),
    ggml_set_name: f<(t: Ptr, name: string) => Ptr>('void *ggml_set_name(void *t, const char *name)'),
    ggml_nbytes: f<(t: Ptr) => number>('size_t ggml_nbytes(void *t)'),
    ggml_new_graph_custom: f<(ctx: Ptr, size: number, grads: boolean) => Ptr>('void *ggml_new_graph_custom(void *ctx, size_t size, bool grads)'),
    ggml_graph_overhead_custom: f<(size: number, grads: boolean) => number>('size_t ggml_graph_overhead_custom(size_t size, bool grads)'),
    ggml_build_forward_expand: f<(g: Ptr, t: Ptr) => void>('void ggml_build_forward_expand(void *g, void *t)'),
    ggml_backend_tensor_get: f<(t: Ptr, data: ArrayBufferView, offset: number, size: number) => void>('void ggml_backend_tensor_get(void *t, _Out_ void *data, size_t offset, size_t size)'),
    ggml_backend_tensor_get_2d: f<(t: Ptr, data: ArrayBufferView, offset: number, size: number, nCopies: number, strideTensor: number, strideData: number) => void>(
      'void ggml_backend_tensor_get_2d(void *t, _Out_ void *data, size_t offset, size_t size, size_t n_copies, size_t stride_tensor, size_t stride_data)',
    ),
    ggml_fp32_to_fp16_row: f<(x: Float32Array, y: Uint16Array, n: number) => void>('void ggml_fp32_to_fp16_row(const float *x, _Out_ uint16_t *y, int64_t n)'),
    ggml_backend_tensor_set: f<(t: Ptr, data: ArrayBufferView, offset: number, size: number) => void>('void ggml_backend_tensor_set(void *t, const void *data, size_t offset, size_t size)'),
    ggml_backend_alloc_ctx_tensors: f<(ctx: Ptr, backend: Ptr) => Ptr>('void *ggml_backend_alloc_ctx_tensors(void *ctx, void *backend)'),
    ggml_backend_buffer_free: f<(buf: Ptr) => void>('void ggml_backend_buffer_free(void *buf)'),
    ggml_backend_get_default_buffer_type: f<(backend: Ptr) => Ptr>('void *ggml_backend_get_default_buffer_type(void *backend)'),
    ggml_gallocr_new: f<(buft: Ptr) => Ptr>('void *ggml_gallocr_new(void *buft)'),
    ggml_gallocr_free: f<(g: Ptr) => void>('void ggml_gallocr_free(void *g)'),
    ggml_gallocr_alloc_graph: f<(g: Ptr, graph: Ptr) => boolean>('bool ggml_gallocr_alloc_graph(void *g, void *graph)'),
    ggml_backend_graph_compute: f<(backend: Ptr, graph: Ptr) => number>('int ggml_backend_graph_compute(void *backend, void *graph)'),
    ggml_backend_free: f<(backend: Ptr) => void>('void ggml_backend_free(void *backend)'),
    ggml_backend_name: f<(backend: Ptr) => string>('const char *ggml_backend_name(void *backend)'),
    ggml_backend_buft_name: f<(buft: Ptr) => string>('const char *ggml_backend_buft_name(void *buft)'),
    ggml_threadpool_params_init: f<(params: Uint8Array, nThreads: number) => void>('void ggml_threadpool_params_init(_Inout_ uint8_t *params, int n_threads)'),
    // for src/engine/compute (projections and weight statistics as ggml graphs)
    ggml_set_input: f<(t: Ptr) => void>('void ggml_set_input(void *t)'),
    ggml_reshape_2d: f<(ctx: Ptr, a: Ptr, ne0: number, ne1: number) => Ptr>('void *ggml_reshape_2d(void *ctx, void *a, int64_t ne0, int64_t ne1)'),
    ggml_reshape_3d: f<(ctx: Ptr, a: Ptr, ne0: number, ne1: number, ne2: number) => Ptr>('void *ggml_reshape_3d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2)'),
    ggml_mul: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_mul(void *ctx, void *a, void *b)'),
    ggml_sqr: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_sqr(void *ctx, void *a)'),
    ggml_sum_rows: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_sum_rows(void *ctx, void *a)'),
    ggml_out_prod: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_out_prod(void *ctx, void *a, void *b)'),
    ggml_soft_max: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_soft_max(void *ctx, void *a)'),
    ggml_cpy: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_cpy(void *ctx, void *a, void *b)'),
    // logit soft-capping (gemma): cap * tanh(x / cap)
    ggml_tanh: f<(ctx: Ptr, a: Ptr) => Ptr>('void *ggml_tanh(void *ctx, void *a)'),
    ggml_scale: f<(ctx: Ptr, a: Ptr, s: number) => Ptr>('void *ggml_scale(void *ctx, void *a, float s)'),
    ggml_backend_alloc_ctx_tensors_from_buft: f<(ctx: Ptr, buft: Ptr) => Ptr>('void *ggml_backend_alloc_ctx_tensors_from_buft(void *ctx, void *buft)'),
    // one layer's attention patterns from its resid_pre (compute/attentionPatterns.ts), op for op as llama.cpp's graph
    ggml_add: f<(ctx: Ptr, a: Ptr, b: Ptr) => Ptr>('void *ggml_add(void *ctx, void *a, void *b)'),
    ggml_rms_norm: f<(ctx: Ptr, a: Ptr, eps: number) => Ptr>('void *ggml_rms_norm(void *ctx, void *a, float eps)'),
    ggml_permute: f<(ctx: Ptr, a: Ptr, ax0: number, ax1: number, ax2: number, ax3: number) => Ptr>('void *ggml_permute(void *ctx, void *a, int axis0, int axis1, int axis2, int axis3)'),
    ggml_diag_mask_inf: f<(ctx: Ptr, a: Ptr, nPast: number) => Ptr>('void *ggml_diag_mask_inf(void *ctx, void *a, int n_past)'),
    ggml_new_tensor_3d: f<(ctx: Ptr, type: number, ne0: number, ne1: number, ne2: number) => Ptr>('void *ggml_new_tensor_3d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2)'),
    ggml_rope_ext: f<
      (ctx: Ptr, a: Ptr, pos: Ptr, freqFactors: Ptr, nDims: number, mode: number, nCtxOrig: number, freqBase: number, freqScale: number, extFactor: number, attnFactor: number, betaFast: number, betaSlow: number) => Ptr
    >(
      'void *ggml_rope_ext(void *ctx, void *a, void *b, void *c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)',
    ),
    // a CPU buffer over memory we own (a mapped file: the dictionary multiplied where it lies, no copy);
    // addresses as integers so that an offset into a mapping can be passed
    ggml_backend_cpu_buffer_from_ptr: f<(ptr: number, size: number) => Ptr>('void *ggml_backend_cpu_buffer_from_ptr(uintptr_t ptr, size_t size)'),
    ggml_backend_tensor_alloc: f<(buf: Ptr, t: Ptr, addr: number) => number>('int ggml_backend_tensor_alloc(void *buf, void *t, uintptr_t addr)'),
  };
}

function bindGgml(lib: LibraryHandle) {
  const f = declare(lib);
  return {
    ggml_backend_load_all_from_path: f<(dir: string) => void>('void ggml_backend_load_all_from_path(const char *dir)'),
    ggml_backend_reg_count: f<() => number>('size_t ggml_backend_reg_count()'),
    ggml_backend_reg_by_name: f<(name: string) => Ptr>('void *ggml_backend_reg_by_name(const char *name)'),
    ggml_backend_reg_get_proc_address: f<(reg: Ptr, name: string) => Ptr>('void *ggml_backend_reg_get_proc_address(void *reg, const char *name)'),
    ggml_backend_dev_count: f<() => number>('size_t ggml_backend_dev_count()'),
    ggml_backend_dev_get: f<(i: number) => Ptr>('void *ggml_backend_dev_get(size_t i)'),
    ggml_backend_dev_by_type: f<(type: number) => Ptr>('void *ggml_backend_dev_by_type(int type)'),
    ggml_backend_dev_name: f<(dev: Ptr) => string>('const char *ggml_backend_dev_name(void *dev)'),
    ggml_backend_dev_description: f<(dev: Ptr) => string>('const char *ggml_backend_dev_description(void *dev)'),
    ggml_backend_dev_type: f<(dev: Ptr) => number>('int ggml_backend_dev_type(void *dev)'),
    ggml_backend_dev_memory: f<(dev: Ptr, free: BigUint64Array, total: BigUint64Array) => void>('void ggml_backend_dev_memory(void *dev, _Out_ uint64_t *free, _Out_ uint64_t *total)'),
    ggml_backend_dev_init: f<(dev: Ptr, params: string | null) => Ptr>('void *ggml_backend_dev_init(void *dev, const char *params)'),
  };
}

function bindLlama(lib: LibraryHandle) {
  const f = declare(lib);
  return {
    llama_backend_init: f<() => void>('void llama_backend_init()'),
    llama_model_default_params: f<() => LlamaModelParams>('llama_model_params llama_model_default_params()'),
    llama_context_default_params: f<() => LlamaContextParams>('llama_context_params llama_context_default_params()'),
    llama_model_load_from_file: f<(path: string, params: LlamaModelParams) => Ptr>('void *llama_model_load_from_file(const char *path, llama_model_params params)'),
    llama_model_free: f<(model: Ptr) => void>('void llama_model_free(void *model)'),
    llama_init_from_model: f<(model: Ptr, params: LlamaContextParams) => Ptr>('void *llama_init_from_model(void *model, llama_context_params params)'),
    llama_free: f<(ctx: Ptr) => void>('void llama_free(void *ctx)'),
    llama_model_get_vocab: f<(model: Ptr) => Ptr>('void *llama_model_get_vocab(void *model)'),
    llama_model_n_layer: f<(model: Ptr) => number>('int32_t llama_model_n_layer(void *model)'),
    llama_model_n_embd: f<(model: Ptr) => number>('int32_t llama_model_n_embd(void *model)'),
    llama_model_n_head: f<(model: Ptr) => number>('int32_t llama_model_n_head(void *model)'),
    llama_model_n_head_kv: f<(model: Ptr) => number>('int32_t llama_model_n_head_kv(void *model)'),
    llama_model_n_ctx_train: f<(model: Ptr) => number>('int32_t llama_model_n_ctx_train(void *model)'),
    llama_model_size: f<(model: Ptr) => number>('uint64_t llama_model_size(void *model)'),
    llama_model_desc: f<(model: Ptr, buf: Uint8Array, size: number) => number>('int32_t llama_model_desc(void *model, _Out_ uint8_t *buf, size_t size)'),
    llama_n_ctx: f<(ctx: Ptr) => number>('uint32_t llama_n_ctx(void *ctx)'),
    llama_vocab_n_tokens: f<(vocab: Ptr) => number>('int32_t llama_vocab_n_tokens(void *vocab)'),
    llama_vocab_bos: f<(vocab: Ptr) => number>('int32_t llama_vocab_bos(void *vocab)'),
    llama_vocab_eos: f<(vocab: Ptr) => number>('int32_t llama_vocab_eos(void *vocab)'),
    llama_vocab_get_add_bos: f<(vocab: Ptr) => boolean>('bool llama_vocab_get_add_bos(void *vocab)'),
    llama_tokenize: f<(vocab: Ptr, text: Uint8Array, len: number, tokens: Int32Array, max: number, addSpecial: boolean, parseSpecial: boolean) => number>(
      'int32_t llama_tokenize(void *vocab, const uint8_t *text, int32_t text_len, _Out_ int32_t *tokens, int32_t n_tokens_max, bool add_special, bool parse_special)',
    ),
    llama_token_to_piece: f<(vocab: Ptr, token: number, buf: Uint8Array, len: number, lstrip: number, special: boolean) => number>(
      'int32_t llama_token_to_piece(void *vocab, int32_t token, _Out_ uint8_t *buf, int32_t length, int32_t lstrip, bool special)',
    ),
    llama_batch_init: f<(nTokens: number, embd: number, nSeqMax: number) => LlamaBatch>('llama_batch llama_batch_init(int32_t n_tokens, int32_t embd, int32_t n_seq_max)'),
    llama_batch_free: f<(batch: LlamaBatch) => void>('void llama_batch_free(llama_batch batch)'),
    llama_decode: f<(ctx: Ptr, batch: LlamaBatch) => number>('int32_t llama_decode(void *ctx, llama_batch batch)'),
    llama_get_logits_ith: f<(ctx: Ptr, i: number) => Ptr>('void *llama_get_logits_ith(void *ctx, int32_t i)'),
    llama_get_memory: f<(ctx: Ptr) => Ptr>('void *llama_get_memory(void *ctx)'),
    llama_memory_clear: f<(mem: Ptr, data: boolean) => void>('void llama_memory_clear(void *mem, bool data)'),
    llama_attach_threadpool: f<(ctx: Ptr, threadpool: Ptr, threadpoolBatch: Ptr) => void>('void llama_attach_threadpool(void *ctx, void *threadpool, void *threadpool_batch)'),
    llama_set_n_threads: f<(ctx: Ptr, n: number, nBatch: number) => void>('void llama_set_n_threads(void *ctx, int32_t n_threads, int32_t n_threads_batch)'),
    llama_log_set: f<(cb: unknown, ud: Ptr) => void>('void llama_log_set(void *cb, void *user_data)'),
    llama_supports_gpu_offload: f<() => boolean>('bool llama_supports_gpu_offload()'),
  };
}

export type GgmlBaseApi = ReturnType<typeof bindGgmlBase>;
export type GgmlApi = ReturnType<typeof bindGgml>;
export type LlamaApi = ReturnType<typeof bindLlama>;

export interface Native {
  readonly files: LibraryFiles;
  readonly base: GgmlBaseApi;
  readonly ggml: GgmlApi;
  readonly llama: LlamaApi;
}

let loaded: Native | undefined;

/**
 * Load one build's libraries (ggml-base, ggml, llama, in that order) and its backends. A process
 * holds one build: node-llama-cpp's own `getLlama()` may have loaded the same files, which is fine
 * (the loader returns the same handles), but mixing two builds is refused.
 */
export function loadNative(files: LibraryFiles): Native {
  if (loaded) {
    if (loaded.files.binsDir !== files.binsDir) {
      throw new Error(`llama.cpp build ${loaded.files.binsDir} is already loaded in this process; cannot also load ${files.binsDir}`);
    }
    return loaded;
  }
  const base = bindGgmlBase(koffi.load(files.ggmlBase));
  const ggml = bindGgml(koffi.load(files.ggml));
  const llama = bindLlama(koffi.load(files.llama));
  checkLayouts();
  if (ggml.ggml_backend_dev_count() === 0) ggml.ggml_backend_load_all_from_path(files.binsDir);
  if (ggml.ggml_backend_dev_count() === 0) throw new Error(`no ggml backend could be loaded from ${files.binsDir}`);
  llama.llama_backend_init();
  loaded = { files, base, ggml, llama };
  return loaded;
}

function checkLayouts(): void {
  const sizes: Array<[string, number, number]> = [
    ['llama_model_params', koffi.sizeof(T.modelParams), LLAMA_MODEL_PARAMS_SIZE],
    ['llama_context_params', koffi.sizeof(T.contextParams), LLAMA_CONTEXT_PARAMS_SIZE],
    ['llama_batch', koffi.sizeof(T.batch), LLAMA_BATCH_SIZE],
  ];
  for (const [name, got, want] of sizes) {
    if (got !== want) throw new Error(`FFI layout of ${name} is ${got} bytes, expected ${want}: node-llama-cpp must be exactly ${NODE_LLAMA_CPP_VERSION}`);
  }
}

// ---- helpers over raw memory, so callers never handle layouts ---------------------------------

export function registerCallback(fn: (...args: never[]) => unknown, proto: TypeObject): unknown {
  return koffi.register(fn, koffi.pointer(proto));
}
export function unregisterCallback(handle: unknown): void {
  koffi.unregister(handle as bigint);
}

export function tensorName(t: Ptr): string {
  return koffi.decode(t, TENSOR_OFFSETS.name, 'char', 64) as string;
}
export function tensorType(t: Ptr): number {
  return koffi.decode(t, TENSOR_OFFSETS.type, 'int32_t') as number;
}
// made once: building a koffi type costs more than the decode itself (the eval callback reads these per capture)
const INT64_X4 = koffi.array('int64_t', 4, 'Typed');
const UINT64_X4 = koffi.array('uint64_t', 4, 'Typed');

/** ne[0..3] of a ggml tensor (ne[0] is the contiguous dimension). */
export function tensorNe(t: Ptr): number[] {
  return Array.from(koffi.decode(t, TENSOR_OFFSETS.ne, INT64_X4) as BigInt64Array, Number);
}
export function tensorNb(t: Ptr): number[] {
  return Array.from(koffi.decode(t, TENSOR_OFFSETS.nb, UINT64_X4) as BigUint64Array, Number);
}

/** Copy `n` floats from native memory (logits) into a JS-owned array (no external buffers: Electron forbids them). */
export function readFloats(ptr: Ptr, n: number): Float32Array {
  return koffi.decode(ptr, koffi.array('float', n, 'Typed')) as Float32Array;
}

/** Write JS arrays into the buffers `llama_batch_init` allocated. */
export function fillBatch(batch: LlamaBatch, tokens: ArrayLike<number>, positions: ArrayLike<number>, seqIds: ArrayLike<number>, outputs: ArrayLike<number>): void {
  const n = tokens.length;
  koffi.encode(batch.token, koffi.array('int32_t', n), Array.from(tokens));
  koffi.encode(batch.pos, koffi.array('int32_t', n), Array.from(positions));
  koffi.encode(batch.n_seq_id, koffi.array('int32_t', n), new Array(n).fill(1));
  const seqPtrs = koffi.decode(batch.seq_id, koffi.array('void *', n, 'Array')) as Ptr[];
  for (let i = 0; i < n; i++) koffi.encode(seqPtrs[i], 'int32_t', seqIds[i]);
  koffi.encode(batch.logits, koffi.array('int8_t', n), Array.from(outputs));
  batch.n_tokens = n;
}

/** Dequantize through ggml's own type traits (`to_float`): the oracle for our dequantizers. */
export function ggmlToFloat(n: Native, type: number, bytes: Uint8Array, nElements: number): Float32Array {
  const traits = koffi.decode(n.base.ggml_get_type_traits(type), T.typeTraits) as { to_float: Ptr };
  if (!traits.to_float) throw new Error(`ggml has no to_float for type ${type}`);
  const out = new Float32Array(nElements);
  koffi.call(traits.to_float, toFloatProto, bytes, out, nElements);
  return out;
}

/** Set a CPU (or other) ggml backend's thread count through its registry's proc address. */
export function setBackendThreads(n: Native, backend: Ptr, regName: string, threads: number): void {
  const reg = n.ggml.ggml_backend_reg_by_name(regName);
  if (!reg) return;
  const fn = n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_set_n_threads');
  if (fn) koffi.call(fn, setThreadsProto, backend, threads);
}

/**
 * Names of the CPU backend's extra weight buffer types ("AMX", "CPU_REPACK", ...). llama.cpp puts
 * a weight in one when its kernels support it, and those kernels may treat the activation
 * differently from ggml's generic matrix product (AMX multiplies F16 weights with the float32
 * activation as is, where the generic path first rounds it to F16).
 */
export function cpuExtraBufferTypes(n: Native): string[] {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const dev = n.ggml.ggml_backend_dev_by_type(0); // GGML_BACKEND_DEVICE_TYPE_CPU
  if (!reg || !dev) return [];
  const fn = n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_dev_get_extra_bufts');
  if (!fn) return [];
  const list = koffi.call(fn, extraBuftsProto, dev) as Ptr; // NULL-terminated array of buffer types
  const names: string[] = [];
  const step = koffi.sizeof('void *');
  for (let i = 0; list; i++) {
    const buft = koffi.decode(list, i * step, 'void *') as Ptr;
    if (!buft) break;
    names.push(n.base.ggml_backend_buft_name(buft));
  }
  return names;
}

/**
 * The features the loaded CPU backend variant was built with and found ("AVX2", "AVX512_BF16",
 * "AMX_INT8", ...): ggml_backend_get_features through the CPU registry.
 */
export function cpuFeatures(n: Native): string[] {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const fn = reg ? n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_get_features') : null;
  if (!fn) return [];
  const list = koffi.call(fn, getFeaturesProto, reg) as Ptr; // { const char *name, *value } pairs, a NULL name last
  const out: string[] = [];
  const step = koffi.sizeof('void *');
  for (let i = 0; list && i < 256; i++) {
    const name = koffi.decode(list, 2 * i * step, 'const char *') as string | null;
    if (!name) break;
    out.push(name);
  }
  return out;
}

/** The CPU backend's extra weight buffer types with their handles (see cpuExtraBufferTypes). */
export function cpuExtraBufferTypeHandles(n: Native): Array<{ name: string; buft: Ptr }> {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const dev = n.ggml.ggml_backend_dev_by_type(0); // GGML_BACKEND_DEVICE_TYPE_CPU
  if (!reg || !dev) return [];
  const fn = n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_dev_get_extra_bufts');
  if (!fn) return [];
  const list = koffi.call(fn, extraBuftsProto, dev) as Ptr;
  const out: Array<{ name: string; buft: Ptr }> = [];
  const step = koffi.sizeof('void *');
  for (let i = 0; list; i++) {
    const buft = koffi.decode(list, i * step, 'void *') as Ptr;
    if (!buft) break;
    out.push({ name: n.base.ggml_backend_buft_name(buft), buft });
  }
  return out;
}

/**
 * A persistent CPU threadpool (ggml_threadpool_new, reached through the CPU backend's registry as
 * the backend is a separately loaded library). Without one attached, ggml-cpu creates and joins
 * its worker threads on EVERY graph compute; an eval callback splits a decode into one compute per
 * captured tensor, so that cost is paid per capture. Undefined when the CPU backend lacks it.
 */
export function createCpuThreadpool(n: Native, threads: number, poll?: number): Ptr | undefined {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const create = reg ? n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_threadpool_new') : null;
  if (!create) return undefined;
  const params = new Uint8Array(THREADPOOL_PARAMS_SIZE);
  n.base.ggml_threadpool_params_init(params, threads); // default priority, hybrid polling, no pinning
  // polling level (0: workers sleep between graphs instead of spinning), after cpumask, n_threads, prio
  if (poll !== undefined) new DataView(params.buffer).setUint32(520, poll, true);
  return (koffi.call(create, threadpoolNewProto, params) as Ptr) ?? undefined;
}

export function freeCpuThreadpool(n: Native, threadpool: Ptr): void {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const free = reg ? n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_threadpool_free') : null;
  if (free) koffi.call(free, threadpoolFreeProto, threadpool);
}

/** Attach a persistent threadpool (createCpuThreadpool) to a CPU backend of our own (src/engine/compute). */
export function setCpuBackendThreadpool(n: Native, backend: Ptr, threadpool: Ptr): boolean {
  const reg = n.ggml.ggml_backend_reg_by_name('CPU');
  const set = reg ? n.ggml.ggml_backend_reg_get_proc_address(reg, 'ggml_backend_cpu_set_threadpool') : null;
  if (!set) return false;
  koffi.call(set, setThreadpoolProto, backend, threadpool);
  return true;
}

// ---- read-only file mappings (libc mmap), for multiplying a dictionary where it lies -------------

const PROT_READ = 1;
const MAP_SHARED = 1; // the same value on Linux and macOS
/** mappings start at a multiple of this: a multiple of every page size in use (4, 16 and 64 KiB) */
const MAP_ALIGN = 64 * 1024;

let libc: { mmap: (addr: number, len: number, prot: number, flags: number, fd: number, off: number) => number; munmap: (addr: number, len: number) => number } | null | undefined;

function loadLibc(): typeof libc {
  if (libc !== undefined) return libc;
  const name = process.platform === 'linux' ? 'libc.so.6' : process.platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : undefined;
  try {
    if (!name) return (libc = null);
    const lib = koffi.load(name);
    libc = {
      mmap: lib.func('intptr_t mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)') as never,
      munmap: lib.func('int munmap(uintptr_t addr, size_t len)') as never,
    };
  } catch {
    libc = null;
  }
  return libc;
}

export interface FileMapping {
  /** the address of the requested offset (inside a mapping that may start a little before it) */
  readonly address: number;
  readonly length: number;
  unmap(): void;
}

/**
 * Map `length` bytes of an open file at `offset` read-only (shared with the page cache and with
 * llama.cpp's own mapping of the same model: no copy, no anonymous memory). Undefined where mmap is
 * not available (Windows) or fails: the caller then reads the bytes as before.
 */
export function mapFileRange(fd: number, offset: number, length: number): FileMapping | undefined {
  const c = loadLibc();
  if (!c || length <= 0) return undefined;
  const start = Math.floor(offset / MAP_ALIGN) * MAP_ALIGN;
  const mapLen = offset - start + length;
  const base = c.mmap(0, mapLen, PROT_READ, MAP_SHARED, fd, start);
  if (base === -1 || base === 0) return undefined;
  let mapped = true;
  return {
    address: base + (offset - start),
    length,
    unmap: () => {
      if (mapped) c.munmap(base, mapLen);
      mapped = false;
    },
  };
}

export const ggmlTypes = T;
