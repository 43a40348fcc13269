// Anatomy (SPEC section 1, article section 1): what the matrices are, from the file alone. The
// parameter tally is written the way the article writes it, next to the file's own count, with the
// reasons they differ spelled out (a Llama-2 GGUF stores no rope_freqs; a tied model one dictionary).
// A mixture of experts' tally also says how many parameters one token actually uses.
import { LLAMA_FAMILY, type Hparams } from '../gguf/llamaModel';
import { typeName } from '../gguf/ggmlTypes';

/** What a tensor is for, in the project's vocabulary. */
/**
 * What a tensor is for, in the project's vocabulary. W_QKV: q, k and v fused in one tensor (phi3's
 * attn_qkv; the weight views split it into W_Q, W_K, W_V). W_gate_inp: a mixture of experts' router.
 * A mixture of experts' W_gate / W_in / W_out are 3-D: one slab per expert.
 */
export type TensorRole = 'W_E' | 'W_U' | 'W_Q' | 'W_K' | 'W_V' | 'W_QKV' | 'W_O' | 'W_gate_inp' | 'W_gate' | 'W_in' | 'W_out' | 'ln1' | 'ln2' | 'ln_final' | 'rope_freqs' | 'other';

export interface TensorLike {
  readonly name: string;
  /** ggml order: dims[0] is the row length */
  readonly dims: readonly number[];
  readonly type: number;
  readonly nElements: number;
  readonly nBytes: number;
}

export interface TensorRow {
  name: string;
  layer: number | null;
  role: TensorRole;
  /** PyTorch order ([rows, row length]), as the article lists them: token_embd is [32000, 4096] */
  shape: number[];
  type: string;
  params: number;
  bytes: number;
}

const BLOCK_ROLES: Record<string, TensorRole> = {
  attn_q: 'W_Q',
  attn_k: 'W_K',
  attn_v: 'W_V',
  attn_qkv: 'W_QKV',
  attn_output: 'W_O',
  ffn_gate_inp: 'W_gate_inp',
  ffn_gate: 'W_gate',
  ffn_up: 'W_in',
  ffn_down: 'W_out',
  ffn_gate_exps: 'W_gate',
  ffn_up_exps: 'W_in',
  ffn_down_exps: 'W_out',
  attn_norm: 'ln1',
  ffn_norm: 'ln2',
};
/** Every role, in forward order. */
export const TENSOR_ROLES: readonly TensorRole[] = ['W_E', 'ln1', 'W_Q', 'W_K', 'W_V', 'W_QKV', 'W_O', 'ln2', 'W_gate_inp', 'W_gate', 'W_in', 'W_out', 'ln_final', 'W_U', 'rope_freqs', 'other'];

export function classifyTensor(name: string): { layer: number | null; role: TensorRole } {
  const m = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(name);
  if (m) return { layer: Number(m[1]), role: BLOCK_ROLES[m[2]!] ?? 'other' };
  if (name === 'token_embd.weight') return { layer: null, role: 'W_E' };
  if (name === 'output.weight') return { layer: null, role: 'W_U' };
  if (name === 'output_norm.weight') return { layer: null, role: 'ln_final' };
  if (name === 'rope_freqs.weight') return { layer: null, role: 'rope_freqs' };
  return { layer: null, role: 'other' };
}

/** The tensor table, grouped: global tensors first, then layer by layer, roles in forward order. */
export function tensorTable(tensors: readonly TensorLike[]): TensorRow[] {
  const rows = tensors.map((t) => ({
    name: t.name,
    ...classifyTensor(t.name),
    shape: [...t.dims].reverse(),
    type: typeName(t.type),
    params: t.nElements,
    bytes: t.nBytes,
  }));
  const key = (r: TensorRow): number => {
    const roleIdx = TENSOR_ROLES.indexOf(r.role);
    if (r.layer !== null) return 1e6 * (r.layer + 1) + roleIdx;
    return r.role === 'W_E' ? 0 : 1e6 * 1e5 + roleIdx;
  };
  return rows.sort((a, b) => key(a) - key(b) || a.name.localeCompare(b.name));
}

export interface TallyTerms {
  /** the two n_vocab x d_model dictionaries */
  dictionaries: number;
  /** W_Q, W_K, W_V, W_O of one layer (grouped-query attention shrinks W_K and W_V) */
  attentionPerLayer: number;
  /** W_gate, W_in, W_out of one layer (SwiGLU) */
  ffnPerLayer: number;
  /** the two RMSNorm gains of one layer */
  normsPerLayer: number;
  finalNorm: number;
  /** the rotary frequencies: d_rope / 2 of them */
  ropeFreqs: number;
  nLayers: number;
  total: number;
}

export interface ParameterTally {
  /**
   * whether the article's tally describes this file: a Llama-family model with weights. Not for
   * another architecture (GPT-2's LayerNorm and GELU, BERT, Falcon) or a vocabulary-only file.
   */
  applies: boolean;
  /** the article's formula, from the hyperparameters; null where it does not apply */
  article: TallyTerms | null;
  /** the same terms summed from the tensors the file actually stores */
  file: TallyTerms & { other: number };
  /** article.total - file.total; null where the article's tally does not apply */
  difference: number | null;
  /** why the two totals differ, one sentence each */
  notes: string[];
  /** a mixture of experts: the parameters one token uses next to the file's total */
  experts?: ExpertTally;
}

export interface ExpertTally {
  nExperts: number;
  nExpertsUsed: number;
  /** parameters in the expert tensors (every expert's W_gate, W_in, W_out) */
  expertParams: number;
  /** the file's total */
  total: number;
  /** total less the experts the router leaves out: (n_expert - n_used) / n_expert of the expert parameters */
  activePerToken: number;
}

/** Total and active-per-token parameters of a mixture of experts, from the tensors the file stores. */
export function expertTally(hp: Hparams, tensors: readonly TensorLike[]): ExpertTally | undefined {
  if (hp.nExperts <= 0) return undefined;
  const expertParams = tensors.filter((t) => /^blk\.\d+\.ffn_(gate|up|down)_exps\.weight$/.test(t.name)).reduce((acc, t) => acc + t.nElements, 0);
  const total = tensors.reduce((acc, t) => acc + t.nElements, 0);
  const idle = (expertParams * (hp.nExperts - hp.nExpertsUsed)) / hp.nExperts;
  return { nExperts: hp.nExperts, nExpertsUsed: hp.nExpertsUsed, expertParams, total, activePerToken: total - idle };
}

/**
 * The article's tally: 2 n_vocab d + n_layers (4 d^2 [attention, GQA-adjusted] + 3 d d_ff + 2 d)
 * + d + d_rope/2, and the file's own count by the same terms.
 */
export function parameterTally(hp: Hparams, tensors: readonly TensorLike[]): ParameterTally {
  const d = hp.dModel;
  const dKv = hp.nKvHeads * hp.dHead;
  const attention = d * d + 2 * d * dKv + d * d;
  const ffn = 3 * d * hp.dFf;
  const ropeFreqs = Math.floor(hp.ropeDim / 2);
  const article: TallyTerms = {
    dictionaries: 2 * hp.nVocab * d,
    attentionPerLayer: attention,
    ffnPerLayer: ffn,
    normsPerLayer: 2 * d,
    finalNorm: d,
    ropeFreqs,
    nLayers: hp.nLayers,
    total: 0,
  };
  article.total = article.dictionaries + hp.nLayers * (attention + ffn + 2 * d) + d + ropeFreqs;

  const sums = new Map<TensorRole, number>();
  for (const t of tensors) {
    const { role } = classifyTensor(t.name);
    sums.set(role, (sums.get(role) ?? 0) + t.nElements);
  }
  const s = (...roles: TensorRole[]): number => roles.reduce((acc, r) => acc + (sums.get(r) ?? 0), 0);
  const nL = Math.max(1, hp.nLayers);
  const file = {
    dictionaries: s('W_E', 'W_U'),
    attentionPerLayer: s('W_Q', 'W_K', 'W_V', 'W_QKV', 'W_O') / nL,
    ffnPerLayer: s('W_gate_inp', 'W_gate', 'W_in', 'W_out') / nL,
    normsPerLayer: s('ln1', 'ln2') / nL,
    finalNorm: s('ln_final'),
    ropeFreqs: s('rope_freqs'),
    nLayers: hp.nLayers,
    other: s('other'),
    total: tensors.reduce((acc, t) => acc + t.nElements, 0),
  };

  if (tensors.length === 0) {
    return { applies: false, article: null, file, difference: null, notes: ['This file holds a vocabulary and no weights: there are no parameters to count, and the article\'s tally does not apply.'] };
  }
  const experts = expertTally(hp, tensors);
  if (!LLAMA_FAMILY.has(hp.arch)) {
    const notes = [`The article's tally describes a Llama-family model (RMSNorm, SwiGLU feed-forward, rotary positions); this is a "${hp.arch}" model, built differently, so only the file's own count (${file.total} parameters) applies.`];
    if (experts) {
      notes.push(`A mixture of experts: each layer's router picks ${experts.nExpertsUsed} of ${experts.nExperts} experts for every token, so of the file's ${experts.total} parameters a token uses ${experts.activePerToken} (the experts hold ${experts.expertParams}, of which ${experts.nExpertsUsed}/${experts.nExperts} run).`);
    }
    return { applies: false, article: null, file, difference: null, notes, ...(experts ? { experts } : {}) };
  }

  const notes: string[] = [];
  if (file.ropeFreqs === 0 && ropeFreqs > 0) {
    notes.push(`The file stores no rope_freqs tensor: llama.cpp computes the ${ropeFreqs} rotary frequencies from rope.freq_base (${hp.ropeFreqBase}), so the file has ${ropeFreqs} fewer parameters than the article's count.`);
  }
  if (!tensors.some((t) => t.name === 'output.weight')) {
    notes.push(`The file has no output.weight: the output dictionary is tied to the input dictionary (token_embd), so it stores ${hp.nVocab * d} fewer parameters.`);
  }
  if (file.other > 0) notes.push(`The file holds ${file.other} parameters in tensors the article's tally has no term for.`);
  const explained = file.dictionaries - article.dictionaries + (file.ropeFreqs - ropeFreqs) + file.other;
  const difference = article.total - file.total;
  if (difference + explained !== 0) {
    notes.push(`The layer tensors differ from the shapes the hyperparameters imply by ${-(difference + explained)} parameters.`);
  }
  return { applies: true, article, file, difference, notes };
}

export interface CacheSizes {
  nTokens: number;
  /** (n_layers + 1) * n_tokens * d_model * bytesPerValue: every state vector of every layer */
  stateBytes: number;
  /** 2 (K and V) * n_layers * n_tokens * n_kv_heads * d_head * bytesPerValue */
  kvBytes: number;
  bytesPerValue: number;
}

/** The article's cache estimate (270 MB for 1000 tokens at 7B, 2 bytes a value) and the KV cache. */
export function cacheSizes(hp: Hparams, nTokens: number, bytesPerValue = 2): CacheSizes {
  return {
    nTokens,
    stateBytes: (hp.nLayers + 1) * nTokens * hp.dModel * bytesPerValue,
    kvBytes: 2 * hp.nLayers * nTokens * hp.nKvHeads * hp.dHead * bytesPerValue,
    bytesPerValue,
  };
}
