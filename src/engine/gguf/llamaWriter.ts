// Writes a Llama-architecture GGUF from float weights: used by the test fixtures, the demo model
// and the benchmarks. Encoding to F32/F16/BF16 is done here; quantized types go through an
// injected quantizer (ggml's own `ggml_quantize_chunk`, see llama/quantize.ts), so this file
// stays free of native code.
import { GgmlType, bytesFor, typeName } from './ggmlTypes';
import { floatToBf16, floatToHalf } from '../util/half';
import { GgufFile } from './reader';
import { gguf, GgufValueType, type GgufValue } from './values';
import { writeGguf, type TensorToWrite } from './writer';

export interface LlamaShape {
  nVocab: number;
  dModel: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  dFf: number;
  nCtxTrain: number;
  rmsEps: number;
  ropeFreqBase: number;
}

/** Float weights of one tensor, row-major with rows of dims[0] elements. */
export interface FloatTensor {
  name: string;
  dims: number[]; // ggml order
  /** the values, or a producer called when the tensor is written (keeps big models streaming) */
  data: Float32Array | (() => Float32Array);
  type: number;
}

export type Quantizer = (type: number, data: Float32Array, nRows: number, nPerRow: number) => Uint8Array;

export interface LlamaModelSpec {
  shape: LlamaShape;
  name: string;
  description?: string;
  /** `tokenizer.*` metadata (copied from the Llama-2 vocabulary GGUF) */
  tokenizer: ReadonlyMap<string, GgufValue>;
  tensors: FloatTensor[];
  extraMetadata?: ReadonlyArray<readonly [string, GgufValue]>;
  quantize?: Quantizer;
}

/** The `tokenizer.*` entries of a vocabulary GGUF. */
export function readTokenizerMetadata(vocabPath: string): Map<string, GgufValue> {
  const f = GgufFile.open(vocabPath);
  try {
    return new Map([...f.metadata].filter(([k]) => k.startsWith('tokenizer.')));
  } finally {
    f.close();
  }
}

/** Tensor names and shapes of a Llama model (ggml order: [row length, rows]). */
export function llamaTensorShapes(s: LlamaShape, tiedEmbeddings: boolean): Array<{ name: string; dims: number[] }> {
  const dHead = s.dModel / s.nHeads;
  const dKv = dHead * s.nKvHeads;
  const out = [{ name: 'token_embd.weight', dims: [s.dModel, s.nVocab] }];
  for (let l = 0; l < s.nLayers; l++) {
    out.push(
      { name: `blk.${l}.attn_norm.weight`, dims: [s.dModel] },
      { name: `blk.${l}.attn_q.weight`, dims: [s.dModel, s.dModel] },
      { name: `blk.${l}.attn_k.weight`, dims: [s.dModel, dKv] },
      { name: `blk.${l}.attn_v.weight`, dims: [s.dModel, dKv] },
      { name: `blk.${l}.attn_output.weight`, dims: [s.dModel, s.dModel] },
      { name: `blk.${l}.ffn_norm.weight`, dims: [s.dModel] },
      { name: `blk.${l}.ffn_gate.weight`, dims: [s.dModel, s.dFf] },
      { name: `blk.${l}.ffn_up.weight`, dims: [s.dModel, s.dFf] },
      { name: `blk.${l}.ffn_down.weight`, dims: [s.dFf, s.dModel] },
    );
  }
  out.push({ name: 'output_norm.weight', dims: [s.dModel] });
  if (!tiedEmbeddings) out.push({ name: 'output.weight', dims: [s.dModel, s.nVocab] });
  return out;
}

export function encodeTensor(type: number, data: Float32Array, rowLength: number, quantize?: Quantizer): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    case GgmlType.F16: {
      const out = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]!);
      return new Uint8Array(out.buffer);
    }
    case GgmlType.BF16: {
      const out = new Uint16Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = floatToBf16(data[i]!);
      return new Uint8Array(out.buffer);
    }
    default: {
      if (!quantize) throw new Error(`writing ${typeName(type)} needs ggml's quantizer`);
      const bytes = quantize(type, data, data.length / rowLength, rowLength);
      const want = bytesFor(type, data.length);
      if (bytes.byteLength !== want) throw new Error(`quantizer returned ${bytes.byteLength} bytes for ${typeName(type)}, expected ${want}`);
      return bytes;
    }
  }
}

/** The dominant weight type, as llama.cpp's `general.file_type` (LLAMA_FTYPE_*) names it. */
function fileType(tensors: FloatTensor[]): number {
  const ftypeOf: Record<number, number> = {
    [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q4_0]: 2, [GgmlType.Q4_1]: 3, [GgmlType.Q8_0]: 7,
    [GgmlType.Q5_0]: 8, [GgmlType.Q5_1]: 9, [GgmlType.Q2_K]: 10, [GgmlType.Q3_K]: 12, [GgmlType.Q4_K]: 15,
    [GgmlType.Q5_K]: 17, [GgmlType.Q6_K]: 18, [GgmlType.BF16]: 32,
  };
  const big = tensors.find((t) => t.dims.length === 2 && t.name.includes('attn_q')) ?? tensors[0]!;
  return ftypeOf[big.type] ?? 0;
}

/** The `general.*` and `llama.*` metadata of a Llama model with these hyperparameters. */
export function llamaMetadata(s: LlamaShape, name: string, description?: string): Array<readonly [string, GgufValue]> {
  return [
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(name)],
    ...(description ? [['general.description', gguf.str(description)] as const] : []),
    ['llama.vocab_size', gguf.u32(s.nVocab)],
    ['llama.context_length', gguf.u32(s.nCtxTrain)],
    ['llama.embedding_length', gguf.u32(s.dModel)],
    ['llama.block_count', gguf.u32(s.nLayers)],
    ['llama.feed_forward_length', gguf.u32(s.dFf)],
    ['llama.rope.dimension_count', gguf.u32(s.dModel / s.nHeads)],
    ['llama.rope.freq_base', gguf.f32(s.ropeFreqBase)],
    ['llama.attention.head_count', gguf.u32(s.nHeads)],
    ['llama.attention.head_count_kv', gguf.u32(s.nKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(s.rmsEps)],
  ];
}

export function writeLlamaGguf(path: string, spec: LlamaModelSpec): void {
  const metadata: Array<readonly [string, GgufValue]> = [
    ...llamaMetadata(spec.shape, spec.name, spec.description),
    ['general.file_type', gguf.u32(fileType(spec.tensors))],
    ...(spec.extraMetadata ?? []),
    ...spec.tokenizer,
  ];
  const tensors: TensorToWrite[] = spec.tensors.map((t) => ({
    name: t.name,
    dims: t.dims,
    type: t.type,
    data: () => {
      const values = typeof t.data === 'function' ? t.data() : t.data;
      const n = t.dims.reduce((a, b) => a * b, 1);
      if (values.length !== n) throw new Error(`tensor ${t.name} [${t.dims.join(', ')}] needs ${n} values, got ${values.length}`);
      return encodeTensor(t.type, values, t.dims[0]!, spec.quantize);
    },
  }));
  writeGguf(path, { metadata, tensors });
}

export { GgufValueType };
