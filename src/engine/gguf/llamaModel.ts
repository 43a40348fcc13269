// A model as the analyses see it: hyperparameters from the `<arch>.` metadata, the weights by role
// and layer in TransformerLens names (fused tensors split by rows, a mixture of experts' expert
// tensors split by expert, per the architecture's table in ../arch), head slices (grouped-query
// aware) and the tokenizer's token strings. Reads the GGUF lazily; never loads the model into
// llama.cpp. The name is historical: every supported family (llama, qwen2, qwen3, qwen3moe, gemma2,
// gemma3, phi3) is read through this class.
import { archTable, ARCH_TABLES, type ArchTable, type FusedPart, type MatrixRole, type TensorRef } from '../arch';
import { InnerWorldError } from '../errors';
import { GgufError } from './errors';
import { dequantizeRows, isDequantizable } from './dequant';
import { typeName } from './ggmlTypes';
import { GgufFile, type TensorInfo } from './reader';

/** Architectures whose graph is llama.cpp's llama graph (same tensors, same node names). */
export const LLAMA_FAMILY = new Set(['llama']);

/** Every architecture the analyses and the instrumented decode support (one table each in ../arch). */
export const SUPPORTED_ARCHS: ReadonlySet<string> = new Set(ARCH_TABLES.keys());

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
  /** experts per layer of a routed FFN (mixture of experts); 0 for a dense FFN */
  readonly nExperts: number;
  /** experts that run for each token (the router's top k); 0 for a dense FFN */
  readonly nExpertsUsed: number;
  /** hidden width of one expert's FFN; 0 for a dense FFN */
  readonly dFfExpert: number;
}

/** W_gate_inp: a mixture of experts' router, one [d_model] row per expert (llama.cpp's ffn_gate_inp). */
export type WeightRole = MatrixRole | 'ln1' | 'ln2' | 'W_gate_inp';

export const MATRIX_ROLES: readonly WeightRole[] = ['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate', 'W_in', 'W_out'];

/** The roles a mixture of experts has once per expert. */
export const EXPERT_ROLES: readonly WeightRole[] = ['W_gate', 'W_in', 'W_out'];

/** One matrix of a layer: its role, its expert (routed FFN matrices), its TransformerLens-style name. */
export interface LayerMatrix {
  readonly role: WeightRole;
  readonly expert?: number;
  /** `blocks.3.attn.W_Q`, `blocks.3.mlp.W_gate_inp`, `blocks.3.mlp.experts.5.W_in` */
  readonly name: string;
}

/** The name a layer's matrix is shown under: `blocks.3.attn.W_Q`, `blocks.3.mlp.experts.5.W_in`. */
export function matrixName(role: WeightRole, layer: number, expert?: number): string {
  if (role === 'ln1' || role === 'ln2') return `blocks.${layer}.${role}.w`;
  const part = role === 'W_Q' || role === 'W_K' || role === 'W_V' || role === 'W_O' ? 'attn' : 'mlp';
  return `blocks.${layer}.${part}.${expert === undefined ? '' : `experts.${expert}.`}${role}`;
}

/** The attention and FFN widths of one layer (files may store them one value per layer). */
export interface LayerShape {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly dFf: number;
}

/** What a family does beyond the llama block, with its values read from this file. */
export interface ArchParams {
  readonly table: ArchTable;
  readonly ropeType: 'norm' | 'neox';
  /** the residual stream starts at W_E[token] * embeddingScale */
  readonly embeddingScale: number;
  /** logits = cap * tanh(logits / cap), when set */
  readonly finalSoftcap: number | undefined;
  /** attention scores = cap * tanh(scores / cap) before the softmax, when set */
  readonly attnSoftcap: number | undefined;
  /** the factor q . k is multiplied by before the softmax */
  readonly attnScale: number;
  /** sliding-window layers see only the last `window` positions (query included) */
  readonly slidingWindow: number | undefined;
  /** rope base of the sliding-window layers */
  readonly ropeFreqBaseSwa: number;
  readonly ffnActivation: 'silu' | 'gelu';
  isSlidingLayer(layer: number): boolean;
}

/** The logit lens on a state h: softcap(W_U . RMSNorm(h) * gain), softmax. */
export interface LensRecipe {
  /** final RMSNorm gain [d_model] */
  readonly lnFinal: Float32Array;
  readonly rmsEps: number;
  /** logits = cap * tanh(logits / cap) before the softmax, when set */
  readonly finalSoftcap: number | undefined;
  /** h[0] is W_E[token] times this */
  readonly embeddingScale: number;
}

export class LlamaModelFile {
  readonly hparams: Hparams;
  /** the architecture's table (llama's when the architecture has none: weights can still be browsed) */
  readonly archTable: ArchTable;
  /** whether the architecture has a table, i.e. the instrumented decode and every analysis support it */
  readonly archSupported: boolean;
  private readonly layerShapes: readonly LayerShape[];
  private archParamsCache: ArchParams | undefined;
  /** W_U is token_embd when the file has no output.weight */
  readonly tiedEmbeddings: boolean;
  private tokenStrings: readonly string[] | undefined;

  constructor(readonly file: GgufFile) {
    const { hparams, layers } = readHparams(file);
    this.hparams = hparams;
    this.layerShapes = layers;
    this.archSupported = ARCH_TABLES.has(hparams.arch);
    this.archTable = archTable(this.archSupported ? hparams.arch : 'llama');
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

  /** whether the FFN is routed over experts (a mixture of experts) */
  get isMoe(): boolean {
    return this.archTable.moe !== undefined && this.hparams.nExperts > 0;
  }

  /**
   * The matrix (or norm gain) of a role in a layer. A role stored inside a fused tensor (phi3's
   * attn_qkv, a fused gate/up ffn_up) comes back as a view of its rows, named `<tensor>[q]`: its
   * rows are contiguous in the file, so every reader handles it as a tensor of its own. In a
   * mixture of experts, W_gate / W_in / W_out need the expert: its slab of the 3-D expert tensor
   * comes back the same way, named `<tensor>[expert 5]`; W_gate_inp is the router.
   */
  weight(role: WeightRole, layer: number, expert?: number): TensorInfo {
    this.checkLayer(layer);
    if (role === 'ln1' || role === 'ln2') return this.file.requireTensor(`blk.${layer}.${this.archTable.norms[role]}.weight`);
    if (role === 'W_gate_inp') {
      if (!this.isMoe) throw new InnerWorldError('bad-argument', `W_gate_inp is the router of a mixture of experts; ${this.name} (${this.archTable.label}) has one FFN per layer and no router`);
      return this.file.requireTensor(`blk.${layer}.${this.archTable.moe!.router}.weight`);
    }
    const ref = this.resolveRef(role, layer);
    const t = this.file.requireTensor(`blk.${layer}.${ref.tensor}.weight`);
    if (ref.experts) return this.expertView(t, role, layer, expert);
    if (expert !== undefined) throw new InnerWorldError('bad-argument', `${role} of layer ${layer} is one matrix, not one per expert: ${this.isMoe ? 'only W_gate, W_in and W_out are per expert' : `${this.name} is not a mixture of experts`}`);
    if (!ref.part) return t;
    const [start, count] = this.fusedRows(ref.part, layer);
    return rowView(t, start, count, ref.part);
  }

  /** Every matrix of a layer, in forward order: attention, then the router and each expert's FFN (or the FFN). */
  matrices(layer: number, roles: readonly WeightRole[] = MATRIX_ROLES): LayerMatrix[] {
    this.checkLayer(layer);
    const out: LayerMatrix[] = [];
    const wanted = (r: WeightRole): boolean => roles.includes(r);
    for (const role of ['W_Q', 'W_K', 'W_V', 'W_O'] as const) if (wanted(role)) out.push({ role, name: matrixName(role, layer) });
    if (this.isMoe && wanted('W_gate_inp')) out.push({ role: 'W_gate_inp', name: matrixName('W_gate_inp', layer) });
    if (this.isMoe) {
      for (let e = 0; e < this.hparams.nExperts; e++) {
        for (const role of EXPERT_ROLES) if (wanted(role)) out.push({ role, expert: e, name: matrixName(role, layer, e) });
      }
    } else {
      for (const role of EXPERT_ROLES) if (wanted(role)) out.push({ role, name: matrixName(role, layer) });
    }
    return out;
  }

  /** The roles weight views offer for this model: the seven matrices, and the router in a mixture of experts. */
  get matrixRoles(): readonly WeightRole[] {
    return this.isMoe ? [...MATRIX_ROLES.slice(0, 4), 'W_gate_inp', ...EXPERT_ROLES] : MATRIX_ROLES;
  }

  /** One expert's [d_in, d_out] slab of a 3-D expert tensor [d_in, d_out, n_expert]. */
  private expertView(t: TensorInfo, role: WeightRole, layer: number, expert: number | undefined): TensorInfo {
    const n = this.hparams.nExperts;
    if (expert === undefined) throw new InnerWorldError('bad-argument', `layer ${layer} has ${n} experts, each with its own ${role}: name one (0..${n - 1})`);
    if (!Number.isInteger(expert) || expert < 0 || expert >= n) throw new InnerWorldError('bad-argument', `expert ${expert} is outside 0..${n - 1}`);
    if (t.dims.length !== 3 || t.dims[2] !== n) throw new InnerWorldError('bad-gguf', `${t.name} is [${t.dims.join(', ')}] but ${n} expert slabs were expected`);
    const slabBytes = t.nBytes / n;
    const slabElements = t.nElements / n;
    return { name: `${t.name}[expert ${expert}]`, dims: [t.dims[0]!, t.dims[1]!], type: t.type, offset: t.offset + expert * slabBytes, nElements: slabElements, nBytes: slabBytes };
  }

  /** A per-layer tensor by its llama.cpp name (`post_attention_norm`, `attn_q.bias`), or undefined. */
  layerTensor(name: string, layer: number, kind: 'weight' | 'bias' = 'weight'): TensorInfo | undefined {
    this.checkLayer(layer);
    return this.file.tensor(`blk.${layer}.${name}.${kind}`);
  }

  /** Heads and FFN width of one layer (equal to hparams' unless the file stores them per layer). */
  layerShape(layer: number): LayerShape {
    this.checkLayer(layer);
    return this.layerShapes[layer]!;
  }

  /** The family's extras with their values from this file (embedding scale, soft-caps, windows). */
  get arch(): ArchParams {
    return (this.archParamsCache ??= readArchParams(this.file, this.hparams, this.archTable));
  }

  /** What the logit lens applies to a state so that the last layer's reading is llama.cpp's softmax(logits). */
  lensRecipe(): LensRecipe {
    return { lnFinal: this.full(this.lnFinal), rmsEps: this.hparams.rmsEps, finalSoftcap: this.arch.finalSoftcap, embeddingScale: this.arch.embeddingScale };
  }

  /** The kv head that query head h reads (grouped-query attention). */
  kvHeadOf(h: number, layer?: number): number {
    const { nHeads, nKvHeads } = layer === undefined ? this.hparams : this.layerShape(layer);
    return Math.floor(h / (nHeads / nKvHeads));
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.hparams.nLayers) throw new InnerWorldError('bad-argument', `layer ${layer} is outside 0..${this.hparams.nLayers - 1}`);
  }

  /**
   * Where a role's matrix is in this file: the table says how the family usually stores it, but
   * llama.cpp (create_tensor_qkv) takes q, k, v either separate or fused for every family, and a
   * gated FFN without ffn_gate has gate and up fused in ffn_up.
   */
  private resolveRef(role: MatrixRole, layer: number): TensorRef {
    const has = (name: string): boolean => this.file.tensor(`blk.${layer}.${name}.weight`) !== undefined;
    const qkv = { W_Q: ['attn_q', 'q'], W_K: ['attn_k', 'k'], W_V: ['attn_v', 'v'] } as const;
    if (role === 'W_Q' || role === 'W_K' || role === 'W_V') {
      const [separate, part] = qkv[role];
      if (has(separate)) return { tensor: separate };
      if (has('attn_qkv')) return { tensor: 'attn_qkv', part };
    } else if (role === 'W_gate' || role === 'W_in') {
      if (has('ffn_gate')) return { tensor: role === 'W_gate' ? 'ffn_gate' : 'ffn_up' };
      if (has('ffn_up')) return { tensor: 'ffn_up', part: role === 'W_gate' ? 'gate' : 'up' };
    }
    return this.archTable.weights[role];
  }

  /** [first row, rows] of a part inside its fused tensor. */
  private fusedRows(part: FusedPart, layer: number): [number, number] {
    const { nHeads, nKvHeads, dFf } = this.layerShape(layer);
    const { dHead } = this.hparams;
    switch (part) {
      case 'q': return [0, nHeads * dHead];
      case 'k': return [nHeads * dHead, nKvHeads * dHead];
      case 'v': return [(nHeads + nKvHeads) * dHead, nKvHeads * dHead];
      case 'gate': return [0, dFf];
      case 'up': return [dFf, dFf];
    }
  }

  /**
   * Rows of a head's slice of W_Q / W_K / W_V ([d_head, d_model]), dequantized. For W_K and W_V the
   * slice of query head h's kv head is returned.
   */
  headSlice(role: 'W_Q' | 'W_K' | 'W_V', layer: number, head: number): Float32Array {
    const { dHead } = this.hparams;
    const { nHeads } = this.layerShape(layer);
    if (head < 0 || head >= nHeads) throw new InnerWorldError('bad-argument', `head ${head} is outside 0..${nHeads - 1}`);
    const kvHead = role === 'W_Q' ? head : this.kvHeadOf(head, layer);
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

  /** Check the tensors llama.cpp's graph for this architecture needs are all here, with the right shapes. */
  validate(): void {
    const { nLayers, dModel, dHead } = this.hparams;
    const t = this.archTable;
    const need = ['token_embd.weight', 'output_norm.weight'];
    const extra = [t.extra.attnPostNorm, t.extra.ffnPostNorm, t.extra.qNorm, t.extra.kNorm, t.moe?.router].filter((x): x is string => x !== undefined);
    if (t.moe && (this.hparams.nExperts <= 0 || this.hparams.nExpertsUsed <= 0 || this.hparams.nExpertsUsed > this.hparams.nExperts)) {
      throw new InnerWorldError('bad-gguf', `${this.name} is a ${t.label} model but says ${this.hparams.nExperts} experts with ${this.hparams.nExpertsUsed} used per token (${this.hparams.arch}.expert_count, expert_used_count)`);
    }
    const roles = MATRIX_ROLES as readonly MatrixRole[];
    for (let l = 0; l < nLayers; l++) {
      need.push(`blk.${l}.${t.norms.ln1}.weight`, `blk.${l}.${t.norms.ln2}.weight`);
      for (const r of roles) need.push(`blk.${l}.${this.resolveRef(r, l).tensor}.weight`);
      for (const e of extra) need.push(`blk.${l}.${e}.weight`);
    }
    const missing = [...new Set(need)].filter((n) => !this.file.tensor(n));
    if (missing.length) {
      throw new InnerWorldError('missing-tensor', `${this.name} is missing ${missing.length} tensor(s) a ${t.label} model needs: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}. The file is incomplete or not a model of this kind: download or convert it again, or choose another file.`);
    }
    if (this.W_E.dims[0] !== dModel) {
      throw new InnerWorldError('bad-gguf', `token_embd.weight rows are ${this.W_E.dims[0]} long but the model dimension is ${dModel}`);
    }
    // headSlice and the fused-tensor views read heads as consecutive row blocks: the row counts
    // must be what the heads (and the FFN width) say
    for (let l = 0; l < nLayers; l++) {
      const { nHeads, nKvHeads } = this.layerShape(l);
      const dFf = t.moe ? this.hparams.dFfExpert : this.layerShape(l).dFf;
      const rowsOf: Partial<Record<MatrixRole, [number, string]>> = {
        W_Q: [nHeads * dHead, `${nHeads} heads of ${dHead}`],
        W_K: [nKvHeads * dHead, `${nKvHeads} heads of ${dHead}`],
        W_V: [nKvHeads * dHead, `${nKvHeads} heads of ${dHead}`],
        W_gate: [dFf, `d_ff ${dFf}`],
        W_in: [dFf, `d_ff ${dFf}`],
      };
      for (const [role, [nRows, what]] of Object.entries(rowsOf) as Array<[MatrixRole, [number, string]]>) {
        const ref = this.resolveRef(role, l);
        const whole = this.file.requireTensor(`blk.${l}.${ref.tensor}.weight`);
        if (ref.experts) {
          const { nExperts } = this.hparams;
          if (whole.dims.length !== 3 || whole.dims[0] !== dModel || whole.dims[1] !== nRows || whole.dims[2] !== nExperts) {
            throw new InnerWorldError('bad-gguf', `${whole.name} is [${whole.dims.join(', ')}] but ${nExperts} experts of ${nRows} rows of ${dModel} were expected (${what})`);
          }
          continue;
        }
        const wantRows = ref.part === undefined ? nRows : ref.tensor === 'attn_qkv' ? (nHeads + 2 * nKvHeads) * dHead : 2 * dFf;
        if (whole.dims.length !== 2 || whole.dims[0] !== dModel || whole.dims[1] !== wantRows) {
          throw new InnerWorldError('bad-gguf', `${whole.name} is [${whole.dims.join(', ')}] but ${wantRows} rows of ${dModel} were expected (${what}${ref.part ? `, fused ${ref.tensor}` : ''})`);
        }
      }
      if (t.moe) {
        const { nExperts, dFfExpert } = this.hparams;
        const router = this.file.requireTensor(`blk.${l}.${t.moe.router}.weight`);
        const down = this.file.requireTensor(`blk.${l}.${t.weights.W_out.tensor}.weight`);
        if (router.dims.length !== 2 || router.dims[0] !== dModel || router.dims[1] !== nExperts) throw new InnerWorldError('bad-gguf', `${router.name} is [${router.dims.join(', ')}] but ${nExperts} rows of ${dModel} (one per expert) were expected`);
        if (down.dims.length !== 3 || down.dims[0] !== dFfExpert || down.dims[1] !== dModel || down.dims[2] !== nExperts) throw new InnerWorldError('bad-gguf', `${down.name} is [${down.dims.join(', ')}] but ${nExperts} experts of ${dModel} rows of ${dFfExpert} were expected`);
      }
      for (const e of [t.extra.qNorm, t.extra.kNorm]) {
        const g = e ? this.layerTensor(e, l) : undefined;
        if (g && g.nElements !== dHead) throw new InnerWorldError('bad-gguf', `${g.name} has ${g.nElements} values but a head is ${dHead} wide`);
      }
    }
  }
}

/** Rows [start, start + count) of a 2-D tensor as a tensor of their own (they are contiguous). */
function rowView(t: TensorInfo, start: number, count: number, part: string): TensorInfo {
  const rowBytes = t.nBytes / (t.nElements / t.dims[0]!);
  const nRows = t.nElements / t.dims[0]!;
  if (t.dims.length !== 2 || start + count > nRows) {
    throw new InnerWorldError('bad-gguf', `${t.name} is [${t.dims.join(', ')}]: it has no rows ${start}..${start + count - 1} for its ${part} part`);
  }
  return { name: `${t.name}[${part}]`, dims: [t.dims[0]!, count], type: t.type, offset: t.offset + start * rowBytes, nElements: count * t.dims[0]!, nBytes: count * rowBytes };
}

function readHparams(f: GgufFile): { hparams: Hparams; layers: LayerShape[] } {
  const arch = f.get('general.architecture');
  if (typeof arch !== 'string') throw new InnerWorldError('not-llama', `${f.path} has no general.architecture: not a model GGUF`);
  const missing = (key: string): never => {
    throw new InnerWorldError('not-llama', `${f.path} (architecture "${arch}") has no ${arch}.${key}: not a model LLM Inner World can read`);
  };
  const num = (key: string, fallback?: number): number => {
    const v = f.get(`${arch}.${key}`);
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && x === v[0])) return v[0] as number; // a per-layer array of one value
    if (Array.isArray(v)) throw new InnerWorldError('bad-gguf', `${f.path}: ${arch}.${key} is a list where one number is expected`);
    if (fallback !== undefined) return fallback;
    return missing(key);
  };
  const dModel = num('embedding_length');
  const nLayers = num('block_count');
  /** a key llama.cpp reads with get_key_or_arr: one number, or one per layer */
  const perLayer = (key: string, fallback?: number[]): number[] => {
    const v = f.get(`${arch}.${key}`);
    if (typeof v === 'number' || typeof v === 'bigint') return new Array<number>(nLayers).fill(Number(v));
    if (Array.isArray(v)) {
      if (v.length !== nLayers || !v.every((x) => typeof x === 'number' || typeof x === 'bigint')) {
        throw new InnerWorldError('bad-gguf', `${f.path}: ${arch}.${key} lists ${v.length} values but the model has ${nLayers} layers`);
      }
      return v.map(Number);
    }
    if (fallback) return fallback;
    return missing(key);
  };
  /** a per-layer key's scalar: the number, or layer 0's entry as llama.cpp's n_head() / n_ff() take it */
  const first = (key: string, fallback?: number): number => {
    const v = f.get(`${arch}.${key}`);
    if (Array.isArray(v) && v.length > 0) return Number(v[0]);
    return num(key, fallback);
  };
  const nHeads = first('attention.head_count');
  const headsPerLayer = perLayer('attention.head_count');
  const kvPerLayer = perLayer('attention.head_count_kv', headsPerLayer);
  const nExperts = num('expert_count', 0);
  const nExpertsUsed = nExperts > 0 ? first('expert_used_count', 0) : 0;
  // llama.cpp's qwen3moe: expert_feed_forward_length, else n_ff / n_expert_used
  const expertFf = f.get(`${arch}.expert_feed_forward_length`) !== undefined ? first('expert_feed_forward_length') : undefined;
  const ffPerLayer = perLayer('feed_forward_length', nExperts > 0 && expertFf !== undefined ? new Array<number>(nLayers).fill(expertFf) : undefined);
  const tokens = f.get('tokenizer.ggml.tokens');
  const embd = f.tensor('token_embd.weight');
  const nVocab = num('vocab_size', Array.isArray(tokens) ? tokens.length : embd ? embd.dims[1] : 0);
  const nKvHeads = first('attention.head_count_kv', nHeads);
  // llama.cpp's n_embd_head_k: key_length when the file says so (Mistral Nemo: 5120 / 32 heads
  // would be 160, its heads are 128 wide), else d_model / n_heads
  const dHead = num('attention.key_length', nHeads > 0 ? dModel / nHeads : NaN);
  const layers = headsPerLayer.map((h, l): LayerShape => ({ nHeads: h, nKvHeads: kvPerLayer[l]!, dFf: ffPerLayer[l]! }));
  for (const [l, s] of [[-1, { nHeads, nKvHeads, dFf: 0 }] as const, ...layers.entries()]) {
    if (s.nHeads <= 0 || !Number.isInteger(dHead) || dHead <= 0 || s.nKvHeads <= 0 || s.nHeads % s.nKvHeads !== 0) {
      throw new InnerWorldError('bad-gguf', `inconsistent attention shape${l >= 0 && layers.length > 1 ? ` in layer ${l}` : ''}: d_model ${dModel}, ${s.nHeads} heads of ${dHead}, ${s.nKvHeads} kv heads`);
    }
  }
  const hparams: Hparams = {
    arch,
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dFf: first('feed_forward_length'),
    nVocab,
    nCtxTrain: num('context_length', 2048),
    rmsEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    ropeFreqBase: num('rope.freq_base', 10000),
    ropeDim: num('rope.dimension_count', dHead),
    nExperts,
    nExpertsUsed,
    dFfExpert: nExperts > 0 ? expertFf ?? (nExpertsUsed > 0 ? Math.floor(ffPerLayer[0]! / nExpertsUsed) : 0) : 0,
  };
  return { hparams, layers };
}

function readArchParams(f: GgufFile, hp: Hparams, table: ArchTable): ArchParams {
  const key = (k: string): number | undefined => {
    const v = f.get(`${hp.arch}.${k}`);
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
  };
  const softcap = (k: string | undefined, fallback: number | undefined): number | undefined => {
    if (!k) return undefined;
    const v = key(k) ?? fallback;
    return v !== undefined && v > 0 ? v : undefined;
  };
  const gemma = hp.arch === 'gemma2' || hp.arch === 'gemma3';
  // gemma's 27B models scale q by 1/sqrt(d_model / n_heads) (llama.cpp picks them by layer count)
  const big = (hp.arch === 'gemma2' && hp.nLayers === 46) || (hp.arch === 'gemma3' && hp.nLayers === 62);
  const window = gemma ? key('attention.sliding_window') ?? (hp.arch === 'gemma2' ? 4096 : undefined) : undefined;
  const pattern = gemma ? key('attention.sliding_window_pattern') ?? (hp.arch === 'gemma2' ? 2 : 6) : 1;
  const sliding = window !== undefined && window > 0;
  return {
    table,
    ropeType: table.ropeType,
    embeddingScale: table.lens.embeddingScale === 'sqrt_d_model' ? Math.fround(Math.sqrt(hp.dModel)) : 1,
    finalSoftcap: softcap(table.lens.finalSoftcapKey, table.lens.finalSoftcapDefault),
    attnSoftcap: softcap(table.attnSoftcapKey, table.attnSoftcapDefault),
    attnScale: big ? 1 / Math.sqrt(hp.dModel / hp.nHeads) : 1 / Math.sqrt(hp.dHead),
    slidingWindow: sliding ? window : undefined,
    // gemma2 reads the key over its own base; gemma3 over llama.cpp's default of 10000
    ropeFreqBaseSwa: key('rope.freq_base_swa') ?? (hp.arch === 'gemma2' ? hp.ropeFreqBase : 10000),
    ffnActivation: table.ffnActivation,
    // llama.cpp's set_swa_pattern: layer l slides when l % pattern < pattern - 1
    isSlidingLayer: (l) => sliding && (pattern === 0 || l % pattern < pattern - 1),
  };
}
