// Block sums (row and column Σx, Σx², Σ|x| taken from the stored blocks) against two oracles on
// data ggml itself quantized: the plain reference reducer over our dequantization (bit-identical to
// ggml's, test/integration/dequantOracle.test.ts), and plain float64 sums over ggml's own to_float.
// Every type, odd shapes (one row, odd row counts, rows of one block), several seeds, data with
// signs, exact zeros, all-zero rows and outliers (every sign threshold of the |x| sums is crossed).
import { before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/engine/llama/backend';
import { ggmlToFloat, type Native } from '../../src/engine/llama/native';
import { ggmlQuantizer } from '../../src/engine/llama/quantize';
import type { Quantizer } from '../../src/engine/gguf/llamaWriter';
import { dequantizeRows } from '../../src/engine/gguf/dequant';
import { GgmlType, bytesFor, typeName, typeTraits } from '../../src/engine/gguf/ggmlTypes';
import { floatToBf16, floatToHalf } from '../../src/engine/util/half';
import { Rng } from '../../src/engine/util/random';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileRangeSums, hasBlockSums, setSimdBlockSums, tensorBlockSums } from '../../src/engine/compute/blockSums';
import { blockSumThreads, parallelFileSums, setBlockSumThreads, stopBlockSumThreads } from '../../src/engine/compute/blockSumsThreads';
import { hasSimdSums } from '../../src/engine/compute/blockSumsWasm';
import { ROWS } from '../../src/engine/compute/blockSumsSimd';
import { plainSums } from '../../src/engine/analysis/reference/reducer';
import type { TensorSums } from '../../src/engine/analysis/weightStats';

let native: Native;
let quantize: Quantizer;
before(async () => {
  native = (await getBackend()).native;
  quantize = ggmlQuantizer(native);
});

const TYPES = [
  GgmlType.F32, GgmlType.F16, GgmlType.BF16,
  GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0,
  GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
];

/** [row length n0, rows n1]; K-quants need n0 a multiple of 256 */
const SHAPES: ReadonlyArray<readonly [number, number]> = [[256, 7], [512, 13], [256, 1], [768, 2], [256, 33]];
const SMALL_BLOCK_SHAPES: ReadonlyArray<readonly [number, number]> = [[32, 5], [96, 3]];
const SEEDS = [1, 2, 3];

/** Gaussian rows with scales over several decades, exact zeros, a zero block, outliers, an all-zero row, a shifted row. */
function testData(seed: number, n1: number, n0: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(n1 * n0);
  for (let r = 0; r < n1; r++) {
    if (r === 1) continue; // an all-zero row (every scale 0)
    const scale = 10 ** (-4 + 4 * rng.uniform());
    const shift = r % 3 === 2 ? 2 * scale : 0; // mostly one sign: the min-type offsets matter
    const zeroBlock = n0 > 64 ? rng.int(n0 / 32) : -1; // a short row keeps its values
    for (let i = 0; i < n0; i++) {
      const u = rng.uniform();
      let v = rng.normal() * scale + shift;
      if (u < 0.1 || Math.floor(i / 32) === zeroBlock) v = 0;
      else if (u > 0.985) v *= 30;
      x[r * n0 + i] = v;
    }
  }
  return x;
}

function stored(type: number, x: Float32Array, n1: number, n0: number): Uint8Array {
  if (type === GgmlType.F32) return new Uint8Array(x.slice().buffer);
  if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const enc = type === GgmlType.F16 ? floatToHalf : floatToBf16;
    return new Uint8Array(Uint16Array.from(x, (v) => enc(v)).buffer);
  }
  return quantize(type, x, n1, n0);
}

function assertSumsAgree(got: TensorSums, want: TensorSums, what: string, tol: number): void {
  for (const axis of ['rows', 'cols'] as const) {
    assert.equal(got[axis].length, want[axis].length, `${what} ${axis}.length`);
    for (const s of ['sum', 'sumSq', 'sumAbs'] as const) {
      const a = got[axis][s];
      const b = want[axis][s];
      assert.equal(a.length, b.length);
      for (let i = 0; i < b.length; i++) {
        // Σx can cancel: compare it at the scale of Σ|x|
        const scale = s === 'sumSq' ? want[axis].sumSq[i]! : want[axis].sumAbs[i]!;
        assert.ok(Math.abs(a[i]! - b[i]!) <= tol * scale, `${what} ${axis}.${s}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    }
  }
}

/**
 * The JavaScript paths add ggml's exact float32 values in float64: only the order of additions
 * differs. The SIMD kernels add at most ROWS (32) values of a column, or about 16 strips of 4 values
 * of a row (a chain of about 18 additions), in float32 before float64 takes over: a relative error
 * of at most about ROWS float32 roundings.
 */
const JS_TOL = 1e-12;
const SIMD_TOL = ROWS * 2 ** -24;

describe('block sums equal the sums of the dequantized values', () => {
  const paths = (type: number) => (hasSimdSums(type) ? [{ simd: true, tol: SIMD_TOL }, { simd: false, tol: JS_TOL }] : [{ simd: false, tol: JS_TOL }]);
  for (const type of TYPES) for (const { simd, tol } of paths(type)) {
    test(`${typeName(type)}${simd ? ' (WebAssembly SIMD)' : hasSimdSums(type) ? ' (JavaScript)' : ''}`, (t) => {
      setSimdBlockSums(simd);
      t.after(() => setSimdBlockSums(true));
      assert.ok(hasBlockSums(type));
      const { blockSize } = typeTraits(type);
      const shapes = blockSize === 32 ? [...SHAPES, ...SMALL_BLOCK_SHAPES] : SHAPES;
      for (const seed of SEEDS) {
        for (const [n0, n1] of shapes) {
          const what = `${typeName(type)} seed ${seed} [${n1} x ${n0}]`;
          const bytes = stored(type, testData(seed * 100 + type, n1, n0), n1, n0);
          const rowBytes = bytesFor(type, n0);
          const t = { type, dims: [n0, n1], nElements: n0 * n1, name: 'x' };
          const got = tensorBlockSums(t, (start, count) => bytes.subarray(start * rowBytes, (start + count) * rowBytes));
          // the elements are ggml's float32 values exactly: only the order of additions differs
          const ours = plainSums(n0, n1, (start, count) => dequantizeRows(type, bytes.subarray(start * rowBytes), count * n0));
          assertSumsAgree(got, ours, `${what} vs reference`, tol);
          const ggml = type === GgmlType.F32 ? new Float32Array(bytes.slice().buffer) : ggmlToFloat(native, type, bytes, n0 * n1);
          const theirs = plainSums(n0, n1, (start, count) => ggml.subarray(start * n0, (start + count) * n0));
          assertSumsAgree(got, theirs, `${what} vs ggml to_float`, tol);
          // the data is not trivial: every axis has non-zero sums somewhere
          assert.ok(got.rows.sumAbs.some((v) => v > 0) && got.cols.sumSq.some((v) => v > 0), what);
        }
      }
    });
  }

  test('the WebAssembly SIMD kernels run here (Q8_0, Q4_K, Q6_K)', () => {
    for (const type of [GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K]) assert.ok(hasSimdSums(type), `${typeName(type)}: WebAssembly SIMD runs in Node and VS Code`);
  });

  test('rows are read in chunks: a tensor larger than one chunk sums the same as in one piece', () => {
    const type = GgmlType.Q4_K;
    const n0 = 4096;
    const n1 = 4099; // 16 MB chunks of 2304-byte rows: two chunks, an odd last one
    const bytes = stored(type, testData(5, n1, n0), n1, n0);
    const rowBytes = bytesFor(type, n0);
    const reads: number[] = [];
    const t = { type, dims: [n0, n1], nElements: n0 * n1, name: 'big' };
    const got = tensorBlockSums(t, (start, count) => {
      reads.push(count);
      return bytes.subarray(start * rowBytes, (start + count) * rowBytes);
    });
    assert.ok(reads.length >= 1 && reads.reduce((a, b) => a + b) === n1, `reads ${reads.join(',')}`);
    const ours = plainSums(n0, n1, (start, count) => dequantizeRows(type, bytes.subarray(start * rowBytes), count * n0));
    assertSumsAgree(got, ours, 'Q4_K 4099 x 4096', SIMD_TOL);
    // read in place, as from a file: the SIMD path reads about 1 MB at a time
    const into: number[] = [];
    const inPlace = tensorBlockSums(t, () => assert.fail('readRows is not used when rows can be read in place'), (start, count, dst) => {
      into.push(count);
      dst.set(bytes.subarray(start * rowBytes, (start + count) * rowBytes));
    });
    assert.ok(into.length > 2 && into.reduce((a, b) => a + b) === n1, `in place: ${into.length} reads`);
    assertSumsAgree(inPlace, ours, 'Q4_K 4099 x 4096, read in place', SIMD_TOL);
  });

  /**
   * Blocks written byte by byte, with what ggml's quantizer rarely writes but a file may hold:
   * d = 0 or dmin = 0, negative d and dmin, Q4_K sub-blocks whose offset falls exactly on a quant
   * value (dmin = d and m = sc·k: x = 0 at q = k), Q6_K and Q8_0 quants at -32 and -128 and
   * negative Q6_K scales. Rows long enough for many row flushes, a row count that is not a whole
   * number of kernel groups, and Q8_0 rows whose strips end between two flushes.
   */
  test('hand-written blocks: zero and negative scales, offsets exactly on a quant value', () => {
    const rng = new Rng(77);
    const half = (v: number) => floatToHalf(v);
    const putHalf = (b: Uint8Array, o: number, v: number) => {
      const h = half(v);
      b[o] = h & 0xff;
      b[o + 1] = h >> 8;
    };
    const randomBytes = (b: Uint8Array, o: number, n: number) => {
      for (let i = 0; i < n; i++) b[o + i] = rng.int(256);
    };
    const writers: Record<number, { blockBytes: number; blockElements: number; write(b: Uint8Array, o: number, mode: number): void }> = {
      [GgmlType.Q4_K]: {
        blockBytes: 144,
        blockElements: 256,
        write(b, o, mode) {
          const d = mode === 2 ? 0 : (rng.uniform() < 0.2 ? -1 : 1) * 10 ** (-3 * rng.uniform());
          const dmin = mode === 1 ? d : mode === 3 ? 0 : (rng.uniform() < 0.2 ? -1 : 1) * 10 ** (-3 * rng.uniform());
          putHalf(b, o, d);
          putHalf(b, o + 2, mode === 1 ? d : dmin);
          const sc: number[] = [], m: number[] = [];
          for (let j = 0; j < 8; j++) {
            if (mode === 1) {
              // m = sc·k: the sub-block's values are d·sc·(q − k), exactly 0 at q = k
              const k = rng.int(16);
              const s = 1 + rng.int(Math.min(63, Math.floor(63 / Math.max(k, 1))));
              sc.push(s);
              m.push(s * k);
            } else {
              sc.push(rng.int(64));
              m.push(rng.int(64));
            }
          }
          // ggml's get_scale_min_k4 layout
          for (let j = 0; j < 4; j++) {
            b[o + 4 + j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
            b[o + 8 + j] = m[j]! | ((m[j + 4]! >> 4) << 6);
            b[o + 12 + j] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
          }
          randomBytes(b, o + 16, 128);
        },
      },
      [GgmlType.Q6_K]: {
        blockBytes: 210,
        blockElements: 256,
        write(b, o, mode) {
          randomBytes(b, o, 208); // quants 0..63 (values -32..31) and signed scales, -128 included
          if (mode === 1) b.fill(0, o, o + 192); // every quant at -32
          putHalf(b, o + 208, mode === 2 ? 0 : (rng.uniform() < 0.3 ? -1 : 1) * 10 ** (-4 * rng.uniform()));
        },
      },
      [GgmlType.Q8_0]: {
        blockBytes: 34,
        blockElements: 32,
        write(b, o, mode) {
          putHalf(b, o, mode === 2 ? 0 : (rng.uniform() < 0.3 ? -1 : 1) * 10 ** (-3 * rng.uniform()));
          randomBytes(b, o + 2, 32);
          if (mode === 1) b.fill(0x80, o + 2, o + 34); // every quant at -128
        },
      },
    };
    for (const type of [GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0]) {
      const w = writers[type]!;
      const n0 = type === GgmlType.Q8_0 ? 32 * 73 : 256 * 9; // Q8_0: 146 strips a row, the last flush after 2
      const n1 = 70; // two whole kernel groups and a short one
      const bytes = new Uint8Array(bytesFor(type, n0) * n1);
      for (let o = 0; o < bytes.length; o += w.blockBytes) w.write(bytes, o, rng.int(4));
      const rowBytes = bytesFor(type, n0);
      const t = { type, dims: [n0, n1], nElements: n0 * n1, name: 'x' };
      const got = tensorBlockSums(t, (start, count) => bytes.subarray(start * rowBytes, (start + count) * rowBytes));
      const ggml = ggmlToFloat(native, type, bytes, n0 * n1);
      const theirs = plainSums(n0, n1, (start, count) => ggml.subarray(start * n0, (start + count) * n0));
      assertSumsAgree(got, theirs, `${typeName(type)} hand-written vs ggml to_float`, SIMD_TOL);
      const ours = plainSums(n0, n1, (start, count) => dequantizeRows(type, bytes.subarray(start * rowBytes), count * n0));
      assertSumsAgree(got, ours, `${typeName(type)} hand-written vs reference`, SIMD_TOL);
      // the planted cases are there: exact zeros among non-zero values, and negative values
      assert.ok(ggml.some((v) => v === 0) && ggml.some((v) => v < 0) && ggml.some((v) => v > 0), typeName(type));
      if (type === GgmlType.Q4_K) {
        // a sub-block of mode 1 has x = 0 exactly where q = k while its other values are not 0
        let onThreshold = 0;
        for (let i = 0; i + 32 <= ggml.length; i += 32) {
          const sub = ggml.subarray(i, i + 32);
          if (sub.some((v) => v === 0) && sub.some((v) => v > 0) && sub.some((v) => v < 0)) onThreshold++;
        }
        assert.ok(onThreshold > 50, `Q4_K sub-blocks with zeros between signs: ${onThreshold}`);
      }
    }
  });

  test('a type without block sums is refused with its name', () => {
    const t = { type: GgmlType.IQ4_XS, dims: [256, 2], nElements: 512, name: 'blk.0.attn_q.weight' };
    assert.ok(!hasBlockSums(GgmlType.IQ4_XS));
    assert.throws(() => tensorBlockSums(t, () => new Uint8Array(0)), /IQ4_XS.*blk\.0\.attn_q\.weight/);
  });

  /** A scratch folder for a test that changes the thread count: afterwards the count is restored, the workers stopped, the folder removed. */
  function threadTestFolder(t: TestContext): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'block-sums-'));
    t.after(async () => {
      setBlockSumThreads(os.availableParallelism());
      await stopBlockSumThreads();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    return dir;
  }

  test('split over worker threads, a tensor of a file sums the same as in one thread, for SIMD and JavaScript types', async (t) => {
    const dir = threadTestFolder(t);
    // 1 KB of other bytes first: the tensor starts at an offset inside the file, as in a GGUF
    const base = 1024;
    for (const type of [GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.Q6_K, GgmlType.Q5_0, GgmlType.F16]) {
      const n0 = 2048;
      const n1 = 1043; // not a multiple of 16 or of the thread count: the last part is short
      const bytes = stored(type, testData(11 + type, n1, n0), n1, n0);
      const file = path.join(dir, `${typeName(type)}.bin`);
      fs.writeFileSync(file, Buffer.concat([Buffer.alloc(base, 7), bytes]));
      const shape = { type, dims: [n0, n1], nElements: n0 * n1, name: `x.${typeName(type)}` };
      const rowBytes = bytesFor(type, n0);
      const ours = plainSums(n0, n1, (start, count) => dequantizeRows(type, bytes.subarray(start * rowBytes), count * n0));
      setBlockSumThreads(1);
      const one = parallelFileSums(file, base, shape, fileRangeSums);
      setBlockSumThreads(3); // two workers and this thread, on any machine
      assert.equal(blockSumThreads(), 3);
      const three = parallelFileSums(file, base, shape, fileRangeSums);
      const tol = hasSimdSums(type) ? SIMD_TOL : JS_TOL;
      assertSumsAgree(three, ours, `${typeName(type)} in 3 threads vs reference`, tol);
      // rows are summed by the same kernel in any thread: identical; the columns' float32 partials
      // (SIMD) start at other rows, so columns agree to the kernels' rounding
      assert.deepEqual(three.rows.sumAbs, one.rows.sumAbs, `${typeName(type)} row sums`);
      assertSumsAgree(three, one, `${typeName(type)} 3 threads vs 1`, tol);
    }
  });

  test('a worker that fails reports the tensor and the reason', async (t) => {
    const dir = threadTestFolder(t);
    const n0 = 2048, n1 = 1024;
    const file = path.join(dir, 'short.bin');
    fs.writeFileSync(file, Buffer.alloc(bytesFor(GgmlType.Q8_0, n0) * 600)); // the second half is missing
    setBlockSumThreads(2);
    const shape = { type: GgmlType.Q8_0, dims: [n0, n1], nElements: n0 * n1, name: 'blk.3.ffn_up.weight' };
    assert.throws(() => parallelFileSums(file, 0, shape, fileRangeSums), /blk\.3\.ffn_up\.weight, rows 512\.\.1023: .*unexpected end of file/);
  });
});
