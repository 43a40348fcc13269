// Dequantization of the ggml block formats Llama GGUF files use, bit-identical to ggml's own
// `to_float` (test/integration/dequantOracle.test.ts checks every type on random data). Each
// float operation of ggml's C code is rounded to float32 here with Math.fround, in the same order.
import { GgufError } from './errors';
import { GgmlType, bytesFor, typeName, typeTraits } from './ggmlTypes';
import { bf16ToFloat, halfTableView } from '../util/half';

const fr = Math.fround;

type RowDecoder = (src: Uint8Array, dv: DataView, out: Float32Array, nBlocks: number, half: Float32Array) => void;

const DECODERS: ReadonlyMap<number, RowDecoder> = new Map<number, RowDecoder>([
  [GgmlType.F32, (src, _dv, out) => out.set(new Float32Array(src.slice().buffer, 0, out.length))],
  [GgmlType.F16, (_src, dv, out, _n, half) => {
    for (let i = 0; i < out.length; i++) out[i] = half[dv.getUint16(2 * i, true)]!;
  }],
  [GgmlType.BF16, (_src, dv, out) => {
    for (let i = 0; i < out.length; i++) out[i] = bf16ToFloat(dv.getUint16(2 * i, true));
  }],
  [GgmlType.Q8_0, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 34;
      const d = half[dv.getUint16(o, true)]!;
      for (let j = 0; j < 32; j++) out[i * 32 + j] = ((src[o + 2 + j]! << 24) >> 24) * d;
    }
  }],
  [GgmlType.Q4_0, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 18;
      const d = half[dv.getUint16(o, true)]!;
      for (let j = 0; j < 16; j++) {
        const q = src[o + 2 + j]!;
        out[i * 32 + j] = ((q & 0x0f) - 8) * d;
        out[i * 32 + j + 16] = ((q >> 4) - 8) * d;
      }
    }
  }],
  [GgmlType.Q4_1, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 20;
      const d = half[dv.getUint16(o, true)]!;
      const m = half[dv.getUint16(o + 2, true)]!;
      for (let j = 0; j < 16; j++) {
        const q = src[o + 4 + j]!;
        out[i * 32 + j] = fr(fr((q & 0x0f) * d) + m);
        out[i * 32 + j + 16] = fr(fr((q >> 4) * d) + m);
      }
    }
  }],
  [GgmlType.Q5_0, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 22;
      const d = half[dv.getUint16(o, true)]!;
      const qh = dv.getUint32(o + 2, true);
      for (let j = 0; j < 16; j++) {
        const q = src[o + 6 + j]!;
        const xh0 = ((qh >>> j) << 4) & 0x10;
        const xh1 = (qh >>> (j + 12)) & 0x10;
        out[i * 32 + j] = (((q & 0x0f) | xh0) - 16) * d;
        out[i * 32 + j + 16] = (((q >> 4) | xh1) - 16) * d;
      }
    }
  }],
  [GgmlType.Q5_1, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 24;
      const d = half[dv.getUint16(o, true)]!;
      const m = half[dv.getUint16(o + 2, true)]!;
      const qh = dv.getUint32(o + 4, true);
      for (let j = 0; j < 16; j++) {
        const q = src[o + 8 + j]!;
        const xh0 = ((qh >>> j) << 4) & 0x10;
        const xh1 = (qh >>> (j + 12)) & 0x10;
        out[i * 32 + j] = fr(fr(((q & 0x0f) | xh0) * d) + m);
        out[i * 32 + j + 16] = fr(fr(((q >> 4) | xh1) * d) + m);
      }
    }
  }],
  [GgmlType.Q2_K, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 84;
      const d = half[dv.getUint16(o + 80, true)]!;
      const min = half[dv.getUint16(o + 82, true)]!;
      let y = i * 256;
      let is = 0;
      for (let n = 0; n < 256; n += 128) {
        const q = o + 16 + n / 4;
        for (let shift = 0; shift < 8; shift += 2) {
          for (const half16 of [0, 16]) {
            const sc = src[o + is++]!;
            const dl = fr(d * (sc & 0xf));
            const ml = fr(min * (sc >> 4));
            for (let l = 0; l < 16; l++) out[y++] = fr(fr(dl * ((src[q + l + half16]! >> shift) & 3)) - ml);
          }
        }
      }
    }
  }],
  [GgmlType.Q3_K, (src, dv, out, nb, half) => {
    const scales = new Int8Array(16);
    for (let i = 0; i < nb; i++) {
      const o = i * 110;
      const dAll = half[dv.getUint16(o + 108, true)]!;
      const a0 = dv.getUint32(o + 96, true);
      const a1 = dv.getUint32(o + 100, true);
      const tmp = dv.getUint32(o + 104, true);
      const k1 = 0x03030303;
      const k2 = 0x0f0f0f0f;
      const aux = [
        (a0 & k2) | (((tmp >>> 0) & k1) << 4),
        (a1 & k2) | (((tmp >>> 2) & k1) << 4),
        ((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4),
        ((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4),
      ];
      for (let w = 0; w < 4; w++) for (let b = 0; b < 4; b++) scales[w * 4 + b] = (aux[w]! >>> (8 * b)) & 0xff;
      let y = i * 256;
      let is = 0;
      let m = 1;
      for (let n = 0; n < 256; n += 128) {
        const q = o + 32 + n / 4;
        for (let shift = 0; shift < 8; shift += 2) {
          for (const half16 of [0, 16]) {
            const dl = fr(dAll * (scales[is++]! - 32));
            for (let l = 0; l < 16; l++) {
              const lo = (src[q + l + half16]! >> shift) & 3;
              const hi = src[o + l + half16]! & m ? 0 : 4;
              out[y++] = dl * (lo - hi);
            }
          }
          m <<= 1;
        }
      }
    }
  }],
  [GgmlType.Q4_K, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 144;
      const d = half[dv.getUint16(o, true)]!;
      const min = half[dv.getUint16(o + 2, true)]!;
      let y = i * 256;
      let q = o + 16;
      for (let is = 0; is < 8; is += 2) {
        const [sc1, m1] = scaleMinK4(src, o + 4, is);
        const [sc2, m2] = scaleMinK4(src, o + 4, is + 1);
        const d1 = fr(d * sc1), mm1 = fr(min * m1);
        const d2 = fr(d * sc2), mm2 = fr(min * m2);
        for (let l = 0; l < 32; l++) out[y++] = fr(fr(d1 * (src[q + l]! & 0xf)) - mm1);
        for (let l = 0; l < 32; l++) out[y++] = fr(fr(d2 * (src[q + l]! >> 4)) - mm2);
        q += 32;
      }
    }
  }],
  [GgmlType.Q5_K, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 176;
      const d = half[dv.getUint16(o, true)]!;
      const min = half[dv.getUint16(o + 2, true)]!;
      const qh = o + 16;
      let ql = o + 48;
      let y = i * 256;
      let u1 = 1;
      let u2 = 2;
      for (let is = 0; is < 8; is += 2) {
        const [sc1, m1] = scaleMinK4(src, o + 4, is);
        const [sc2, m2] = scaleMinK4(src, o + 4, is + 1);
        const d1 = fr(d * sc1), mm1 = fr(min * m1);
        const d2 = fr(d * sc2), mm2 = fr(min * m2);
        for (let l = 0; l < 32; l++) out[y++] = fr(fr(d1 * ((src[ql + l]! & 0xf) + (src[qh + l]! & u1 ? 16 : 0))) - mm1);
        for (let l = 0; l < 32; l++) out[y++] = fr(fr(d2 * ((src[ql + l]! >> 4) + (src[qh + l]! & u2 ? 16 : 0))) - mm2);
        ql += 32;
        u1 <<= 2;
        u2 <<= 2;
      }
    }
  }],
  [GgmlType.Q6_K, (src, dv, out, nb, half) => {
    for (let i = 0; i < nb; i++) {
      const o = i * 210;
      const d = half[dv.getUint16(o + 208, true)]!;
      let ql = o;
      let qh = o + 128;
      let sc = o + 192;
      let y = i * 256;
      for (let n = 0; n < 256; n += 128) {
        for (let l = 0; l < 32; l++) {
          const is = l >> 4;
          const h = src[qh + l]!;
          const q1 = ((src[ql + l]! & 0xf) | (((h >> 0) & 3) << 4)) - 32;
          const q2 = ((src[ql + l + 32]! & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((src[ql + l]! >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((src[ql + l + 32]! >> 4) | (((h >> 6) & 3) << 4)) - 32;
          out[y + l] = fr(d * int8(src[sc + is]!)) * q1;
          out[y + l + 32] = fr(d * int8(src[sc + is + 2]!)) * q2;
          out[y + l + 64] = fr(d * int8(src[sc + is + 4]!)) * q3;
          out[y + l + 96] = fr(d * int8(src[sc + is + 6]!)) * q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
      }
    }
  }],
]);

function int8(b: number): number {
  return (b << 24) >> 24;
}

/** ggml's get_scale_min_k4: 6-bit scale and min number j of a K-quant super-block. */
function scaleMinK4(src: Uint8Array, q: number, j: number): [number, number] {
  if (j < 4) return [src[q + j]! & 63, src[q + j + 4]! & 63];
  return [(src[q + j + 4]! & 0xf) | ((src[q + j - 4]! >> 6) << 4), (src[q + j + 4]! >> 4) | ((src[q + j]! >> 6) << 4)];
}

export const DEQUANTIZABLE_TYPES: readonly number[] = [...DECODERS.keys()];

export function isDequantizable(type: number): boolean {
  return DECODERS.has(type);
}

/** Float32 values of `nElements` consecutive elements stored as `type` in `bytes`. */
export function dequantizeRows(type: number, bytes: Uint8Array, nElements: number, out = new Float32Array(nElements)): Float32Array {
  const decode = DECODERS.get(type);
  if (!decode) throw new GgufError('unsupported-tensor-type', typeName(type), 0, `unsupported tensor type ${typeName(type)}: this build reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K and Q6_K`);
  const need = bytesFor(type, nElements);
  if (bytes.byteLength < need) throw new RangeError(`${typeName(type)}: ${nElements} elements need ${need} bytes, got ${bytes.byteLength}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, need);
  const target = out.length === nElements ? out : out.subarray(0, nElements);
  decode(bytes, dv, target, nElements / typeTraits(type).blockSize, halfTableView());
  return target;
}
