// GGUF metadata values. Numeric arrays are kept as typed arrays (a Llama vocabulary has 32000
// scores and token types); 64-bit integers are bigint so nothing is silently rounded.

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

export type GgufTypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

export type GgufScalar =
  | { type: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 12; value: number }
  | { type: 10 | 11; value: bigint }
  | { type: 7; value: boolean }
  | { type: 8; value: string };

export interface GgufArray {
  type: 9;
  elementType: GgufValueType;
  /** typed array for numbers, boolean[] for BOOL, string[] for STRING, GgufArray[] for nested arrays */
  value: GgufTypedArray | boolean[] | string[] | GgufArray[];
}

export type GgufValue = GgufScalar | GgufArray;

/** Fixed byte size of a scalar type, or 0 for variable-size types (string, array). */
export function scalarSize(t: number): number {
  switch (t) {
    case GgufValueType.UINT8:
    case GgufValueType.INT8:
    case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16:
    case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32:
    case GgufValueType.INT32:
    case GgufValueType.FLOAT32:
      return 4;
    case GgufValueType.UINT64:
    case GgufValueType.INT64:
    case GgufValueType.FLOAT64:
      return 8;
    default:
      return 0;
  }
}

/** Smallest number of bytes one value of type t can take (used to bound counts before allocating). */
export function minValueSize(t: number): number {
  if (t === GgufValueType.STRING) return 8;
  if (t === GgufValueType.ARRAY) return 12;
  return scalarSize(t);
}

export function isValueType(t: number): t is GgufValueType {
  return Number.isInteger(t) && t >= 0 && t <= 12;
}

// Convenience constructors, so fixtures and writers read as data.
export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  u64: (value: bigint): GgufValue => ({ type: GgufValueType.UINT64, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strings: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value }),
  f32s: (value: Float32Array): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.FLOAT32, value }),
  i32s: (value: Int32Array): GgufValue => ({ type: GgufValueType.ARRAY, elementType: GgufValueType.INT32, value }),
};

/** Plain JS view of a value (numbers, bigint, strings, arrays), for display and JSON-ish use. */
export function plainValue(v: GgufValue): unknown {
  if (v.type !== GgufValueType.ARRAY) return v.value;
  const arr = v.value;
  if (Array.isArray(arr)) return (arr as unknown[]).map((x) => (typeof x === 'object' && x !== null ? plainValue(x as GgufValue) : x));
  return Array.from(arr as ArrayLike<number | bigint>);
}
