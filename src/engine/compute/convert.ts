// Reading a dictionary for upload, as a ggml graph per block of rows: dequantize (get_rows), the
// rows' L2 norms (x^2 times a ones vector), and the rows in the compute type (ggml_cpy quantizes
// with ggml-cpu's SIMD kernels on every thread). Several times faster than doing the same in
// JavaScript plus ggml's single-threaded reference quantizer.
import { GgmlType, bytesFor } from '../gguf/ggmlTypes';
import type { Ptr } from '../llama/native';
import type { ComputeDevice } from './device';

export class RowConverter {
  private readonly ctx: Ptr;
  private readonly constCtx: Ptr;
  private readonly constBuf: Ptr;
  private readonly galloc: Ptr;
  private readonly graph: Ptr;
  private readonly input: Ptr; // [d, rows] stored type
  private readonly sumSq: Ptr; // [rows, 1]
  private readonly converted: Ptr | undefined; // [d, rows] target type
  private disposed = false;

  constructor(
    private readonly device: ComputeDevice,
    readonly storedType: number,
    readonly targetType: number,
    readonly d: number,
    readonly rows: number,
  ) {
    const b = device.native.base;
    // constants in a buffer of their own, out of the graph allocator's reach
    this.constCtx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 4, mem_buffer: null, no_alloc: true });
    const idx = b.ggml_new_tensor_1d(this.constCtx, GgmlType.I32, rows);
    const ones = b.ggml_new_tensor_2d(this.constCtx, GgmlType.F32, d, 1);
    this.constBuf = device.allocate(this.constCtx);
    b.ggml_backend_tensor_set(idx, Int32Array.from({ length: rows }, (_, i) => i), 0, rows * 4);
    b.ggml_backend_tensor_set(ones, new Float32Array(d).fill(1), 0, d * 4);

    this.ctx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 16 + b.ggml_graph_overhead_custom(32, false), mem_buffer: null, no_alloc: true });
    this.input = b.ggml_new_tensor_2d(this.ctx, storedType, d, rows);
    b.ggml_set_input(this.input);
    const x = storedType === GgmlType.F32 ? this.input : b.ggml_get_rows(this.ctx, this.input, idx); // [d, rows] float32
    this.sumSq = b.ggml_mul_mat(this.ctx, b.ggml_sqr(this.ctx, x), ones); // [rows, 1]
    const outputs = [this.sumSq];
    if (targetType !== storedType) {
      this.converted = targetType === GgmlType.F32 ? x : b.ggml_cpy(this.ctx, x, b.ggml_new_tensor_2d(this.ctx, targetType, d, rows));
      outputs.push(this.converted);
    }
    this.graph = b.ggml_new_graph_custom(this.ctx, 32, false);
    for (const o of outputs) {
      b.ggml_set_output(o);
      b.ggml_build_forward_expand(this.graph, o);
    }
    this.galloc = b.ggml_gallocr_new(b.ggml_backend_get_default_buffer_type(device.backend));
    if (!b.ggml_gallocr_alloc_graph(this.galloc, this.graph)) throw new Error('not enough memory to convert a dictionary');
  }

  /**
   * Rows' stored bytes in; their norms out, and their bytes in the target type written to `out`
   * (the stored bytes themselves when the types are the same; nothing when `out` is not given).
   * `count` may be less than `rows`.
   */
  convert(stored: Uint8Array, count: number, norms: Float32Array, out?: Uint8Array): void {
    const b = this.device.native.base;
    b.ggml_backend_tensor_set(this.input, stored, 0, stored.byteLength);
    const status = b.ggml_backend_graph_compute(this.device.backend, this.graph);
    if (status !== 0) throw new Error(`ggml_backend_graph_compute failed with status ${status}`);
    const sq = new Float32Array(this.rows);
    b.ggml_backend_tensor_get(this.sumSq, sq, 0, this.rows * 4);
    for (let r = 0; r < count; r++) norms[r] = Math.sqrt(sq[r]!);
    if (!out) return;
    const n = bytesFor(this.targetType, count * this.d);
    if (this.converted) b.ggml_backend_tensor_get(this.converted, out, 0, n);
    else out.set(stored.subarray(0, n));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const b = this.device.native.base;
    b.ggml_gallocr_free(this.galloc);
    b.ggml_backend_buffer_free(this.constBuf);
    b.ggml_free(this.ctx);
    b.ggml_free(this.constCtx);
  }
}
