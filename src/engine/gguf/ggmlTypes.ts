// ggml tensor types as numbered in ggml.h of the llama.cpp build node-llama-cpp 3.21.1 ships.
// Block sizes (elements per block) and type sizes (bytes per block) are checked against
// ggml's own `ggml_blck_size` / `ggml_type_size` in test/integration/ggmlTraits.test.ts.

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

interface Traits {
  readonly name: string;
  readonly blockSize: number; // elements per block
  readonly typeSize: number; // bytes per block
}

const QK_K = 256;

const TRAITS: ReadonlyMap<number, Traits> = new Map<number, Traits>([
  [GgmlType.F32, { name: 'F32', blockSize: 1, typeSize: 4 }],
  [GgmlType.F16, { name: 'F16', blockSize: 1, typeSize: 2 }],
  [GgmlType.Q4_0, { name: 'Q4_0', blockSize: 32, typeSize: 18 }],
  [GgmlType.Q4_1, { name: 'Q4_1', blockSize: 32, typeSize: 20 }],
  [GgmlType.Q5_0, { name: 'Q5_0', blockSize: 32, typeSize: 22 }],
  [GgmlType.Q5_1, { name: 'Q5_1', blockSize: 32, typeSize: 24 }],
  [GgmlType.Q8_0, { name: 'Q8_0', blockSize: 32, typeSize: 34 }],
  [GgmlType.Q8_1, { name: 'Q8_1', blockSize: 32, typeSize: 36 }],
  [GgmlType.Q2_K, { name: 'Q2_K', blockSize: QK_K, typeSize: 84 }],
  [GgmlType.Q3_K, { name: 'Q3_K', blockSize: QK_K, typeSize: 110 }],
  [GgmlType.Q4_K, { name: 'Q4_K', blockSize: QK_K, typeSize: 144 }],
  [GgmlType.Q5_K, { name: 'Q5_K', blockSize: QK_K, typeSize: 176 }],
  [GgmlType.Q6_K, { name: 'Q6_K', blockSize: QK_K, typeSize: 210 }],
  [GgmlType.Q8_K, { name: 'Q8_K', blockSize: QK_K, typeSize: 292 }],
  [GgmlType.IQ2_XXS, { name: 'IQ2_XXS', blockSize: QK_K, typeSize: 66 }],
  [GgmlType.IQ2_XS, { name: 'IQ2_XS', blockSize: QK_K, typeSize: 74 }],
  [GgmlType.IQ3_XXS, { name: 'IQ3_XXS', blockSize: QK_K, typeSize: 98 }],
  [GgmlType.IQ1_S, { name: 'IQ1_S', blockSize: QK_K, typeSize: 50 }],
  [GgmlType.IQ4_NL, { name: 'IQ4_NL', blockSize: 32, typeSize: 18 }],
  [GgmlType.IQ3_S, { name: 'IQ3_S', blockSize: QK_K, typeSize: 110 }],
  [GgmlType.IQ2_S, { name: 'IQ2_S', blockSize: QK_K, typeSize: 82 }],
  [GgmlType.IQ4_XS, { name: 'IQ4_XS', blockSize: QK_K, typeSize: 136 }],
  [GgmlType.I8, { name: 'I8', blockSize: 1, typeSize: 1 }],
  [GgmlType.I16, { name: 'I16', blockSize: 1, typeSize: 2 }],
  [GgmlType.I32, { name: 'I32', blockSize: 1, typeSize: 4 }],
  [GgmlType.I64, { name: 'I64', blockSize: 1, typeSize: 8 }],
  [GgmlType.F64, { name: 'F64', blockSize: 1, typeSize: 8 }],
  [GgmlType.IQ1_M, { name: 'IQ1_M', blockSize: QK_K, typeSize: 56 }],
  [GgmlType.BF16, { name: 'BF16', blockSize: 1, typeSize: 2 }],
  [GgmlType.TQ1_0, { name: 'TQ1_0', blockSize: QK_K, typeSize: 54 }],
  [GgmlType.TQ2_0, { name: 'TQ2_0', blockSize: QK_K, typeSize: 66 }],
  [GgmlType.MXFP4, { name: 'MXFP4', blockSize: 32, typeSize: 17 }],
  // newer than most GGUF files, but this build knows them: a file using them opens, and only
  // dequantizing says "unsupported" instead of the whole file being refused
  [GgmlType.NVFP4, { name: 'NVFP4', blockSize: 64, typeSize: 36 }],
  [GgmlType.Q1_0, { name: 'Q1_0', blockSize: 128, typeSize: 18 }],
  [GgmlType.Q2_0, { name: 'Q2_0', blockSize: 64, typeSize: 18 }],
]);

/** Every type id this reader knows the storage layout of. */
export const KNOWN_TYPES: readonly number[] = [...TRAITS.keys()];

export function isKnownType(type: number): boolean {
  return TRAITS.has(type);
}

export function typeTraits(type: number): Traits {
  const t = TRAITS.get(type);
  if (!t) throw new RangeError(`unknown ggml type ${type}`);
  return t;
}

export function typeName(type: number): string {
  return TRAITS.get(type)?.name ?? `type#${type}`;
}

export function typeFromName(name: string): number {
  for (const [id, t] of TRAITS) if (t.name === name.toUpperCase()) return id;
  throw new RangeError(`unknown ggml type name ${name}`);
}

/** Bytes taken by `nElements` consecutive elements; nElements must be a whole number of blocks. */
export function bytesFor(type: number, nElements: number): number {
  const { blockSize, typeSize } = typeTraits(type);
  if (nElements % blockSize !== 0) {
    throw new RangeError(`${typeName(type)} stores elements in blocks of ${blockSize}; ${nElements} is not a multiple`);
  }
  return (nElements / blockSize) * typeSize;
}
