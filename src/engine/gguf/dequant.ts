// Dequantization of the ggml block formats Llama GGUF files use, bit-identical to ggml's own
// `to_float` (test/integration/dequantOracle.test.ts checks every type on random data). Each
// float operation of ggml's C code is rounded to float32 here with Math.fround, in the same order;
// a product of a float32 and a small integer is exact in double, so one rounding on store suffices.
// F16 and BF16 are decoded as bit patterns (never through a JS number), so NaN payloads and
// signalling NaNs come out exactly as ggml's integer code makes them.
// These loops stream whole 7B files: no allocation per block, no closures in the inner loops.
import { GgufError } from './errors';
import { GgmlType, bytesFor, typeName, typeTraits } from './ggmlTypes';
import { halfBitsTable, halfTableView } from '../util/half';

const fr = Math.fround;

/** `src` holds exactly the blocks; `out` has room for nBlocks * blockSize floats. */
type RowDecoder = (src: Uint8Array, out: Float32Array, nBlocks: number) => void;

/** the float value of the half at byte o */
function f16(src: Uint8Array, o: number, half: Float32Array): number {
  return half[src[o]! | (src[o + 1]! << 8)]!;
}

function u32le(src: Uint8Array, o: number): number {
  return (src[o]! | (src[o + 1]! << 8) | (src[o + 2]! << 16) | (src[o + 3]! << 24)) >>> 0;
}

function int8(b: number): number {
  return (b << 24) >> 24;
}

/** ggml's get_scale_min_k4 for all 8 sub-blocks of a Q4_K/Q5_K super-block, into sc[0..7], mn[0..7]. */
export function scaleMinK4(src: Uint8Array, q: number, sc: Uint8Array, mn: Uint8Array): void {
  for (let j = 0; j < 4; j++) {
    sc[j] = src[q + j]! & 63;
    mn[j] = src[q + j + 4]! & 63;
  }
  for (let j = 4; j < 8; j++) {
    sc[j] = (src[q + j + 4]! & 0xf) | ((src[q + j - 4]! >> 6) << 4);
    mn[j] = (src[q + j + 4]! >> 4) | ((src[q + j]! >> 6) << 4);
  }
}

const decodeF32: RowDecoder = (src, out) => {
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(src.subarray(0, out.byteLength));
};

/** The source as u16s (copied first when it starts at an odd byte, which a Uint16Array cannot view). */
function u16View(src: Uint8Array, n: number): Uint16Array {
  const s = src.byteOffset % 2 === 0 ? src : src.slice(0, 2 * n);
  return new Uint16Array(s.buffer, s.byteOffset, n);
}

const decodeF16: RowDecoder = (src, out) => {
  const bits = halfBitsTable();
  const o32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const s16 = u16View(src, out.length);
  for (let i = 0; i < o32.length; i++) o32[i] = bits[s16[i]!]!;
};

const decodeBF16: RowDecoder = (src, out) => {
  const o32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  const s16 = u16View(src, out.length);
  for (let i = 0; i < o32.length; i++) o32[i] = s16[i]! << 16;
};

const decodeQ8_0: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  for (let i = 0; i < nb; i++) {
    const o = i * 34;
    const d = f16(src, o, half);
    const y = i * 32;
    for (let j = 0; j < 32; j++) out[y + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
  }
};

const decodeQ4_0: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  for (let i = 0; i < nb; i++) {
    const o = i * 18;
    const d = f16(src, o, half);
    const y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j]!;
      out[y + j] = ((q & 0x0f) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
};

const decodeQ4_1: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  for (let i = 0; i < nb; i++) {
    const o = i * 20;
    const d = f16(src, o, half);
    const m = f16(src, o + 2, half);
    const y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j]!;
      out[y + j] = fr((q & 0x0f) * d) + m;
      out[y + j + 16] = fr((q >> 4) * d) + m;
    }
  }
};

const decodeQ5_0: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < nb; i++) {
    const o = i * 22;
    const d = f16(src, o, half);
    const qh = dv.getUint32(o + 2, true);
    const y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j]!;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = (((q & 0x0f) | xh0) - 16) * d;
      out[y + j + 16] = (((q >> 4) | xh1) - 16) * d;
    }
  }
};

const decodeQ5_1: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let i = 0; i < nb; i++) {
    const o = i * 24;
    const d = f16(src, o, half);
    const m = f16(src, o + 2, half);
    const qh = dv.getUint32(o + 4, true);
    const y = i * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j]!;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      out[y + j] = fr(((q & 0x0f) | xh0) * d) + m;
      out[y + j + 16] = fr(((q >> 4) | xh1) * d) + m;
    }
  }
};

const decodeQ2_K: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  for (let i = 0; i < nb; i++) {
    const o = i * 84;
    const d = f16(src, o + 80, half);
    const min = f16(src, o + 82, half);
    let y = i * 256;
    let is = o;
    for (let n = 0; n < 256; n += 128) {
      const q = o + 16 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let h = 0; h < 32; h += 16) {
          const sc = src[is++]!;
          const dl = fr(d * (sc & 0xf));
          const ml = fr(min * (sc >> 4));
          for (let l = 0; l < 16; l++) out[y++] = fr(dl * ((src[q + l + h]! >> shift) & 3)) - ml;
        }
      }
    }
  }
};

const decodeQ3_K: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  const scales = new Int8Array(16);
  const k1 = 0x03030303;
  const k2 = 0x0f0f0f0f;
  for (let i = 0; i < nb; i++) {
    const o = i * 110;
    const dAll = f16(src, o + 108, half);
    const a0 = u32le(src, o + 96);
    const a1 = u32le(src, o + 100);
    const tmp = u32le(src, o + 104);
    // ggml's kmask unpacking of the 12 scale bytes into 16 6-bit signed scales
    const w0 = (a0 & k2) | ((tmp & k1) << 4);
    const w1 = (a1 & k2) | (((tmp >>> 2) & k1) << 4);
    const w2 = ((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4);
    const w3 = ((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4);
    for (let b = 0; b < 4; b++) {
      scales[b] = w0 >>> (8 * b);
      scales[4 + b] = w1 >>> (8 * b);
      scales[8 + b] = w2 >>> (8 * b);
      scales[12 + b] = w3 >>> (8 * b);
    }
    let y = i * 256;
    let is = 0;
    let bit = 0; // ggml's hmask bit m = 1 << bit: a set bit means "do not subtract 4"
    for (let n = 0; n < 256; n += 128) {
      const q = o + 32 + n / 4;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let h = 0; h < 32; h += 16) {
          const dl = fr(dAll * (scales[is++]! - 32));
          for (let l = 0; l < 16; l++) {
            const lo = (src[q + l + h]! >> shift) & 3;
            const keep = (src[o + l + h]! >> bit) & 1;
            out[y++] = dl * (lo - 4 + (keep << 2));
          }
        }
        bit++;
      }
    }
  }
};

const decodeQ4_K: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    const d = f16(src, o, half);
    const min = f16(src, o + 2, half);
    scaleMinK4(src, o + 4, sc, mn);
    let y = i * 256;
    let q = o + 16;
    for (let is = 0; is < 8; is += 2) {
      const d1 = fr(d * sc[is]!), m1 = fr(min * mn[is]!);
      const d2 = fr(d * sc[is + 1]!), m2 = fr(min * mn[is + 1]!);
      for (let l = 0; l < 32; l++) {
        const b = src[q + l]!;
        out[y + l] = fr(d1 * (b & 0xf)) - m1;
        out[y + l + 32] = fr(d2 * (b >> 4)) - m2;
      }
      y += 64;
      q += 32;
    }
  }
};

const decodeQ5_K: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  for (let i = 0; i < nb; i++) {
    const o = i * 176;
    const d = f16(src, o, half);
    const min = f16(src, o + 2, half);
    scaleMinK4(src, o + 4, sc, mn);
    const qh = o + 16;
    let ql = o + 48;
    let y = i * 256;
    // u1 = 1 << (is), u2 = 2 << (is) in ggml: the high bit of element l of sub-block is is bit `is` of qh[l]
    for (let is = 0; is < 8; is += 2) {
      const d1 = fr(d * sc[is]!), m1 = fr(min * mn[is]!);
      const d2 = fr(d * sc[is + 1]!), m2 = fr(min * mn[is + 1]!);
      for (let l = 0; l < 32; l++) {
        const b = src[ql + l]!;
        const h = src[qh + l]! >> is;
        out[y + l] = fr(d1 * ((b & 0xf) | ((h & 1) << 4))) - m1;
        out[y + l + 32] = fr(d2 * ((b >> 4) | ((h & 2) << 3))) - m2;
      }
      y += 64;
      ql += 32;
    }
  }
};

const decodeQ6_K: RowDecoder = (src, out, nb) => {
  const half = halfTableView();
  for (let i = 0; i < nb; i++) {
    const o = i * 210;
    const d = f16(src, o + 208, half);
    let ql = o;
    let qh = o + 128;
    let sc = o + 192;
    let y = i * 256;
    for (let n = 0; n < 256; n += 128) {
      // ggml computes d * sc[is] (a float) then times q; sc[is] is the same for 16 elements
      const s0 = fr(d * int8(src[sc]!)), s1 = fr(d * int8(src[sc + 1]!));
      const s2 = fr(d * int8(src[sc + 2]!)), s3 = fr(d * int8(src[sc + 3]!));
      const s4 = fr(d * int8(src[sc + 4]!)), s5 = fr(d * int8(src[sc + 5]!));
      const s6 = fr(d * int8(src[sc + 6]!)), s7 = fr(d * int8(src[sc + 7]!));
      for (let l = 0; l < 32; l++) {
        const hi = l >= 16;
        const h = src[qh + l]!;
        const a = src[ql + l]!;
        const b = src[ql + l + 32]!;
        out[y + l] = (hi ? s1 : s0) * (((a & 0xf) | ((h & 3) << 4)) - 32);
        out[y + l + 32] = (hi ? s3 : s2) * (((b & 0xf) | (((h >> 2) & 3) << 4)) - 32);
        out[y + l + 64] = (hi ? s5 : s4) * (((a >> 4) | (((h >> 4) & 3) << 4)) - 32);
        out[y + l + 96] = (hi ? s7 : s6) * (((b >> 4) | (((h >> 6) & 3) << 4)) - 32);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
};

const DECODERS: ReadonlyMap<number, RowDecoder> = new Map<number, RowDecoder>([
  [GgmlType.F32, decodeF32],
  [GgmlType.F16, decodeF16],
  [GgmlType.BF16, decodeBF16],
  [GgmlType.Q8_0, decodeQ8_0],
  [GgmlType.Q4_0, decodeQ4_0],
  [GgmlType.Q4_1, decodeQ4_1],
  [GgmlType.Q5_0, decodeQ5_0],
  [GgmlType.Q5_1, decodeQ5_1],
  [GgmlType.Q2_K, decodeQ2_K],
  [GgmlType.Q3_K, decodeQ3_K],
  [GgmlType.Q4_K, decodeQ4_K],
  [GgmlType.Q5_K, decodeQ5_K],
  [GgmlType.Q6_K, decodeQ6_K],
]);

export const DEQUANTIZABLE_TYPES: readonly number[] = [...DECODERS.keys()];

export function isDequantizable(type: number): boolean {
  return DECODERS.has(type);
}

/** Float32 values of `nElements` consecutive elements stored as `type` in `bytes`. */
export function dequantizeRows(type: number, bytes: Uint8Array, nElements: number, out = new Float32Array(nElements)): Float32Array {
  const decode = DECODERS.get(type);
  if (!decode) {
    throw new GgufError('unsupported-tensor-type', typeName(type), 0, `unsupported tensor type ${typeName(type)}: this build reads ${DEQUANTIZABLE_TYPES.map(typeName).join(', ')}`);
  }
  const need = bytesFor(type, nElements);
  if (bytes.byteLength < need) throw new RangeError(`${typeName(type)}: ${nElements} elements need ${need} bytes, got ${bytes.byteLength}`);
  // a short `out` would silently drop values (typed arrays ignore writes past the end)
  if (out.length < nElements) throw new RangeError(`${typeName(type)}: output has room for ${out.length} of ${nElements} values`);
  const target = out.length === nElements ? out : out.subarray(0, nElements);
  decode(bytes.subarray(0, need), target, nElements / typeTraits(type).blockSize);
  return target;
}
