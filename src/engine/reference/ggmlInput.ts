// What a ggml CPU matrix product actually multiplies a weight with. Before `mul_mat`, ggml
// converts the float activation to the weight type's `vec_dot_type` (type_traits_cpu in
// ggml-cpu.c): F16 for F16 weights, Q8_0 for Q8_0 and the Q4_0 family, Q8_1 for Q4_1/Q5_1, Q8_K
// for the K-quants. Reproducing that rounding here lets a float64 dot product over the
// dequantized weight land within float32 summation error of llama.cpp's own result.
import { GgmlType, typeName } from '../gguf/ggmlTypes';
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from '../util/half';

const fr = Math.fround;

/** ggml-cpu's `vec_dot_type` for a weight type (the types Llama GGUF files use). */
export function vecDotType(weightType: number): number {
  switch (weightType) {
    case GgmlType.F32: return GgmlType.F32;
    case GgmlType.F16: return GgmlType.F16;
    case GgmlType.BF16: return GgmlType.BF16;
    case GgmlType.Q4_0: case GgmlType.Q5_0: case GgmlType.Q8_0: case GgmlType.IQ4_NL: return GgmlType.Q8_0;
    case GgmlType.Q4_1: case GgmlType.Q5_1: return GgmlType.Q8_1;
    case GgmlType.Q2_K: case GgmlType.Q3_K: case GgmlType.Q4_K: case GgmlType.Q5_K: case GgmlType.Q6_K: case GgmlType.IQ4_XS: return GgmlType.Q8_K;
    default: throw new RangeError(`no vec_dot_type known for ${typeName(weightType)}`);
  }
}

export interface DotInputOptions {
  /**
   * The weight sits in the CPU backend's AMX buffer (see cpuExtraBufferTypes in llama/native.ts):
   * ggml-cpu/amx/mmq.cpp multiplies F16 weights with the float32 activation unrounded ("f16 only
   * has avx512 kernels for now"); its quantized kernels round like the generic path.
   */
  amx?: boolean;
}

/**
 * The values a dot product with a `weightType` weight sees in place of `x` (one row whose length
 * is a whole number of blocks): x rounded to the vec_dot_type and read back as floats.
 */
export function asDotInput(weightType: number, x: Float32Array, opts: DotInputOptions = {}): Float32Array {
  if (opts.amx && weightType === GgmlType.F16) return x.slice();
  switch (vecDotType(weightType)) {
    case GgmlType.F32: return x.slice();
    case GgmlType.F16: return x.map((v) => halfToFloat(floatToHalf(v)));
    case GgmlType.BF16: return x.map((v) => bf16ToFloat(floatToBf16(v)));
    case GgmlType.Q8_0: case GgmlType.Q8_1: return roundQ8_0(x);
    case GgmlType.Q8_K: return roundQ8_K(x);
    default: throw new RangeError(`cannot round to ${typeName(vecDotType(weightType))}`);
  }
}

/**
 * Q8_0 as ggml-cpu's x86 `quantize_row_q8_0` (AVX path) makes it: blocks of 32, scale
 * d = max|x| / 127 stored as F16, q = round-half-even(x * (127 / max|x|)). (The reference
 * `quantize_row_q8_0_ref` that ggml_quantize_chunk uses differs in its last bit: it multiplies by
 * 1/d and rounds half away from zero.) Q8_1 quantizes the values the same way.
 */
export function roundQ8_0(x: Float32Array): Float32Array {
  if (x.length % 32 !== 0) throw new RangeError(`Q8_0 needs a multiple of 32 values, got ${x.length}`);
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]!));
    const d = halfToFloat(floatToHalf(fr(amax / 127)));
    const id = amax !== 0 ? fr(127 / amax) : 0;
    for (let j = 0; j < 32; j++) out[b + j] = fr(roundHalfEven(fr(x[b + j]! * id)) * d);
  }
  return out;
}

/**
 * Q8_K as `quantize_row_q8_K_ref` (which the x86 build calls too): blocks of 256, the signed
 * value of largest magnitude `max`, iscale = -127 / max, q = min(127, nearest_int(iscale * x)),
 * d = 1 / iscale kept as float32. ggml_quantize_chunk does not accept Q8_K, hence this copy.
 */
export function roundQ8_K(x: Float32Array): Float32Array {
  if (x.length % 256 !== 0) throw new RangeError(`Q8_K needs a multiple of 256 values, got ${x.length}`);
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 256) {
    let max = 0;
    let amax = 0;
    for (let j = 0; j < 256; j++) {
      const ax = Math.abs(x[b + j]!);
      if (ax > amax) {
        amax = ax;
        max = x[b + j]!;
      }
    }
    if (amax === 0) continue; // block stays 0
    const iscale = fr(-127 / max);
    const d = fr(1 / iscale);
    for (let j = 0; j < 256; j++) out[b + j] = fr(Math.min(127, roundHalfEven(fr(iscale * x[b + j]!))) * d);
  }
  return out;
}

/**
 * ggml's CPU `rms_norm` then `mul` by the gain, float32 step by step as ggml does it: the sum of
 * squares of float32 products accumulated in double, scale = 1 / sqrtf(mean + eps) in float32.
 */
export function ggmlRmsNorm(x: Float32Array, gain: Float32Array, eps: number): Float32Array {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += fr(x[i]! * x[i]!);
  const mean = fr(sum / x.length);
  const scale = fr(1 / fr(Math.sqrt(fr(mean + fr(eps)))));
  return x.map((v, i) => fr(fr(v * scale) * gain[i]!));
}

/** round-half-even, as `nearest_int` and `_mm256_round_ps(_MM_ROUND_NEAREST)` do */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * GELU as ggml-cpu computes it (GGML_GELU_FP16, vec.h): the input rounded to F16, looked up in a
 * table of the float32 tanh formula at every F16 value, the result stored as F16; 0 below -10 and
 * the input itself above 10. The reference forward pass uses it to land on llama.cpp's numbers.
 */
const SQRT_2_OVER_PI = fr(0.79788456080286535587989211986876);
const GELU_COEF_A = fr(0.044715);

export function ggmlGelu(x: number): number {
  const v = fr(x);
  if (v <= -10) return 0;
  if (v >= 10) return v;
  const h = halfToFloat(floatToHalf(v));
  const inner = fr(fr(SQRT_2_OVER_PI * h) * fr(1 + fr(fr(GELU_COEF_A * h) * h)));
  const g = fr(fr(0.5 * h) * fr(1 + fr(Math.tanh(inner))));
  return halfToFloat(floatToHalf(g));
}
