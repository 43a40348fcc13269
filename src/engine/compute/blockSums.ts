// Weight-statistics sums taken from the stored blocks without building float32 tensors. Q8_0,
// Q4_K and Q6_K go through WebAssembly SIMD kernels (blockSumsWasm.ts). The other block formats
// are unpacked here into their integer quants q and, per sub-block, the affine map ggml's
// dequantization applies (x = a·q − b, ggml's float32 rounding kept, so every value is ggml's
// own); one fused pass then adds every element into its row's and its column's Σx, Σx², Σ|x| in
// float64, two rows at a time so that each column sum is read and written once per two elements.
// The file is read sequentially in chunks of whole rows; everything else stays in the caches.
import * as fs from 'node:fs';
import type { LlamaModelFile } from '../gguf/llamaModel';
import { FileSource } from '../gguf/source';
import type { TensorInfo } from '../gguf/reader';
import { GgmlType, bytesFor, typeName, typeTraits } from '../gguf/ggmlTypes';
import { halfTableView } from '../util/half';
import type { TensorReducer, TensorSums } from '../analysis/weightStats';
import { hasSimdSums, simdSums, type ReadRowsInto } from './blockSumsWasm';
import { scaleMinK4 } from '../gguf/dequant';
import { blockSumThreads, parallelFileSums } from './blockSumsThreads';
import { f16, q4kTwoRows, q6kTwoRows, q80TwoRows, type Sums, type TwoRowKernel } from './blockSumsDirect';

const fr = Math.fround;

/** bytes read per chunk: large sequential reads, a few per tensor */
const CHUNK_BYTES = 16 << 20;

/**
 * One row's blocks as quants and affine maps: q[c] for every element c of the row, and for each
 * sub-block s (SUB elements long) a[s], b[s] with x = a[s]·q − b[s].
 */
interface RowPlanes {
  q: Int8Array; // [n0]
  a: Float64Array; // [n0 / sub]
  b: Float64Array; // [n0 / sub]
}

/** Unpacks the row at byte `o` of `src` (nBlocks blocks) into `p`. */
type Unpacker = (src: Uint8Array, o: number, nBlocks: number, p: RowPlanes) => void;

interface Format {
  /** elements per sub-block: the span of one (a, b) */
  sub: number;
  unpack: Unpacker;
}

const Q4_0: Format = {
  sub: 32,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 18) {
      const d = f16(src, o, half);
      a[i] = d;
      b[i] = 0;
      const y = i * 32;
      for (let j = 0; j < 16; j++) {
        const x = src[o + 2 + j]!;
        q[y + j] = (x & 15) - 8;
        q[y + j + 16] = (x >> 4) - 8;
      }
    }
  },
};

const Q4_1: Format = {
  sub: 32,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 20) {
      a[i] = f16(src, o, half);
      b[i] = -f16(src, o + 2, half);
      const y = i * 32;
      for (let j = 0; j < 16; j++) {
        const x = src[o + 4 + j]!;
        q[y + j] = x & 15;
        q[y + j + 16] = x >> 4;
      }
    }
  },
};

function u32le(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

const Q5_0: Format = {
  sub: 32,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 22) {
      a[i] = f16(src, o, half);
      b[i] = 0;
      const qh = u32le(src, o + 2);
      const y = i * 32;
      for (let j = 0; j < 16; j++) {
        const x = src[o + 6 + j]!;
        q[y + j] = ((x & 15) | (((qh >>> j) << 4) & 0x10)) - 16;
        q[y + j + 16] = ((x >> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
      }
    }
  },
};

const Q5_1: Format = {
  sub: 32,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 24) {
      a[i] = f16(src, o, half);
      b[i] = -f16(src, o + 2, half);
      const qh = u32le(src, o + 4);
      const y = i * 32;
      for (let j = 0; j < 16; j++) {
        const x = src[o + 8 + j]!;
        q[y + j] = (x & 15) | (((qh >>> j) << 4) & 0x10);
        q[y + j + 16] = (x >> 4) | ((qh >>> (j + 12)) & 0x10);
      }
    }
  },
};

const Q8_0: Format = {
  sub: 32,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 34) {
      a[i] = f16(src, o, half);
      b[i] = 0;
      const y = i * 32;
      for (let j = 0; j < 32; j++) q[y + j] = src[o + 2 + j]!; // Int8Array store: the sign comes back
    }
  },
};

const Q2_K: Format = {
  sub: 16,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 84) {
      const d = f16(src, o + 80, half);
      const min = f16(src, o + 82, half);
      let y = i * 256;
      let s = i * 16;
      for (let n = 0; n < 256; n += 128) {
        const qo = o + 16 + n / 4;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let h = 0; h < 32; h += 16) {
            const sc = src[o + (s & 15)]!; // s = 16 i + the sub-block's index in the block
            a[s] = fr(d * (sc & 15));
            b[s] = fr(min * (sc >> 4));
            s++;
            for (let l = 0; l < 16; l++) q[y++] = (src[qo + l + h]! >> shift) & 3;
          }
        }
      }
    }
  },
};

const Q3_K: Format = {
  sub: 16,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    const k1 = 0x03030303;
    const k2 = 0x0f0f0f0f;
    for (let i = 0; i < nb; i++, o += 110) {
      const dAll = f16(src, o + 108, half);
      const a0 = u32le(src, o + 96);
      const a1 = u32le(src, o + 100);
      const tmp = u32le(src, o + 104);
      // ggml's kmask unpacking of 12 bytes into 16 6-bit scales, each stored + 32
      const w = [
        (a0 & k2) | ((tmp & k1) << 4),
        (a1 & k2) | (((tmp >>> 2) & k1) << 4),
        ((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4),
        ((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4),
      ];
      for (let k = 0; k < 16; k++) {
        a[i * 16 + k] = fr(dAll * (((w[k >> 2]! >>> (8 * (k & 3))) & 0xff) - 32));
        b[i * 16 + k] = 0;
      }
      let y = i * 256;
      let bit = 0;
      for (let n = 0; n < 256; n += 128) {
        const qo = o + 32 + n / 4;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let h = 0; h < 32; h += 16) {
            for (let l = 0; l < 16; l++) {
              const lo = (src[qo + l + h]! >> shift) & 3;
              const keep = (src[o + l + h]! >> bit) & 1;
              q[y++] = lo - 4 + (keep << 2);
            }
          }
          bit++;
        }
      }
    }
  },
};

function kQuant45(bits5: boolean): Format {
  const bytes = bits5 ? 176 : 144;
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  return {
    sub: 32,
    unpack(src, o, nb, { q, a, b }) {
      const half = halfTableView();
      for (let i = 0; i < nb; i++, o += bytes) {
        const d = f16(src, o, half);
        const min = f16(src, o + 2, half);
        scaleMinK4(src, o + 4, sc, mn);
        for (let k = 0; k < 8; k++) {
          a[i * 8 + k] = fr(d * sc[k]!);
          b[i * 8 + k] = fr(min * mn[k]!);
        }
        let y = i * 256;
        let ql = o + (bits5 ? 48 : 16);
        const qh = o + 16;
        for (let is = 0; is < 8; is += 2) {
          if (bits5) {
            for (let l = 0; l < 32; l++) {
              const x = src[ql + l]!;
              const h = src[qh + l]! >> is;
              q[y + l] = (x & 15) | ((h & 1) << 4);
              q[y + l + 32] = (x >> 4) | ((h & 2) << 3);
            }
          } else {
            for (let l = 0; l < 32; l++) {
              const x = src[ql + l]!;
              q[y + l] = x & 15;
              q[y + l + 32] = x >> 4;
            }
          }
          y += 64;
          ql += 32;
        }
      }
    },
  };
}

const Q6_K: Format = {
  sub: 16,
  unpack(src, o, nb, { q, a, b }) {
    const half = halfTableView();
    for (let i = 0; i < nb; i++, o += 210) {
      const d = f16(src, o + 208, half);
      // sub-block k (16 elements) has scale sc[k]; element order as ggml's dequantize_row_q6_K
      for (let k = 0; k < 16; k++) {
        a[i * 16 + k] = fr(d * ((src[o + 192 + k]! << 24) >> 24));
        b[i * 16 + k] = 0;
      }
      let ql = o;
      let qh = o + 128;
      let y = i * 256;
      for (let n = 0; n < 256; n += 128) {
        for (let l = 0; l < 32; l++) {
          const h = src[qh + l]!;
          const x0 = src[ql + l]!;
          const x1 = src[ql + l + 32]!;
          q[y + l] = ((x0 & 15) | ((h & 3) << 4)) - 32;
          q[y + l + 32] = ((x1 & 15) | (((h >> 2) & 3) << 4)) - 32;
          q[y + l + 64] = ((x0 >> 4) | (((h >> 4) & 3) << 4)) - 32;
          q[y + l + 96] = ((x1 >> 4) | (((h >> 6) & 3) << 4)) - 32;
        }
        y += 128;
        ql += 64;
        qh += 32;
      }
    }
  },
};

const FORMATS: ReadonlyMap<number, Format> = new Map<number, Format>([
  [GgmlType.Q4_0, Q4_0],
  [GgmlType.Q4_1, Q4_1],
  [GgmlType.Q5_0, Q5_0],
  [GgmlType.Q5_1, Q5_1],
  [GgmlType.Q8_0, Q8_0],
  [GgmlType.Q2_K, Q2_K],
  [GgmlType.Q3_K, Q3_K],
  [GgmlType.Q4_K, kQuant45(false)],
  [GgmlType.Q5_K, kQuant45(true)],
  [GgmlType.Q6_K, Q6_K],
]);

/** the hottest formats (a Q4_K_M file's and a Q8_0 file's) have kernels that read the bytes
 * directly, which saves writing and reading back the planes: about 1.5x faster */
const DIRECT = new Map<Format, TwoRowKernel>([
  [FORMATS.get(GgmlType.Q4_K)!, q4kTwoRows],
  [FORMATS.get(GgmlType.Q8_0)!, q80TwoRows],
  [FORMATS.get(GgmlType.Q6_K)!, q6kTwoRows],
]);

/** Float element types, read as values: F32 directly, F16 and BF16 through their bit patterns. */
const FLOAT_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];

export function hasBlockSums(type: number): boolean {
  return FORMATS.has(type) || FLOAT_TYPES.includes(type);
}


/**
 * Adds rows r and r + 1 (planes p0, p1) into the sums: one read-modify-write of each column sum
 * per two elements. Rows r and r + 1's own sums are written at rowIndex, rowIndex + 1.
 */
function addTwoRows(p0: RowPlanes, p1: RowPlanes, sub: number, n0: number, s: Sums, rowIndex: number): void {
  const q0 = p0.q;
  const q1 = p1.q;
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  let rs0 = 0, rq0 = 0, ra0 = 0, rs1 = 0, rq1 = 0, ra1 = 0;
  for (let k = 0, c = 0; c < n0; k++) {
    const a0 = p0.a[k]!, b0 = p0.b[k]!, a1 = p1.a[k]!, b1 = p1.b[k]!;
    const end = c + sub;
    for (; c < end; c++) {
      const v0 = fr(fr(a0 * q0[c]!) - b0);
      const v1 = fr(fr(a1 * q1[c]!) - b1);
      const w0 = v0 * v0, w1 = v1 * v1;
      const u0 = Math.abs(v0), u1 = Math.abs(v1);
      colS[c]! += v0 + v1;
      colQ[c]! += w0 + w1;
      colA[c]! += u0 + u1;
      rs0 += v0; rq0 += w0; ra0 += u0;
      rs1 += v1; rq1 += w1; ra1 += u1;
    }
  }
  const r = s.rows;
  r.sum[rowIndex] = rs0; r.sumSq[rowIndex] = rq0; r.sumAbs[rowIndex] = ra0;
  r.sum[rowIndex + 1] = rs1; r.sumSq[rowIndex + 1] = rq1; r.sumAbs[rowIndex + 1] = ra1;
}

function addOneRow(p: RowPlanes, sub: number, n0: number, s: Sums, rowIndex: number): void {
  const q = p.q;
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  let rs = 0, rq = 0, ra = 0;
  for (let k = 0, c = 0; c < n0; k++) {
    const a = p.a[k]!, b = p.b[k]!;
    const end = c + sub;
    for (; c < end; c++) {
      const v = fr(fr(a * q[c]!) - b);
      const w = v * v;
      const u = Math.abs(v);
      colS[c]! += v;
      colQ[c]! += w;
      colA[c]! += u;
      rs += v; rq += w; ra += u;
    }
  }
  s.rows.sum[rowIndex] = rs; s.rows.sumSq[rowIndex] = rq; s.rows.sumAbs[rowIndex] = ra;
}

function newPlanes(n0: number, sub: number): RowPlanes {
  return { q: new Int8Array(n0), a: new Float64Array(n0 / sub), b: new Float64Array(n0 / sub) };
}

/** Adds `count` rows of a block-format tensor, stored in `src`, whose first row is `row0`. */
function addBlockRows(f: Format, src: Uint8Array, rowBytes: number, nBlocks: number, n0: number, count: number, row0: number, s: Sums, p0: RowPlanes, p1: RowPlanes): void {
  let r = 0;
  const direct = DIRECT.get(f);
  if (direct) for (; r + 1 < count; r += 2) direct(src, r * rowBytes, (r + 1) * rowBytes, nBlocks, s, row0 + r);
  for (; r + 1 < count; r += 2) {
    f.unpack(src, r * rowBytes, nBlocks, p0);
    f.unpack(src, (r + 1) * rowBytes, nBlocks, p1);
    addTwoRows(p0, p1, f.sub, n0, s, row0 + r);
  }
  if (r < count) {
    f.unpack(src, r * rowBytes, nBlocks, p0);
    addOneRow(p0, f.sub, n0, s, row0 + r);
  }
}

/** Float rows: the values themselves, as float32 (F16/BF16 widened exactly). */
function floatRows(type: number, src: Uint8Array, n: number, out: Float32Array): Float32Array {
  if (type === GgmlType.F32) {
    if (src.byteOffset % 4 === 0) return new Float32Array(src.buffer, src.byteOffset, n);
    new Uint8Array(out.buffer, 0, 4 * n).set(src.subarray(0, 4 * n));
    return out.subarray(0, n);
  }
  const u16 = src.byteOffset % 2 === 0 ? new Uint16Array(src.buffer, src.byteOffset, n) : new Uint16Array(src.slice(0, 2 * n).buffer);
  const o = out.subarray(0, n);
  if (type === GgmlType.F16) {
    const half = halfTableView();
    for (let i = 0; i < n; i++) o[i] = half[u16[i]!]!;
  } else {
    const o32 = new Uint32Array(o.buffer, o.byteOffset, n);
    for (let i = 0; i < n; i++) o32[i] = u16[i]! << 16;
  }
  return o;
}

function addFloatRows(x: Float32Array, n0: number, count: number, row0: number, s: Sums): void {
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  for (let r = 0; r < count; r++) {
    let rs = 0, rq = 0, ra = 0;
    const o = r * n0;
    for (let c = 0; c < n0; c++) {
      const v = x[o + c]!;
      const w = v * v;
      const u = Math.abs(v);
      colS[c]! += v;
      colQ[c]! += w;
      colA[c]! += u;
      rs += v; rq += w; ra += u;
    }
    s.rows.sum[row0 + r] = rs; s.rows.sumSq[row0 + r] = rq; s.rows.sumAbs[row0 + r] = ra;
  }
}

/** WebAssembly SIMD kernels where there are some (Q8_0, Q4_K, Q6_K); off only to test and compare the paths */
let useSimd = true;
export function setSimdBlockSums(on: boolean): void {
  useSimd = on;
}

/** What the sums need of a tensor. */
export type TensorShape = Pick<TensorInfo, 'type' | 'dims' | 'nElements' | 'name'>;

/**
 * Per-row and per-column Σx, Σx², Σ|x| of a 2-D tensor ([n1 rows, n0 columns], rows n0 long),
 * straight from its stored blocks; `readRows(start, count)` gives the bytes of rows
 * [start, start + count).
 */
export function tensorBlockSums(t: TensorShape, readRows: (start: number, count: number) => Uint8Array, readRowsInto?: ReadRowsInto): TensorSums {
  const n0 = t.dims[0]!;
  const n1 = t.nElements / n0;
  const s: Sums = {
    rows: { length: n0, sum: new Float64Array(n1), sumSq: new Float64Array(n1), sumAbs: new Float64Array(n1) },
    cols: { length: n1, sum: new Float64Array(n0), sumSq: new Float64Array(n0), sumAbs: new Float64Array(n0) },
  };
  const f = FORMATS.get(t.type);
  if (!f && !FLOAT_TYPES.includes(t.type)) throw new RangeError(`block sums: unsupported tensor type ${typeName(t.type)} in ${t.name}`);
  const rowBytes = bytesFor(t.type, n0);
  const per = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  if (useSimd && hasSimdSums(t.type)) return simdSums(t.type, n0, n1, readRows, readRowsInto);
  const p0 = f ? newPlanes(n0, f.sub) : undefined;
  const p1 = f ? newPlanes(n0, f.sub) : undefined;
  const floats = f ? undefined : new Float32Array(Math.min(per, n1) * n0);
  for (let start = 0; start < n1; start += per) {
    const count = Math.min(per, n1 - start);
    const bytes = readRows(start, count);
    if (f) addBlockRows(f, bytes, rowBytes, n0 / typeTraits(t.type).blockSize, n0, count, start, s, p0!, p1!);
    else addFloatRows(floatRows(t.type, bytes, count * n0, floats!), n0, count, start, s);
  }
  return s;
}

/**
 * Sums of rows [start, start + count) of a tensor stored at byte `base` of the file `path`, read
 * through a descriptor of its own straight into the kernels' memory (no buffer per chunk). The
 * same call serves this thread and the worker threads (blockSumsThreads.ts): each opens its own
 * descriptor, so the reads of two threads never share a file position.
 */
export function fileRangeSums(path: string, base: number, t: TensorShape, start: number, count: number): TensorSums {
  const n0 = t.dims[0]!;
  const rowBytes = bytesFor(t.type, n0);
  const fd = fs.openSync(path, 'r');
  try {
    const readRowsInto: ReadRowsInto = (s, c, into) => {
      const length = c * rowBytes;
      for (let done = 0; done < length; ) {
        const n = fs.readSync(fd, into, done, length - done, base + (start + s) * rowBytes + done);
        if (n === 0) throw new Error(`${path}: unexpected end of file in tensor ${t.name}`);
        done += n;
      }
    };
    const readRows = (s: number, c: number): Uint8Array => {
      const out = new Uint8Array(c * rowBytes);
      readRowsInto(s, c, out);
      return out;
    };
    return tensorBlockSums({ type: t.type, dims: [n0, count], nElements: n0 * count, name: t.name }, readRows, readRowsInto);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Block sums of a tensor of a model file. A file on disk is split by rows over this thread and
 * the worker threads (blockSumsThreads.ts) when the tensor is large enough to pay for the hand-off;
 * each part is read straight into its thread's kernel memory.
 */
export function fileBlockSums(file: LlamaModelFile, t: TensorInfo): TensorSums {
  const source = file.file.source;
  if (!(source instanceof FileSource)) return tensorBlockSums(t, (start, count) => file.file.readRowBytes(t, start, count));
  return parallelFileSums(source.name, file.file.dataOffset + t.offset, t, fileRangeSums);
}

/** The weight-statistics reducer over block sums, on every core (setBlockSumThreads). */
export const blockSumsReducer: TensorReducer = {
  get label() {
    return `block sums (${blockSumThreads()} thread${blockSumThreads() > 1 ? 's' : ''})`;
  },
  reduce: fileBlockSums,
};

