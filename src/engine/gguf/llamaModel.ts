// A Llama-family model as the analyses see it: hyperparameters from the `<arch>.` metadata, the
// weights by role and layer in TransformerLens names, head slices (grouped-query aware) and the
// tokenizer's token strings. Reads the GGUF lazily; never loads the model into llama.cpp.
import { InnerWorldError } from '../errors';
import { GgufError } from './errors';
import { dequantizeRows, isDequantizable } from './dequant';
import { typeName } from './ggmlTypes';
import { GgufFile, type TensorInfo } from './reader';

/** Architectures whose graph is llama.cpp's llama graph (same tensors, same node names). */
export const LLAMA_FAMILY = new Set(['llama']);

export interface Hparams {
  readonly arch: string;
  readonly nLayers: number;
  readonly dModel: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly dHead: number;
  readonly dFf: number;
  readonly nVocab: number;
  readonly nCtxTrain: number;
  readonly rmsEps: number;
  readonly ropeFreqBase: number;
  readonly ropeDim: number;
}

export type WeightRole = 'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'W_gate' | 'W_in' | 'W_out' | 'ln1' | 'ln2';

const ROLE_TENSOR: Record<WeightRole, string> = {
  W_Q: 'attn_q',
  W_K: 'attn_k',
  W_V: 'attn_v',
  W_O: 'attn_output',
  W_gate: 'ffn_gate',
  W_in: 'ffn_up',
  W_out: 'ffn_down',
  ln1: 'attn_norm',
  ln2: 'ffn_norm',
};

export const MATRIX_ROLES: readonly WeightRole[] = ['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate', 'W_in', 'W_out'];

export class LlamaModelFile {
  readonly hparams: Hparams;
  /** W_U is token_embd when the file has no output.weight */
  readonly tiedEmbeddings: boolean;
  private tokenStrings: readonly string[] | undefined;

  constructor(readonly file: GgufFile) {
    this.hparams = readHparams(file);
    this.tiedEmbeddings = file.tensor('output.weight') === undefined;
  }

  static open(path: string): LlamaModelFile {
    let f: GgufFile;
    try {
      f = GgufFile.open(path);
    } catch (e) {
      if (e instanceof GgufError) throw new InnerWorldError('bad-gguf', `${path} is not a readable GGUF model: ${e.message}`);
      throw e;
    }
    try {
      return new LlamaModelFile(f);
    } catch (e) {
      f.close();
      throw e;
    }
  }

  close(): void {
    this.file.close();
  }

  get name(): string {
    return (this.file.get('general.name') as string | undefined) ?? this.file.path.split(/[\\/]/).pop()!;
  }

  /** W_E, the input dictionary: [d_vocab rows of d_model]. */
  get W_E(): TensorInfo {
    return this.file.requireTensor('token_embd.weight');
  }

  /** W_U, the output dictionary (rows per token), falling back to W_E when tied. */
  get W_U(): TensorInfo {
    return this.file.tensor('output.weight') ?? this.W_E;
  }

  get lnFinal(): TensorInfo {
    return this.file.requireTensor('output_norm.weight');
  }

  weight(role: WeightRole, layer: number): TensorInfo {
    if (layer < 0 || layer >= this.hparams.nLayers) throw new InnerWorldError('bad-argument', `layer ${layer} is outside 0..${this.hparams.nLayers - 1}`);
    return this.file.requireTensor(`blk.${layer}.${ROLE_TENSOR[role]}.weight`);
  }

  /** The kv head that query head h reads (grouped-query attention). */
  kvHeadOf(h: number): number {
    return Math.floor(h / (this.hparams.nHeads / this.hparams.nKvHeads));
  }

  /**
   * Rows of a head's slice of W_Q / W_K / W_V ([d_head, d_model]), dequantized. For W_K and W_V the
   * slice of query head h's kv head is returned.
   */
  headSlice(role: 'W_Q' | 'W_K' | 'W_V', layer: number, head: number): Float32Array {
    const { nHeads, dHead } = this.hparams;
    if (head < 0 || head >= nHeads) throw new InnerWorldError('bad-argument', `head ${head} is outside 0..${nHeads - 1}`);
    const kvHead = role === 'W_Q' ? head : this.kvHeadOf(head);
    return this.rows(this.weight(role, layer), kvHead * dHead, dHead);
  }

  /** `count` rows starting at `row` of a 2-D tensor, as float32 ([count, dims[0]]). */
  rows(t: TensorInfo, row: number, count = 1): Float32Array {
    if (!isDequantizable(t.type)) {
      throw new InnerWorldError('unsupported-tensor-type', `unsupported tensor type ${typeName(t.type)} in ${t.name}: this build reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the K-quants`);
    }
    return dequantizeRows(t.type, this.file.readRowBytes(t, row, count), count * t.dims[0]!);
  }

  /** A whole tensor as float32 (use for vectors and small matrices only). */
  full(t: TensorInfo): Float32Array {
    return this.rows(t, 0, t.nElements / t.dims[0]!);
  }

  /** Token strings of the vocabulary ("▁like", "<0x0A>", "<s>"). */
  get tokens(): readonly string[] {
    if (!this.tokenStrings) {
      const v = this.file.get('tokenizer.ggml.tokens');
      this.tokenStrings = Array.isArray(v) ? (v as string[]) : [];
    }
    return this.tokenStrings;
  }

  get specialTokens(): { bos?: number; eos?: number; unk?: number } {
    const n = (k: string): number | undefined => {
      const v = this.file.get(`tokenizer.ggml.${k}_token_id`);
      return typeof v === 'number' ? v : undefined;
    };
    return { bos: n('bos'), eos: n('eos'), unk: n('unknown') };
  }

  /** Check the tensors llama.cpp's llama graph needs are all here, with the right shapes. */
  validate(): void {
    const { nLayers, dModel } = this.hparams;
    const need = ['token_embd.weight', 'output_norm.weight'];
    for (let l = 0; l < nLayers; l++) for (const r of Object.values(ROLE_TENSOR)) need.push(`blk.${l}.${r}.weight`);
    const missing = need.filter((n) => !this.file.tensor(n));
    if (missing.length) {
      throw new InnerWorldError('missing-tensor', `${this.name} is missing ${missing.length} tensor(s) a Llama model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    }
    if (this.W_E.dims[0] !== dModel) {
      throw new InnerWorldError('bad-gguf', `token_embd.weight rows are ${this.W_E.dims[0]} long but the model dimension is ${dModel}`);
    }
    // headSlice reads heads as consecutive row blocks: the row counts must be what the heads say
    const { nHeads, nKvHeads, dHead } = this.hparams;
    const rowsOf: Partial<Record<WeightRole, number>> = { W_Q: nHeads * dHead, W_K: nKvHeads * dHead, W_V: nKvHeads * dHead };
    for (let l = 0; l < nLayers; l++) {
      for (const [role, nRows] of Object.entries(rowsOf) as Array<[WeightRole, number]>) {
        const t = this.weight(role, l);
        if (t.dims.length !== 2 || t.dims[0] !== dModel || t.dims[1] !== nRows) {
          throw new InnerWorldError('bad-gguf', `${t.name} is [${t.dims.join(', ')}] but ${nRows} rows of ${dModel} were expected (${role === 'W_Q' ? nHeads : nKvHeads} heads of ${dHead})`);
        }
      }
    }
  }
}

function readHparams(f: GgufFile): Hparams {
  const arch = f.get('general.architecture');
  if (typeof arch !== 'string') throw new InnerWorldError('not-llama', `${f.path} has no general.architecture: not a model GGUF`);
  const num = (key: string, fallback?: number): number => {
    const v = f.get(`${arch}.${key}`);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (fallback !== undefined) return fallback;
    throw new InnerWorldError('not-llama', `${f.path} (architecture "${arch}") has no ${arch}.${key}: not a Llama-family model`);
  };
  const nHeads = num('attention.head_count');
  const dModel = num('embedding_length');
  const tokens = f.get('tokenizer.ggml.tokens');
  const embd = f.tensor('token_embd.weight');
  const nVocab = num('vocab_size', Array.isArray(tokens) ? tokens.length : embd ? embd.dims[1] : 0);
  const nKvHeads = num('attention.head_count_kv', nHeads);
  // llama.cpp's n_embd_head_k: key_length when the file says so (Mistral Nemo: 5120 / 32 heads
  // would be 160, its heads are 128 wide), else d_model / n_heads
  const dHead = num('attention.key_length', nHeads > 0 ? dModel / nHeads : NaN);
  if (nHeads <= 0 || !Number.isInteger(dHead) || dHead <= 0 || nKvHeads <= 0 || nHeads % nKvHeads !== 0) {
    throw new InnerWorldError('bad-gguf', `inconsistent attention shape: d_model ${dModel}, ${nHeads} heads of ${dHead}, ${nKvHeads} kv heads`);
  }
  return {
    arch,
    nLayers: num('block_count'),
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dFf: num('feed_forward_length'),
    nVocab,
    nCtxTrain: num('context_length', 2048),
    rmsEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    ropeFreqBase: num('rope.freq_base', 10000),
    ropeDim: num('rope.dimension_count', dHead),
  };
}
