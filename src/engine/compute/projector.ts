// A dictionary uploaded once to a ggml backend, then multiplied by batches of query vectors with
// ggml_mul_mat and ranked with ggml_top_k on the device: only k rows and k values per query come
// back. Quantized dictionaries need no dequantization for the product; on a CPU the default is to
// requantize to Q8_0 once (its kernels, AMX or tinyBLAS, are the fastest ggml has there), which
// moves scores by about 1e-3 of their size (see docs/analyses.md).
import { InnerWorldError } from '../errors';
import { GgmlType, bytesFor, typeName } from '../gguf/ggmlTypes';
import { mapFileRange, type FileMapping, type Ptr } from '../llama/native';
import { FileSource } from '../gguf/source';
import type { Dictionary } from '../analysis/dictionary';
import type { CopyCache } from './copyCache';
import { RowConverter } from './convert';
import { readTensor, type ComputeDevice } from './device';

export type ComputeType = 'auto' | 'stored' | 'q8_0' | 'bf16' | 'f16' | 'f32';

export interface ProjectOptions {
  k: number;
  abs?: boolean;
  rowNormalize?: boolean;
  softmax?: boolean;
  softcap?: number;
}

const UPLOAD_ROWS = 2048;
/**
 * Scores kept on the device per graph: bounds the compute buffer to 16 MB. A lens's first graph
 * touches its buffer's pages for the first time, and that cost grows with the buffer: at 256 MB
 * (TinyLlama's 920 queries in one graph) the first full lens took 1.15 s against 0.78 s for a
 * repeat; at 16 MB, 0.94 s first and the same repeats (several graphs, each small enough to stay in
 * the cache while its top-k reads it).
 */
const MAX_SCORES = 1 << 22;

export class Projector {
  readonly nRows: number;
  readonly dModel: number;
  /** the ggml type the products are computed in */
  readonly type: number;
  readonly bufferName: string;
  /** whether the copy in the compute type came from the on-disk cache (not converted here) */
  readonly fromCache: boolean;
  private norms: Float32Array | undefined;
  private readonly storedType: number;
  private readonly ctx: Ptr;
  private readonly buffers: Ptr[] = [];
  private readonly weight: Ptr; // [d_model, n_rows]
  private invNorm: Ptr | undefined; // [1, n_rows] ... broadcast over queries as [n_rows, 1]; made on first cosine request
  private normCtx: Ptr | undefined;
  private outs: [Ptr, Ptr] = [null, null];
  private mapping: FileMapping | undefined;
  private disposed = false;

  constructor(
    private readonly device: ComputeDevice,
    readonly dict: Dictionary,
    computeType: ComputeType = 'auto',
    cache?: CopyCache,
  ) {
    const { native } = device;
    const b = native.base;
    this.nRows = dict.nRows;
    this.dModel = dict.dModel;
    const d = dict.dModel;
    this.storedType = dict.source.kind === 'tensor' ? dict.source.tensor.type : GgmlType.F32;
    this.type = resolveType(computeType, this.storedType, d, device.isGpu, device.copyType);
    this.ctx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 4, mem_buffer: null, no_alloc: true });
    this.weight = b.ggml_new_tensor_2d(this.ctx, this.type, d, this.nRows);
    b.ggml_set_name(this.weight, `dict_${dict.name}`);
    const special = device.weightBufferType(this.type, d, this.nRows);
    this.bufferName = special?.name ?? (device.isGpu ? 'GPU' : 'CPU');
    if (special === undefined && this.multiplyInPlace()) {
      this.fromCache = false;
      return;
    }
    this.buffers.push(device.allocate(this.ctx, special?.buft)); // the weight alone (the AMX buffer takes weights only)
    this.fromCache = this.upload(cache, special !== undefined);
  }

  /**
   * On a CPU, a dictionary multiplied in its stored type is multiplied where it lies in the model
   * file: a read-only mapping of its rows (the page cache's pages, shared with llama.cpp's own
   * mapping) wrapped as a ggml CPU buffer. Nothing is read or copied up front (this was 5 to 9 s
   * of a first lens on a loaded machine, bench/results/peer.md). False when the rows cannot be
   * mapped (an in-memory file, no mmap, an unaligned tensor): they are then uploaded as before.
   */
  private multiplyInPlace(): boolean {
    const src = this.dict.source;
    if (this.device.isGpu || src.kind !== 'tensor' || this.type !== this.storedType) return false;
    const file = src.file.file;
    const fd = file.source instanceof FileSource ? file.source.descriptor : undefined;
    const offset = file.dataOffset + src.tensor.offset;
    const bytes = bytesFor(this.type, this.dModel) * this.nRows;
    // ggml's CPU buffers want 32-byte aligned data (GGUF aligns tensors to 32 by default)
    if (fd === undefined || offset % 32 !== 0 || bytes !== src.tensor.nBytes) return false;
    const mapping = mapFileRange(fd, offset, bytes);
    if (!mapping) return false;
    const b = this.device.native.base;
    const buf = b.ggml_backend_cpu_buffer_from_ptr(mapping.address, bytes);
    if (!buf) {
      mapping.unmap();
      return false;
    }
    if (b.ggml_backend_tensor_alloc(buf, this.weight, mapping.address) !== 0) {
      b.ggml_backend_buffer_free(buf);
      mapping.unmap();
      return false;
    }
    this.buffers.push(buf);
    this.mapping = mapping;
    return true;
  }

  /** whether the products read the rows from the mapped model file (no copy) */
  get inPlace(): boolean {
    return this.mapping !== undefined;
  }

  /**
   * The dictionary's rows into the device tensor, in the compute type. The stored type is read as it
   * is (no conversion; norms later if ever asked for); another type is streamed from the on-disk
   * cache, or converted here (norms from the same pass) and cached. An ordinary buffer is filled block
   * by block, so no second whole copy is held in memory; the AMX buffer repacks whole tensors only.
   * Returns whether the rows came from the cache.
   */
  private upload(cache: CopyCache | undefined, whole: boolean): boolean {
    const b = this.device.native.base;
    const { dict } = this;
    const d = this.dModel;
    const src = dict.source;
    const rowBytes = bytesFor(this.type, d);
    const set = (bytes: Uint8Array, offset: number): void => b.ggml_backend_tensor_set(this.weight, bytes, offset, bytes.byteLength);
    if (this.type === this.storedType) {
      if (src.kind === 'f32') set(new Uint8Array(src.data.buffer, src.data.byteOffset, this.nRows * d * 4), 0);
      else if (whole) set(src.file.file.readTensorBytes(src.tensor, 0, rowBytes * this.nRows), 0);
      else for (let r = 0; r < this.nRows; r += UPLOAD_ROWS) set(src.file.file.readRowBytes(src.tensor, r, Math.min(UPLOAD_ROWS, this.nRows - r)), r * rowBytes);
      return false;
    }
    const normBytes = 4 * this.nRows;
    const total = normBytes + rowBytes * this.nRows; // [norms, float32][rows in the compute type]: the norms aligned
    const file = cache?.fileFor(dict, this.type);
    if (file) {
      const norms = new Float32Array(this.nRows);
      const normView = new Uint8Array(norms.buffer);
      const rows: Uint8Array | undefined = whole ? new Uint8Array(rowBytes * this.nRows) : undefined;
      const ok = cache!.readInto(file, total, (chunk, offset) => {
        // a chunk may straddle the norms and the rows
        const inNorms = Math.max(0, Math.min(chunk.byteLength, normBytes - offset));
        if (inNorms > 0) normView.set(chunk.subarray(0, inNorms), offset);
        if (inNorms < chunk.byteLength) {
          const part = chunk.subarray(inNorms);
          const at = offset + inNorms - normBytes;
          if (rows) rows.set(part, at);
          else set(part, at);
        }
      });
      if (ok) {
        if (rows) set(rows, 0);
        this.norms = norms;
        return true;
      }
    }
    // convert (a damaged or missing cache file is overwritten)
    const all = new Uint8Array(total);
    const norms = new Float32Array(all.buffer, 0, this.nRows);
    const bytes = all.subarray(normBytes);
    this.convertRows((start, count) => ({ norms: norms.subarray(start, start + count), out: bytes.subarray(start * rowBytes, (start + count) * rowBytes) }), this.type);
    set(bytes, 0);
    if (file) cache!.write(file, all);
    this.norms = norms.slice();
    return false;
  }

  /** Every block of stored rows through a RowConverter to `target` (norms always; bytes when asked). */
  private convertRows(into: (start: number, count: number) => { norms: Float32Array; out?: Uint8Array }, target: number): void {
    const { dict } = this;
    const d = this.dModel;
    const converter = new RowConverter(this.device, this.storedType, target, d, Math.min(UPLOAD_ROWS, this.nRows));
    try {
      for (let start = 0; start < this.nRows; start += UPLOAD_ROWS) {
        const count = Math.min(UPLOAD_ROWS, this.nRows - start);
        const raw =
          dict.source.kind === 'tensor'
            ? dict.source.file.file.readRowBytes(dict.source.tensor, start, count)
            : new Uint8Array(dict.source.data.buffer, dict.source.data.byteOffset + start * d * 4, count * d * 4);
        const dst = into(start, count);
        converter.convert(raw, count, dst.norms, dst.out);
      }
    } finally {
      converter.dispose();
    }
  }

  /** L2 norms of the dictionary's stored rows (from ggml's dequantization), computed on first use. */
  get rowNorms(): Float32Array {
    if (!this.norms) {
      const norms = new Float32Array(this.nRows);
      this.convertRows((start, count) => ({ norms: norms.subarray(start, start + count) }), this.storedType);
      this.norms = norms;
    }
    return this.norms;
  }

  /** 1 / norm per row on the device, for cosine requests. */
  private inverseNorms(): Ptr {
    if (this.invNorm) return this.invNorm;
    const b = this.device.native.base;
    const inv = Float32Array.from(this.rowNorms, (x) => (x > 0 ? 1 / x : 0));
    this.normCtx = b.ggml_init({ mem_size: b.ggml_tensor_overhead() * 2, mem_buffer: null, no_alloc: true });
    const t = b.ggml_new_tensor_2d(this.normCtx, GgmlType.F32, this.nRows, 1);
    this.buffers.push(this.device.allocate(this.normCtx));
    b.ggml_backend_tensor_set(t, inv, 0, inv.byteLength);
    return (this.invNorm = t);
  }

  get typeName(): string {
    return typeName(this.type);
  }

  /** Top k rows per query (queries [n, d_model]), best first, values as ranked. */
  topK(queries: Float32Array, opts: ProjectOptions): { k: number; rows: Int32Array; values: Float32Array } {
    const nq = this.check(queries);
    const k = Math.max(0, Math.min(opts.k, this.nRows));
    const rows = new Int32Array(nq * k);
    const values = new Float32Array(nq * k);
    if (k === 0 || nq === 0) return { k, rows, values };
    const chunk = Math.max(1, Math.floor(MAX_SCORES / this.nRows));
    const b = this.device.native.base;
    const invNorm = opts.rowNormalize ? this.inverseNorms() : undefined;
    for (let q0 = 0; q0 < nq; q0 += chunk) {
      const n = Math.min(chunk, nq - q0);
      const idx = new Int32Array(k * n);
      const val = new Float32Array(k * n);
      this.device.run(
        16,
        (ctx) => {
          const q = b.ggml_new_tensor_2d(ctx, GgmlType.F32, this.dModel, n);
          b.ggml_set_input(q);
          let s = b.ggml_mul_mat(ctx, this.weight, q); // [n_rows, n]
          if (invNorm) s = b.ggml_mul(ctx, s, invNorm);
          if (opts.abs) s = b.ggml_abs(ctx, s);
          if (opts.softmax && opts.softcap) s = b.ggml_scale(ctx, b.ggml_tanh(ctx, b.ggml_scale(ctx, s, 1 / opts.softcap)), opts.softcap);
          if (opts.softmax) s = b.ggml_soft_max(ctx, s);
          const top = b.ggml_top_k(ctx, s, k); // [k, n] I32, in no particular order
          const picked = b.ggml_get_rows(ctx, b.ggml_reshape_3d(ctx, s, 1, this.nRows, n), top); // [1, k, n]
          this.outs = [top, picked];
          return { inputs: [[q, queries.subarray(q0 * this.dModel, (q0 + n) * this.dModel)]], outputs: [top, picked] };
        },
        () => {
          readTensor(this.device.native, this.outs[0], idx);
          readTensor(this.device.native, this.outs[1], val);
        },
      );
      for (let j = 0; j < n; j++) {
        const order = Array.from({ length: k }, (_, i) => i).sort((a, c) => val[j * k + c]! - val[j * k + a]! || idx[j * k + a]! - idx[j * k + c]!);
        order.forEach((o, i) => {
          rows[(q0 + j) * k + i] = idx[j * k + o]!;
          values[(q0 + j) * k + i] = val[j * k + o]!;
        });
      }
    }
    return { k, rows, values };
  }

  /** Every score D q: [n, n_rows]. */
  scores(queries: Float32Array): Float32Array {
    const nq = this.check(queries);
    const out = new Float32Array(nq * this.nRows);
    const chunk = Math.max(1, Math.floor(MAX_SCORES / this.nRows));
    const b = this.device.native.base;
    for (let q0 = 0; q0 < nq; q0 += chunk) {
      const n = Math.min(chunk, nq - q0);
      this.device.run(
        4,
        (ctx) => {
          const q = b.ggml_new_tensor_2d(ctx, GgmlType.F32, this.dModel, n);
          b.ggml_set_input(q);
          const s = b.ggml_mul_mat(ctx, this.weight, q);
          this.outs = [s, s];
          return { inputs: [[q, queries.subarray(q0 * this.dModel, (q0 + n) * this.dModel)]], outputs: [s] };
        },
        () => readTensor(this.device.native, this.outs[0], out.subarray(q0 * this.nRows, (q0 + n) * this.nRows)),
      );
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const b = this.device.native.base;
    for (const buf of this.buffers) b.ggml_backend_buffer_free(buf);
    this.mapping?.unmap(); // after the buffer over it
    b.ggml_free(this.ctx);
    if (this.normCtx) b.ggml_free(this.normCtx);
  }

  private check(queries: Float32Array): number {
    if (this.disposed) throw new InnerWorldError('no-model', 'the dictionary was released from the compute device');
    if (queries.length % this.dModel !== 0) throw new RangeError(`queries hold ${queries.length} values, not a multiple of d_model ${this.dModel}`);
    return queries.length / this.dModel;
  }
}

/** The type products are computed in; `cpuCopy` is the device's fastest copy type (Q8_0 or BF16). */
export function resolveType(computeType: ComputeType, stored: number, rowLen: number, gpu: boolean, cpuCopy: number = GgmlType.Q8_0): number {
  switch (computeType) {
    case 'stored':
      return stored;
    case 'f32':
      return GgmlType.F32;
    case 'f16':
      return GgmlType.F16;
    case 'bf16':
      return GgmlType.BF16;
    case 'q8_0':
      if (rowLen % 32 !== 0) throw new InnerWorldError('bad-argument', `Q8_0 needs rows that are a multiple of 32 long, not ${rowLen}`);
      return GgmlType.Q8_0;
    case 'auto':
      // the GPU multiplies the stored types fast; on a CPU a Q8_0 or BF16 copy has the fastest kernels
      if (gpu) return stored;
      if (cpuCopy === GgmlType.BF16) return GgmlType.BF16;
      return rowLen % 32 !== 0 ? stored : GgmlType.Q8_0;
  }
}
