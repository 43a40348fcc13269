// Benchmark models: Llama-shaped GGUF files with random weights, generated on demand into
// bench/.tmp (gitignored, never committed). A 7B file has 6.7 billion weights; quantizing each one
// would take minutes, so a pool of random values is quantized once by ggml and tensors are made of
// pool blocks taken from seeded random offsets. Speed is what these models are for.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GgmlType, bytesFor, typeTraits } from '../src/engine/gguf/ggmlTypes';
import { llamaMetadata, llamaTensorShapes, readTokenizerMetadata, type LlamaShape } from '../src/engine/gguf/llamaWriter';
import { writeGguf } from '../src/engine/gguf/writer';
import { getBackend } from '../src/engine/llama/backend';
import { ggmlQuantizer } from '../src/engine/llama/quantize';
import { Rng } from '../src/engine/util/random';
import { vocabFile } from '../test/fixtures/archModels';
import { vocabPath } from '../test/fixtures/models';

export interface BenchModelSpec {
  readonly name: string;
  readonly shape: LlamaShape;
  readonly matrixType: number;
  readonly outputType: number;
  /** models/ggml-vocab-<vocab>.gguf of the bundled llama.cpp source (default: Llama 2's llama-spm) */
  readonly vocab?: string;
  /** the type of one 2-D tensor when it differs from matrixType (a mixed file such as Q4_K_M) */
  readonly typeOf?: (name: string, nLayers: number) => number | undefined;
}

/** llama.cpp's Q4_K_M mix: Q6_K for attn_v and ffn_down in the first and last eighth of the
 * layers and every third layer between (its use_more_bits), Q4_K elsewhere */
function q4kmType(name: string, nLayers: number): number | undefined {
  const m = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(name);
  if (!m) return undefined;
  const i = Number(m[1]);
  const moreBits = i < nLayers / 8 || i >= (7 * nLayers) / 8 || (i - Math.floor(nLayers / 8)) % 3 === 2;
  return moreBits ? GgmlType.Q6_K : undefined;
}

const LLAMA2_7B: LlamaShape = { nVocab: 32000, dModel: 4096, nLayers: 32, nHeads: 32, nKvHeads: 32, dFf: 11008, nCtxTrain: 4096, rmsEps: 1e-5, ropeFreqBase: 10000 };

export const BENCH_MODELS = {
  /** Llama-2-7B shapes, Q4_K matrices and Q6_K output (as a Q4_K_M file mixes them) */
  'llama2-7b-q4k': { name: 'llama2-7b-q4k', shape: LLAMA2_7B, matrixType: GgmlType.Q4_K, outputType: GgmlType.Q6_K },
  /** Llama-3-8B shapes: 128256-token BPE vocabulary, 8 kv heads, d_ff 14336; Q4_K matrices, Q6_K output */
  'llama3-8b-q4k': {
    name: 'llama3-8b-q4k',
    shape: { ...LLAMA2_7B, nVocab: 128256, nKvHeads: 8, dFf: 14336, nCtxTrain: 8192, ropeFreqBase: 500000 },
    matrixType: GgmlType.Q4_K,
    outputType: GgmlType.Q6_K,
    vocab: 'llama-bpe',
  },
  /** Llama-2-7B shapes mixed as llama.cpp's Q4_K_M: Q4_K, Q6_K for some attn_v/ffn_down and the output */
  'llama2-7b-q4km': { name: 'llama2-7b-q4km', shape: LLAMA2_7B, matrixType: GgmlType.Q4_K, outputType: GgmlType.Q6_K, typeOf: q4kmType },
  /** Llama-2-7B shapes, every matrix Q8_0 (as llama.cpp's Q8_0 file type, output included) */
  'llama2-7b-q8': { name: 'llama2-7b-q8', shape: LLAMA2_7B, matrixType: GgmlType.Q8_0, outputType: GgmlType.Q8_0 },
  /** TinyLlama-1.1B shapes (22 layers, d_model 2048, 4 kv heads, d_ff 5632), every matrix Q8_0: the peer benchmark's model */
  'tinyllama-q8': {
    name: 'tinyllama-q8',
    shape: { ...LLAMA2_7B, dModel: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, dFf: 5632, nCtxTrain: 2048 },
    matrixType: GgmlType.Q8_0,
    outputType: GgmlType.Q8_0,
  },
  /** OpenLLaMA-3B shapes (26 layers, d_model 3200, 32 heads of 100, 32 kv heads, d_ff 8640, Llama 2's vocabulary),
   * every matrix Q8_0: the peer benchmark's largest shape whose float32 notebook (13.7 GB) fits in 24 GB */
  'llama3b-q8': {
    name: 'llama3b-q8',
    shape: { ...LLAMA2_7B, dModel: 3200, nLayers: 26, nHeads: 32, nKvHeads: 32, dFf: 8640, nCtxTrain: 2048 },
    matrixType: GgmlType.Q8_0,
    outputType: GgmlType.Q8_0,
  },
  /** 32 layers of a small model: the per-layer capture overhead dominates */
  'l32-d512-q4k': {
    name: 'l32-d512-q4k',
    shape: { ...LLAMA2_7B, dModel: 512, nHeads: 8, nKvHeads: 8, dFf: 1536 },
    matrixType: GgmlType.Q4_K,
    outputType: GgmlType.Q6_K,
  },
} as const satisfies Record<string, BenchModelSpec>;

export type BenchModelName = keyof typeof BENCH_MODELS;

export const BENCH_DIR = path.join(__dirname, '.tmp');

const POOL_VALUES = 1 << 22; // 4 Mi random values per type, quantized once

export async function ensureBenchModel(name: BenchModelName): Promise<string> {
  const spec: BenchModelSpec = BENCH_MODELS[name];
  const file = path.join(BENCH_DIR, `${spec.name}.gguf`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(BENCH_DIR, { recursive: true });
  const quantize = ggmlQuantizer((await getBackend()).native);
  const rng = new Rng(7);
  const pools = new Map<number, Uint8Array>();
  const pool = (type: number): Uint8Array => {
    let p = pools.get(type);
    if (!p) {
      const values = rng.normals(POOL_VALUES, 0.02);
      p = type === GgmlType.F32 ? new Uint8Array(values.buffer) : quantize(type, values, POOL_VALUES / 256, 256);
      pools.set(type, p);
    }
    return p;
  };
  const s = spec.shape;
  const tensors = llamaTensorShapes(s, false).map((t) => {
    const n = t.dims.reduce((a, b) => a * b, 1);
    const type = t.dims.length === 1 ? GgmlType.F32 : t.name === 'output.weight' ? spec.outputType : (spec.typeOf?.(t.name, s.nLayers) ?? spec.matrixType);
    return {
      name: t.name,
      dims: t.dims,
      type,
      data: (): Uint8Array => {
        if (type === GgmlType.F32 && t.dims.length === 1) return new Uint8Array(new Float32Array(n).fill(1).buffer);
        const src = pool(type);
        const blockBytes = typeTraits(type).typeSize;
        const blocksInPool = src.byteLength / blockBytes;
        const out = new Uint8Array(bytesFor(type, n));
        // copy runs of pool blocks from random block offsets
        for (let at = 0; at < out.byteLength; ) {
          const from = rng.int(blocksInPool) * blockBytes;
          const len = Math.min(src.byteLength - from, out.byteLength - at);
          out.set(src.subarray(from, from + len), at);
          at += len;
        }
        return out;
      },
    };
  });
  const metadata = [...llamaMetadata(s, `bench ${spec.name} (random weights)`), ...readTokenizerMetadata(spec.vocab ? vocabFile(spec.vocab) : vocabPath())];
  writeGguf(file, { metadata, tensors });
  return file;
}
