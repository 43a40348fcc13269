// Block sums of Q8_0, Q4_K and Q6_K tensors through the WebAssembly SIMD kernels of blockSumsSimd.ts:
// JavaScript reads the file a chunk of rows at a time into the module's memory; the module's scale
// decoders turn the per-block scales (f16, Q4_K's packed 6-bit scales and mins, Q6_K's int8 ones)
// into float32 arrays there, and the kernel does every per-element step. Column sums stay in the module's memory, in float64, for the
// whole tensor.
import { GgmlType } from '../gguf/ggmlTypes';
import { halfTableView } from '../util/half';
import type { TensorSums } from '../analysis/weightStats';
import { ROW_ACC_BYTES, STRIP_FIELDS, simdModuleBytes, type KernelName, type KernelParts } from './blockSumsSimd';

type Kernel = (src: number, count: number, nStrips: number, rowBytes: number, scalesA: number, scalesB: number, nScales: number, strips: number, colOut: number, colStride: number, rowOut: number, rowAcc: number) => void;

interface Layout {
  kernel: KernelName;
  blockBytes: number;
  blockElements: number;
  scalesPerBlock: number;
  stripsPerBlock: number;
  /** strip j of block i: byte offset in the row, first scale index, first column, and what some formats need more */
  strip(i: number, j: number): number[];
}

const LAYOUTS: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  [
    GgmlType.Q8_0,
    {
      kernel: 'q8_0',
      blockBytes: 34,
      blockElements: 32,
      scalesPerBlock: 1,
      stripsPerBlock: 2,
      strip: (i, j) => [34 * i + 2 + 16 * j, i, 32 * i + 16 * j],
    },
  ],
  [
    GgmlType.Q4_K,
    {
      kernel: 'q4_k',
      blockBytes: 144,
      blockElements: 256,
      scalesPerBlock: 8,
      stripsPerBlock: 16,
      // group g (sub-blocks 2g, 2g + 1) of 32 bytes, in strips of 8 bytes
      strip: (i, j) => [144 * i + 16 + 32 * (j >> 2) + 8 * (j & 3), 8 * i + 2 * (j >> 2), 256 * i + 64 * (j >> 2) + 8 * (j & 3)],
    },
  ],
  [
    GgmlType.Q6_K,
    {
      kernel: 'q6_k',
      blockBytes: 210,
      blockElements: 256,
      scalesPerBlock: 16,
      // per 128-element half n: positions l in 4 strips of 8, times quarters (0, 1) and (2, 3)
      stripsPerBlock: 16,
      strip(i, j) {
        const n = j >> 3;
        const upper = (j >> 2) & 1; // quarters 2, 3: the high nibbles, the high bits at shift 4
        const l = 8 * (j & 3);
        const o = 210 * i;
        return [o + 64 * n + l, 16 * i + 8 * n + (l >> 4) + 4 * upper, 256 * i + 128 * n + 64 * upper + l, o + 128 + 32 * n + l, 4 * upper];
      },
    },
  ],
]);

/** decodes `blocks` consecutive blocks' scales at src into float32 at A (and B), with the f16 table at `half` */
type ScaleDecoder = (src: number, blocks: number, A: number, B: number, half: number) => void;
type Instance = { memory: WebAssembly.Memory; kernels: Record<KernelName, Kernel> & Record<`${KernelName}_scales`, ScaleDecoder> };

/** the f16 → float32 table, at the start of the module's memory (ggml's own values: util/half.ts) */
const HALF_TABLE = 0;
const HALF_TABLE_BYTES = 65536 * 4;
const instances = new Map<KernelParts, Instance | null>();

/** The compiled module (the shipped kernels, or parts of them to time), or null where this runtime has no WebAssembly SIMD. */
function simd(parts: KernelParts = 'all'): Instance | null {
  let instance = instances.get(parts);
  if (instance !== undefined) return instance;
  try {
    const memory = new WebAssembly.Memory({ initial: HALF_TABLE_BYTES / 65536 + 1 });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(simdModuleBytes(parts)), { env: { memory } });
    new Float32Array(memory.buffer, HALF_TABLE, 65536).set(halfTableView());
    instance = { memory, kernels: inst.exports as unknown as Instance['kernels'] };
  } catch {
    instance = null;
  }
  instances.set(parts, instance);
  return instance;
}

export function hasSimdSums(type: number): boolean {
  return LAYOUTS.has(type) && simd() !== null;
}

const align = (n: number) => (n + 15) & ~15;

/** Reads rows [start, start + count) into `into` (exactly their bytes). */
export type ReadRowsInto = (start: number, count: number, into: Uint8Array) => void;

/** bytes per kernel call: small enough that the rows just read are still in the cache */
const SIMD_CHUNK_BYTES = 1 << 20;

/**
 * Row and column sums of a Q8_0, Q4_K or Q6_K tensor ([n1, n0]); `readRows(start, count)` gives the
 * bytes of rows [start, start + count), or `readRowsInto` puts them in place.
 */
export function simdSums(type: number, n0: number, n1: number, readRows: (start: number, count: number) => Uint8Array, readRowsInto?: ReadRowsInto, parts: KernelParts = 'all'): TensorSums {
  const L = LAYOUTS.get(type)!;
  const m = simd(parts)!;
  const nb = n0 / L.blockElements;
  const rowBytes = nb * L.blockBytes;
  const per = Math.max(1, Math.min(Math.floor(SIMD_CHUNK_BYTES / rowBytes), n1));
  const nStrips = nb * L.stripsPerBlock;
  const nScales = nb * L.scalesPerBlock;
  // memory: the f16 table, column sums [3][n0] f64, row sums [per][3][2] f64, scales A and B [per][nScales] f32, strip table, the rows
  const colOut = HALF_TABLE + HALF_TABLE_BYTES;
  const rowOut = colOut + align(3 * n0 * 8);
  const scalesA = rowOut + align(per * 48);
  const scalesB = scalesA + align(per * nScales * 4);
  const strips = scalesB + align(per * nScales * 4);
  const rowAcc = strips + align(nStrips * 4 * STRIP_FIELDS);
  const src = rowAcc + ROW_ACC_BYTES;
  const need = src + per * rowBytes;
  const have = m.memory.buffer.byteLength;
  if (need > have) m.memory.grow(Math.ceil((need - have) / 65536));
  const buf = m.memory.buffer;
  const bytes = new Uint8Array(buf);
  bytes.fill(0, colOut, rowOut);
  bytes.fill(0, rowAcc, src);
  const table = new Int32Array(buf, strips, nStrips * STRIP_FIELDS);
  for (let i = 0; i < nb; i++) for (let j = 0; j < L.stripsPerBlock; j++) table.set(L.strip(i, j), STRIP_FIELDS * (i * L.stripsPerBlock + j));
  const rowSums = new Float64Array(buf, rowOut, per * 6);
  const kernel = m.kernels[L.kernel];
  const decodeScales = m.kernels[`${L.kernel}_scales`];
  const rows = { length: n0, sum: new Float64Array(n1), sumSq: new Float64Array(n1), sumAbs: new Float64Array(n1) };
  for (let start = 0; start < n1; start += per) {
    const count = Math.min(per, n1 - start);
    if (readRowsInto) readRowsInto(start, count, bytes.subarray(src, src + count * rowBytes));
    else bytes.set(readRows(start, count).subarray(0, count * rowBytes), src);
    decodeScales(src, count * nb, scalesA, scalesB, HALF_TABLE);
    rowSums.fill(0);
    if (parts !== 'none') kernel(src, count, nStrips, rowBytes, scalesA, scalesB, nScales, strips, colOut, n0 * 8, rowOut, rowAcc);
    for (let r = 0; r < count; r++) {
      rows.sum[start + r] = rowSums[6 * r]! + rowSums[6 * r + 1]!;
      rows.sumSq[start + r] = rowSums[6 * r + 2]! + rowSums[6 * r + 3]!;
      rows.sumAbs[start + r] = rowSums[6 * r + 4]! + rowSums[6 * r + 5]!;
    }
  }
  const col = new Float64Array(buf, colOut, 3 * n0);
  const cols = { length: n1, sum: col.slice(0, n0), sumSq: col.slice(n0, 2 * n0), sumAbs: col.slice(2 * n0, 3 * n0) };
  return { rows, cols };
}
