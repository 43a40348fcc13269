// Direct kernels for the block sums of the three formats that dominate real files (Q4_K and Q6_K
// in a Q4_K_M file, Q8_0): two rows at a time, the quants read from the bytes and mapped to ggml's
// values (x = a·q − b, a and b float32 as ggml rounds them) in registers, each column sum read and
// written once per two elements. blockSums.ts holds the general path and the reducer.
import type { AxisSums } from '../analysis/weightStats';
import { halfTableView } from '../util/half';
import { scaleMinK4 } from '../gguf/dequant';

const fr = Math.fround;

export interface Sums {
  rows: AxisSums;
  cols: AxisSums;
}

/** Adds the rows at byte offsets o0 and o1 of `src` (nb blocks each) as rows rowIndex, rowIndex + 1. */
export type TwoRowKernel = (src: Uint8Array, o0: number, o1: number, nb: number, s: Sums, rowIndex: number) => void;

/** the float value of the half at byte o */
export function f16(src: Uint8Array, o: number, half: Float32Array): number {
  return half[src[o]! | (src[o + 1]! << 8)]!;
}


/** Q4_K, two rows at a time, straight from the bytes (no planes). */
export function q4kTwoRows(src: Uint8Array, o0: number, o1: number, nb: number, s: Sums, rowIndex: number): void {
  const half = halfTableView();
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  const sc = new Uint8Array(8);
  const mn = new Uint8Array(8);
  const A0 = new Float64Array(8), B0 = new Float64Array(8), A1 = new Float64Array(8), B1 = new Float64Array(8);
  let rs0 = 0, rq0 = 0, ra0 = 0, rs1 = 0, rq1 = 0, ra1 = 0;
  for (let i = 0; i < nb; i++, o0 += 144, o1 += 144) {
    let d = f16(src, o0, half), min = f16(src, o0 + 2, half);
    scaleMinK4(src, o0 + 4, sc, mn);
    for (let k = 0; k < 8; k++) { A0[k] = fr(d * sc[k]!); B0[k] = fr(min * mn[k]!); }
    d = f16(src, o1, half); min = f16(src, o1 + 2, half);
    scaleMinK4(src, o1 + 4, sc, mn);
    for (let k = 0; k < 8; k++) { A1[k] = fr(d * sc[k]!); B1[k] = fr(min * mn[k]!); }
    for (let g = 0; g < 4; g++) {
      const a0l = A0[2 * g]!, b0l = B0[2 * g]!, a0h = A0[2 * g + 1]!, b0h = B0[2 * g + 1]!;
      const a1l = A1[2 * g]!, b1l = B1[2 * g]!, a1h = A1[2 * g + 1]!, b1h = B1[2 * g + 1]!;
      const q0 = o0 + 16 + 32 * g, q1 = o1 + 16 + 32 * g;
      const c0 = i * 256 + 64 * g;
      for (let l = 0; l < 32; l++) {
        const x0 = src[q0 + l]!, x1 = src[q1 + l]!;
        const v00 = fr(fr(a0l * (x0 & 15)) - b0l), v01 = fr(fr(a0h * (x0 >> 4)) - b0h);
        const v10 = fr(fr(a1l * (x1 & 15)) - b1l), v11 = fr(fr(a1h * (x1 >> 4)) - b1h);
        const w00 = v00 * v00, w01 = v01 * v01, w10 = v10 * v10, w11 = v11 * v11;
        const u00 = Math.abs(v00), u01 = Math.abs(v01), u10 = Math.abs(v10), u11 = Math.abs(v11);
        const c = c0 + l;
        colS[c]! += v00 + v10; colQ[c]! += w00 + w10; colA[c]! += u00 + u10;
        colS[c + 32]! += v01 + v11; colQ[c + 32]! += w01 + w11; colA[c + 32]! += u01 + u11;
        rs0 += v00 + v01; rq0 += w00 + w01; ra0 += u00 + u01;
        rs1 += v10 + v11; rq1 += w10 + w11; ra1 += u10 + u11;
      }
    }
  }
  const r = s.rows;
  r.sum[rowIndex] = rs0; r.sumSq[rowIndex] = rq0; r.sumAbs[rowIndex] = ra0;
  r.sum[rowIndex + 1] = rs1; r.sumSq[rowIndex + 1] = rq1; r.sumAbs[rowIndex + 1] = ra1;
}

/** Q8_0, two rows at a time, straight from the bytes. */
export function q80TwoRows(src: Uint8Array, o0: number, o1: number, nb: number, s: Sums, rowIndex: number): void {
  const half = halfTableView();
  const s8 = new Int8Array(src.buffer, src.byteOffset, src.byteLength);
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  let rs0 = 0, rq0 = 0, ra0 = 0, rs1 = 0, rq1 = 0, ra1 = 0;
  for (let i = 0; i < nb; i++, o0 += 34, o1 += 34) {
    const a0 = f16(src, o0, half), a1 = f16(src, o1, half);
    const c0 = i * 32;
    for (let j = 0; j < 32; j++) {
      const v0 = fr(a0 * s8[o0 + 2 + j]!), v1 = fr(a1 * s8[o1 + 2 + j]!);
      const w0 = v0 * v0, w1 = v1 * v1;
      const u0 = Math.abs(v0), u1 = Math.abs(v1);
      colS[c0 + j]! += v0 + v1; colQ[c0 + j]! += w0 + w1; colA[c0 + j]! += u0 + u1;
      rs0 += v0; rq0 += w0; ra0 += u0;
      rs1 += v1; rq1 += w1; ra1 += u1;
    }
  }
  const r = s.rows;
  r.sum[rowIndex] = rs0; r.sumSq[rowIndex] = rq0; r.sumAbs[rowIndex] = ra0;
  r.sum[rowIndex + 1] = rs1; r.sumSq[rowIndex + 1] = rq1; r.sumAbs[rowIndex + 1] = ra1;
}

/** Q6_K, two rows at a time, straight from the bytes. */
export function q6kTwoRows(src: Uint8Array, o0: number, o1: number, nb: number, s: Sums, rowIndex: number): void {
  const half = halfTableView();
  const colS = s.cols.sum;
  const colQ = s.cols.sumSq;
  const colA = s.cols.sumAbs;
  const A0 = new Float64Array(16), A1 = new Float64Array(16);
  let rs0 = 0, rq0 = 0, ra0 = 0, rs1 = 0, rq1 = 0, ra1 = 0;
  for (let i = 0; i < nb; i++, o0 += 210, o1 += 210) {
    const d0 = f16(src, o0 + 208, half), d1 = f16(src, o1 + 208, half);
    for (let k = 0; k < 16; k++) {
      A0[k] = fr(d0 * ((src[o0 + 192 + k]! << 24) >> 24));
      A1[k] = fr(d1 * ((src[o1 + 192 + k]! << 24) >> 24));
    }
    for (let n = 0; n < 2; n++) {
      const ql0 = o0 + 64 * n, qh0 = o0 + 128 + 32 * n, ql1 = o1 + 64 * n, qh1 = o1 + 128 + 32 * n;
      for (let hs = 0; hs < 2; hs++) {
        // elements l, l+32, l+64, l+96 of this half-block use scales is, is+2, is+4, is+6
        const is = 8 * n + hs;
        const e0 = A0[is]!, e1 = A0[is + 2]!, e2 = A0[is + 4]!, e3 = A0[is + 6]!;
        const f0 = A1[is]!, f1 = A1[is + 2]!, f2 = A1[is + 4]!, f3 = A1[is + 6]!;
        const cBase = i * 256 + 128 * n;
        for (let l = 16 * hs; l < 16 * hs + 16; l++) {
          const h0 = src[qh0 + l]!, x0 = src[ql0 + l]!, y0 = src[ql0 + l + 32]!;
          const h1 = src[qh1 + l]!, x1 = src[ql1 + l]!, y1 = src[ql1 + l + 32]!;
          const v00 = fr(e0 * (((x0 & 15) | ((h0 & 3) << 4)) - 32));
          const v01 = fr(e1 * (((y0 & 15) | (((h0 >> 2) & 3) << 4)) - 32));
          const v02 = fr(e2 * (((x0 >> 4) | (((h0 >> 4) & 3) << 4)) - 32));
          const v03 = fr(e3 * (((y0 >> 4) | (((h0 >> 6) & 3) << 4)) - 32));
          const v10 = fr(f0 * (((x1 & 15) | ((h1 & 3) << 4)) - 32));
          const v11 = fr(f1 * (((y1 & 15) | (((h1 >> 2) & 3) << 4)) - 32));
          const v12 = fr(f2 * (((x1 >> 4) | (((h1 >> 4) & 3) << 4)) - 32));
          const v13 = fr(f3 * (((y1 >> 4) | (((h1 >> 6) & 3) << 4)) - 32));
          const c = cBase + l;
          colS[c]! += v00 + v10; colQ[c]! += v00 * v00 + v10 * v10; colA[c]! += Math.abs(v00) + Math.abs(v10);
          colS[c + 32]! += v01 + v11; colQ[c + 32]! += v01 * v01 + v11 * v11; colA[c + 32]! += Math.abs(v01) + Math.abs(v11);
          colS[c + 64]! += v02 + v12; colQ[c + 64]! += v02 * v02 + v12 * v12; colA[c + 64]! += Math.abs(v02) + Math.abs(v12);
          colS[c + 96]! += v03 + v13; colQ[c + 96]! += v03 * v03 + v13 * v13; colA[c + 96]! += Math.abs(v03) + Math.abs(v13);
          rs0 += v00 + v01 + v02 + v03; rq0 += v00 * v00 + v01 * v01 + v02 * v02 + v03 * v03; ra0 += Math.abs(v00) + Math.abs(v01) + Math.abs(v02) + Math.abs(v03);
          rs1 += v10 + v11 + v12 + v13; rq1 += v10 * v10 + v11 * v11 + v12 * v12 + v13 * v13; ra1 += Math.abs(v10) + Math.abs(v11) + Math.abs(v12) + Math.abs(v13);
        }
      }
    }
  }
  const r = s.rows;
  r.sum[rowIndex] = rs0; r.sumSq[rowIndex] = rq0; r.sumAbs[rowIndex] = ra0;
  r.sum[rowIndex + 1] = rs1; r.sumSq[rowIndex + 1] = rq1; r.sumAbs[rowIndex + 1] = ra1;
}
