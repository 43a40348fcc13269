// IEEE half and bfloat16 conversions. Half to float is exact, so a table gives ggml's values bit
// for bit; float to half and to bfloat16 round to nearest even as ggml's encoders do
// (test/integration/dequantOracle.test.ts compares them with ggml_quantize_chunk, NaNs and ties included).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let halfBits: Uint32Array | undefined;
let halfTable: Float32Array | undefined;

/**
 * float32 bit patterns of all 65536 halves, as ggml's fp16-to-fp32 makes them: exact values, NaN
 * payloads kept and signalling NaNs quieted (ggml's generic path multiplies by 2^-112, F16C and
 * ARM's converters quiet them too).
 */
function buildHalfBits(): Uint32Array {
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      f32[0] = frac * 2 ** -24; // subnormal half: exact in float32, normalised there
      t[h] = (sign | u32[0]!) >>> 0;
    } else if (exp === 31) {
      t[h] = (sign | 0x7f800000 | (frac << 13) | (frac ? 0x400000 : 0)) >>> 0;
    } else {
      t[h] = (sign | ((exp - 15 + 127) << 23) | (frac << 13)) >>> 0;
    }
  }
  return t;
}

/** The bit table above (decode F16 tensors through it to stay bit-exact, NaNs included). */
export function halfBitsTable(): Uint32Array {
  return (halfBits ??= buildHalfBits());
}

/** The float value of half-precision bits. */
export function halfToFloat(h: number): number {
  return halfTableView()[h & 0xffff]!;
}

/** The same table as float32 values (a view of the bit table). */
export function halfTableView(): Float32Array {
  return (halfTable ??= new Float32Array(halfBitsTable().buffer));
}

/** The float values of half-precision bits, exactly (into `out` when given). */
export function halvesToFloats(h: Uint16Array, out = new Float32Array(h.length)): Float32Array {
  const table = halfTableView();
  for (let i = 0; i < h.length; i++) out[i] = table[h[i]!]!;
  return out;
}

/** Round a float to half-precision bits (round to nearest, ties to even). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function bf16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** Round a float to bfloat16 bits (nearest even; NaN kept quiet), as ggml_compute_fp32_to_bf16. */
export function floatToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 64) & 0xffff;
  return ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16) & 0xffff;
}
