// Our dequantizers against ggml's own: random data is quantized by ggml (ggml_quantize_chunk),
// then decoded by ggml's type-traits to_float and by dequantizeRows; the float32 results must be
// bit-identical (compared as u32, so -0 vs 0 and NaN payloads count). Also: our float->half and
// float->bfloat16 encoders against ggml's, row-wise access, and the error for types we do not decode.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/engine/llama/backend';
import { ggmlToFloat, type Native } from '../../src/engine/llama/native';
import { ggmlQuantizer } from '../../src/engine/llama/quantize';
import type { Quantizer } from '../../src/engine/gguf/llamaWriter';
import { DEQUANTIZABLE_TYPES, dequantizeRows, isDequantizable } from '../../src/engine/gguf/dequant';
import { GgmlType, KNOWN_TYPES, bytesFor, typeName, typeTraits } from '../../src/engine/gguf/ggmlTypes';
import { floatToBf16, floatToHalf, halfToFloat } from '../../src/engine/util/half';
import { Rng } from '../../src/engine/util/random';

let native: Native;
let quantize: Quantizer;
before(async () => {
  native = (await getBackend()).native;
  quantize = ggmlQuantizer(native);
});

/** ggml's float32 values for `bytes` (F32 has no to_float in ggml: its bytes are the floats). */
function oracle(type: number, bytes: Uint8Array, n: number): Float32Array {
  if (type === GgmlType.F32) return new Float32Array(bytes.slice().buffer, 0, n);
  return ggmlToFloat(native, type, bytes, n);
}

/** Index and description of the first element whose bits differ, or undefined when identical. */
function firstDifference(want: Float32Array, got: Float32Array): string | undefined {
  if (want.length !== got.length) return `lengths ${want.length} vs ${got.length}`;
  const a = new Uint32Array(want.buffer, want.byteOffset, want.length);
  const b = new Uint32Array(got.buffer, got.byteOffset, got.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `element ${i}: ggml ${want[i]} (0x${a[i]!.toString(16)}), ours ${got[i]} (0x${b[i]!.toString(16)})`;
  }
  return undefined;
}

function assertBitIdentical(want: Float32Array, got: Float32Array, what: string): void {
  const diff = firstDifference(want, got);
  assert.equal(diff, undefined, `${what}: first difference at ${diff}`);
}

/**
 * Values that exercise a quantizer: row scales spread over 8 decades, outliers, exact zeros
 * (single values, a whole 32-block and, in row 0, a whole row), signs.
 */
function testData(seed: number, nRows: number, rowLength: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(nRows * rowLength);
  for (let r = 0; r < nRows; r++) {
    if (r === 0 && nRows > 1) continue; // an all-zero row: every scale in it is 0
    const scale = 10 ** (-6 + 7.5 * rng.uniform());
    const zeroBlock = rng.int(rowLength / 32);
    for (let i = 0; i < rowLength; i++) {
      const u = rng.uniform();
      let v = rng.normal() * scale;
      if (u < 0.1 || Math.floor(i / 32) === zeroBlock) v = 0;
      else if (u > 0.985) v *= 100; // outlier: stretches its block's range
      x[r * rowLength + i] = v;
    }
  }
  return x;
}

const SHAPES: ReadonlyArray<readonly [rowLength: number, nRows: number]> = [[256, 7], [512, 13], [256, 1], [512, 2]];
const SEEDS = [1, 2, 3];

describe('dequantizeRows is bit-identical to ggml to_float', () => {
  for (const type of DEQUANTIZABLE_TYPES) {
    test(typeName(type), () => {
      const { blockSize } = typeTraits(type);
      for (const seed of SEEDS) {
        for (const [rowLength, nRows] of SHAPES) {
          assert.equal(rowLength % blockSize, 0);
          const n = rowLength * nRows;
          const data = testData(seed * 1000 + type, nRows, rowLength);
          const bytes = quantize(type, data, nRows, rowLength);
          assert.equal(bytes.byteLength, bytesFor(type, n));
          const what = `${typeName(type)} seed ${seed} [${rowLength} x ${nRows}]`;
          const ours = dequantizeRows(type, bytes, n);
          assertBitIdentical(oracle(type, bytes, n), ours, what);
          // the quantization really happened (guards against comparing zeros with zeros)
          assert.ok(ours.some((v) => v !== 0), `${what}: not all zero`);

          // row-wise access: rows r..r+k decoded alone equal the same slice of the whole
          const rowBytes = bytesFor(type, rowLength);
          for (const [r, k] of [[0, 1], [nRows >> 1, 1], [nRows - 1, 1], [1, nRows - 2], [nRows - 2, 2]] as const) {
            if (r < 0 || k < 1 || r + k > nRows) continue;
            const part = dequantizeRows(type, bytes.subarray(r * rowBytes, (r + k) * rowBytes), k * rowLength);
            assertBitIdentical(ours.subarray(r * rowLength, (r + k) * rowLength), part, `${what} rows ${r}..${r + k}`);
          }
        }
      }
    });
  }
});

describe('dequantizeRows edge cases', () => {
  test('source at an odd byte offset, and a source longer than needed', () => {
    for (const type of DEQUANTIZABLE_TYPES) {
      const n = 512;
      const bytes = quantize(type, testData(7, 2, 256), 2, 256);
      const shifted = new Uint8Array(bytes.byteLength + 3);
      shifted.set(bytes, 1);
      const odd = shifted.subarray(1); // byteOffset 1, and 2 bytes past the data
      assertBitIdentical(dequantizeRows(type, bytes, n), dequantizeRows(type, odd, n), `${typeName(type)} at odd offset`);
    }
  });

  test('an output buffer: larger is used in part, smaller is refused', () => {
    const bytes = quantize(GgmlType.Q4_K, testData(8, 1, 256), 1, 256);
    const big = new Float32Array(300).fill(7);
    const got = dequantizeRows(GgmlType.Q4_K, bytes, 256, big);
    assert.equal(got.length, 256);
    assert.equal(got.buffer, big.buffer);
    assert.equal(big[256], 7, 'past the end untouched');
    assertBitIdentical(oracle(GgmlType.Q4_K, bytes, 256), got, 'Q4_K into a larger buffer');
    assert.throws(() => dequantizeRows(GgmlType.Q4_K, bytes, 256, new Float32Array(255)), RangeError);
    assert.throws(() => dequantizeRows(GgmlType.Q4_K, bytes.subarray(0, 143), 256), RangeError);
  });

  test('every F16 and BF16 bit pattern (NaN payloads, infinities, subnormals) decodes as ggml does', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i;
    const bytes = new Uint8Array(all.buffer);
    for (const type of [GgmlType.F16, GgmlType.BF16]) {
      assertBitIdentical(ggmlToFloat(native, type, bytes, 65536), dequantizeRows(type, bytes, 65536), `all ${typeName(type)} patterns`);
    }
  });

  test('types we do not decode say "unsupported tensor type <NAME>"', () => {
    const unsupported = KNOWN_TYPES.filter((t) => !DEQUANTIZABLE_TYPES.includes(t));
    for (const name of ['IQ2_XXS', 'IQ4_NL', 'TQ1_0', 'IQ4_XS', 'MXFP4', 'Q8_K']) {
      assert.ok(unsupported.some((t) => typeName(t) === name), `${name} is among the types we do not decode`);
    }
    for (const type of unsupported) {
      const { blockSize, typeSize } = typeTraits(type);
      assert.equal(isDequantizable(type), false);
      assert.throws(
        () => dequantizeRows(type, new Uint8Array(typeSize), blockSize),
        (e: Error) => e.message.includes(`unsupported tensor type ${typeName(type)}`),
        typeName(type),
      );
    }
  });
});

describe('float -> half / bfloat16 encoders match ggml_quantize_chunk', () => {
  /** ggml's encoding of `x` to F16 or BF16, as u16 bits. */
  function ggmlEncode(type: number, x: Float32Array): Uint16Array {
    const out = quantize(type, x, 1, x.length);
    return new Uint16Array(out.buffer, out.byteOffset, x.length);
  }

  function compare(type: number, x: Float32Array, encode: (v: number) => number, what: string): void {
    const want = ggmlEncode(type, x);
    const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
    for (let i = 0; i < x.length; i++) {
      const got = encode(x[i]!);
      if (got !== want[i]) {
        assert.fail(`${what}: input ${x[i]} (0x${bits[i]!.toString(16)}) at ${i}: ggml 0x${want[i]!.toString(16)}, ours 0x${got.toString(16)}`);
      }
    }
  }

  /** Special values by their float32 bits. */
  const SPECIAL_BITS = [
    0x00000000, 0x80000000, // ±0
    0x7f800000, 0xff800000, // ±inf
    0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7fa00000, // NaNs: quiet, signalling, payloads
    0x00000001, 0x807fffff, 0x00800000, // float subnormals and the smallest normal
    0x477fe000, // 65504, largest half
    0x477fefff, 0x477ff000, 0x477ff001, // just below, at and above the overflow tie (65520)
    0x33000000, 0x33000001, 0x33400000, 0x32ffffff, // 2^-25 (tie to 0), above it, 1.5 * 2^-25, below it
    0x33800000, 0x38800000, 0x387fc000, // 2^-24 (smallest half subnormal), 2^-14 (smallest half normal), largest subnormal
    0x3f801000, 0x3f803000, 0x3f800fff, 0x3f801001, // 1 + 2^-11 (tie, stays even), 1 + 3*2^-11 (tie, goes up), neighbours
    0x3f808000, 0x3f818000, 0x3f807fff, 0x3f808001, // bf16 ties at 1 + 2^-8 (stays even), 1 + 3*2^-8 (goes up), neighbours
    0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, // largest float: rounds to inf in bf16; the tie below it
  ];

  test('special values: zeros, infinities, NaNs, subnormals, overflow and ties', () => {
    const x = new Float32Array(new Uint32Array(SPECIAL_BITS).buffer);
    compare(GgmlType.F16, x, floatToHalf, 'F16');
    compare(GgmlType.BF16, x, floatToBf16, 'BF16');
  });

  test('F16: every half, the midpoints to its neighbour and one float ulp either side, both signs', () => {
    const bits: number[] = [];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let h = 0; h < 0x7c00; h++) {
      f[0] = halfToFloat(h);
      const lo = u[0]!;
      f[0] = (halfToFloat(h) + halfToFloat(h + 1)) / 2; // exact: 12 significant bits
      const mid = u[0]!;
      for (const b of [lo, mid - 1, mid, mid + 1]) bits.push(b, (b | 0x80000000) >>> 0);
    }
    const x = new Float32Array(new Uint32Array(bits).buffer);
    compare(GgmlType.F16, x, floatToHalf, 'F16 grid');
    // the decoded grid itself: half -> float -> half is the identity on every finite half
    for (let h = 0; h < 0x7c00; h++) assert.equal(floatToHalf(halfToFloat(h)), h);
  });

  test('random float32 bit patterns (every exponent, NaNs included)', () => {
    const rng = new Rng(2024);
    const bits = new Uint32Array(1 << 20);
    for (let i = 0; i < bits.length; i++) bits[i] = rng.u32();
    const x = new Float32Array(bits.buffer);
    compare(GgmlType.F16, x, floatToHalf, 'F16 random');
    compare(GgmlType.BF16, x, floatToBf16, 'BF16 random');
  });
});
