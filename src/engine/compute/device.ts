// A ggml backend for the analyses' own graphs (projections onto dictionaries, weight reductions),
// next to the model: the GPU when llama.cpp runs on one, else the CPU with its thread count. On
// a CPU with AMX, dictionaries go to the AMX weight buffer, whose kernels llama.cpp itself uses
// for the model's matrices.
import * as os from 'node:os';
import { InnerWorldError } from '../errors';
import { GgmlType } from '../gguf/ggmlTypes';
import { cpuExtraBufferTypeHandles, cpuFeatures, createCpuThreadpool, freeCpuThreadpool, setBackendThreads, setCpuBackendThreadpool, type Native, type Ptr } from '../llama/native';

const DEVICE_CPU = 0;
const DEVICE_GPU = 1;

/** Types the AMX buffer has matrix kernels for (ggml-cpu/amx/common.h, qtype_has_amx_kernels). */
const AMX_TYPES: ReadonlyMap<number, number> = new Map([
  // type -> the row length must be a multiple of this
  [GgmlType.Q4_0, 32],
  [GgmlType.Q4_1, 32],
  [GgmlType.Q8_0, 32],
  [GgmlType.Q4_K, 256],
  [GgmlType.Q5_K, 256],
  [GgmlType.Q6_K, 256],
  [GgmlType.IQ4_XS, 256],
]);

export interface DeviceOptions {
  /** use a GPU device when the loaded build has one (default true) */
  gpu?: boolean;
  /** CPU threads (default: every core) */
  threads?: number;
  /** put eligible dictionaries in the CPU's AMX buffer when there is one (default true) */
  amx?: boolean;
  /**
   * make 'auto' copies BF16 on a CPU with AVX512_BF16 and no AMX (default false: Q8_0). Measured 20 to
   * 25% faster there, but it can order a planted near-twin row before the row itself in a cosine lens,
   * which Q8_0 does not (bench/results/peer.md)
   */
  bf16Copies?: boolean;
}

export class ComputeDevice {
  private galloc: Ptr;
  private disposed = false;

  private constructor(
    readonly native: Native,
    readonly backend: Ptr,
    readonly isGpu: boolean,
    readonly label: string,
    readonly threads: number,
    private readonly amxBuft: Ptr | undefined,
    private readonly pool: { free(): void } | undefined,
    /** the type 'auto' dictionary copies are made in on a CPU: Q8_0, or BF16 when asked for and the CPU multiplies bf16 pairs */
    readonly copyType: number,
  ) {
    this.galloc = native.base.ggml_gallocr_new(native.base.ggml_backend_get_default_buffer_type(backend));
  }

  static open(native: Native, opts: DeviceOptions = {}): ComputeDevice {
    const g = native.ggml;
    let dev: Ptr | undefined;
    if (opts.gpu ?? true) {
      for (let i = 0; i < g.ggml_backend_dev_count() && !dev; i++) {
        const d = g.ggml_backend_dev_get(i);
        if (g.ggml_backend_dev_type(d) === DEVICE_GPU) dev = d;
      }
    }
    const isGpu = dev !== undefined;
    dev ??= g.ggml_backend_dev_by_type(DEVICE_CPU);
    if (!dev) throw new InnerWorldError('model-load-failed', 'no ggml CPU device is available');
    const backend = g.ggml_backend_dev_init(dev, null);
    if (!backend) throw new InnerWorldError('model-load-failed', `could not start the ggml backend ${g.ggml_backend_dev_name(dev)}`);
    const threads = Math.max(1, opts.threads ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    let amx: Ptr | undefined;
    let pool: { free(): void } | undefined;
    if (!isGpu) {
      setBackendThreads(native, backend, 'CPU', threads);
      // a persistent pool: without one ggml starts and joins its threads on every graph run
      // (3 to 4 times slower for the few-millisecond graphs of the reducer)
      const tp = createCpuThreadpool(native, threads, 0); // no polling: idle workers sleep, leaving the cores to llama.cpp
      if (tp && setCpuBackendThreadpool(native, backend, tp)) pool = { free: () => freeCpuThreadpool(native, tp) };
      else if (tp) freeCpuThreadpool(native, tp);
      if (opts.amx ?? true) amx = cpuExtraBufferTypeHandles(native).find((b) => b.name === 'AMX')?.buft;
    }
    const bf16 = (opts.bf16Copies ?? false) && !isGpu && !amx && cpuFeatures(native).includes('AVX512_BF16');
    const label = isGpu ? `${g.ggml_backend_dev_description(dev)}` : `CPU, ${threads} thread${threads > 1 ? 's' : ''}${amx ? ', AMX' : ''}${bf16 ? ', AVX512_BF16' : ''}`;
    return new ComputeDevice(native, backend, isGpu, label, threads, amx, pool, bf16 ? GgmlType.BF16 : GgmlType.Q8_0);
  }

  /**
   * The buffer type a [rowLen, nRows] weight of `type` is best multiplied from: the AMX buffer
   * when its kernels take this type and shape, else the backend's default (undefined).
   */
  weightBufferType(type: number, rowLen: number, nRows: number): { buft: Ptr; name: string } | undefined {
    const align = AMX_TYPES.get(type);
    if (!this.amxBuft || align === undefined) return undefined;
    if (rowLen % align !== 0 || nRows % 32 !== 0) return undefined;
    return { buft: this.amxBuft, name: 'AMX' };
  }

  /** Allocate every tensor of a no_alloc context (weights): in `buft`, or the backend's default. */
  allocate(ctx: Ptr, buft?: Ptr): Ptr {
    const b = this.native.base;
    const buf = buft ? b.ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft) : b.ggml_backend_alloc_ctx_tensors(ctx, this.backend);
    if (!buf) throw new InnerWorldError('out-of-memory', `not enough ${this.isGpu ? 'GPU ' : ''}memory for a dictionary on ${this.label}`);
    return buf;
  }

  /**
   * Build a graph in a scratch context, allocate it, fill its inputs, compute, read the outputs.
   * `build` creates the graph's tensors and returns the inputs to fill and the outputs to expand.
   */
  run<T>(maxTensors: number, build: (ctx: Ptr) => { inputs: Array<[Ptr, ArrayBufferView]>; outputs: Ptr[] }, read: () => T): T {
    this.ensureAlive();
    const b = this.native.base;
    const graphSize = Math.max(64, maxTensors * 2);
    const ctx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * (maxTensors + 8) + b.ggml_graph_overhead_custom(graphSize, false), mem_buffer: null, no_alloc: true });
    if (!ctx) throw new InnerWorldError('out-of-memory', 'ggml_init failed');
    try {
      const { inputs, outputs } = build(ctx);
      const graph = b.ggml_new_graph_custom(ctx, graphSize, false);
      for (const o of outputs) {
        b.ggml_set_output(o);
        b.ggml_build_forward_expand(graph, o);
      }
      if (!b.ggml_gallocr_alloc_graph(this.galloc, graph)) throw new InnerWorldError('out-of-memory', `not enough memory for a compute graph on ${this.label}`);
      for (const [t, data] of inputs) b.ggml_backend_tensor_set(t, data, 0, data.byteLength);
      const status = b.ggml_backend_graph_compute(this.backend, graph);
      if (status !== 0) throw new Error(`ggml_backend_graph_compute failed with status ${status}`);
      return read();
    } finally {
      b.ggml_free(ctx);
    }
  }

  /**
   * Run `f` with its graphs allocated by an allocator of its own, freed afterwards: the shared one
   * keeps a buffer as large as the largest graph it ever allocated, which a one-off large graph (an
   * attention layer's scores) must not leave behind.
   */
  withOwnAllocator<T>(f: () => T): T {
    this.ensureAlive();
    const b = this.native.base;
    const shared = this.galloc;
    const own = b.ggml_gallocr_new(b.ggml_backend_get_default_buffer_type(this.backend));
    this.galloc = own;
    try {
      return f();
    } finally {
      this.galloc = shared;
      b.ggml_gallocr_free(own);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.base.ggml_gallocr_free(this.galloc);
    this.native.base.ggml_backend_free(this.backend);
    this.pool?.free(); // after the backend that uses it
  }

  private ensureAlive(): void {
    if (this.disposed) throw new InnerWorldError('no-model', 'the compute device was released');
  }
}

/** Read a whole F32 or I32 tensor into a typed array. */
export function readTensor<T extends Float32Array | Int32Array>(native: Native, t: Ptr, out: T): T {
  native.base.ggml_backend_tensor_get(t, out, 0, out.byteLength);
  return out;
}
