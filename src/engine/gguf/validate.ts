// Preflight: what llama.cpp would assert on (an abort, not an error it can return), and every
// hyperparameter checked against what the file can hold before anything is sized by it. Runs on
// the parsed header only, reads no tensor data, and refuses with one line: the path once, the
// reason, then what to do. Independent of LlamaModelFile's hyperparameter reading on purpose: it
// looks at the raw metadata, so a value that would size an allocation is bounded before any
// analysis sees it.
import { InnerWorldError, quoteFileText as q } from '../errors';
import { GgufError } from './errors';
import { SUPPORTED_ARCHS } from './llamaModel';
import { GgufFile, type TensorInfo } from './reader';
import { GgufValueType as T, type GgufValue } from './values';

/** llama.cpp's LLAMA_MAX_LAYERS: per-layer hyperparameters live in arrays of this size. */
export const MAX_LAYERS = 512;
/** tokenizer.ggml.model values llama.cpp knows (llama-vocab.cpp load) */
const KNOWN_TOKENIZERS = new Set(['no_vocab', 'none', 'llama', 'bert', 'gpt2', 'hybriddna', 'whitespace', 't5', 'rwkv', 'plamo2', 'gemma4']);
/**
 * tokenizers the supported families run with: SentencePiece (Llama 2, Mistral, Phi-3), byte-level
 * BPE (Llama 3, Qwen) and Gemma's
 */
const LLAMA_TOKENIZERS = new Set(['llama', 'gpt2', 'gemma4']);

const RECONVERT = 'Re-convert the model with llama.cpp\'s convert_hf_to_gguf.py, or use another GGUF file.';

/** A preflight refusal: the reason (without the path) and what to do. */
class Refusal extends Error {
  constructor(
    readonly reason: string,
    readonly advice = RECONVERT,
  ) {
    super(reason);
  }
}

/**
 * Opens a GGUF file and runs the preflight; every refusal is an InnerWorldError('bad-gguf') whose
 * message names the path once. The caller owns (and closes) the returned file.
 */
export function openValidated(path: string): GgufFile {
  let f: GgufFile;
  try {
    f = GgufFile.open(path);
  } catch (e) {
    if (e instanceof GgufError) {
      const advice = e.kind === 'truncated' || e.kind === 'tensor-outside-file' ? 'The file may be incomplete: download or convert it again.' : e.kind === 'not-gguf' ? 'Choose a .gguf model file.' : RECONVERT;
      throw refusal(path, e.reason, advice);
    }
    throw e;
  }
  try {
    preflight(f);
    return f;
  } catch (e) {
    f.close();
    throw e;
  }
}

/** openValidated for a caller that only wants the verdict. */
export function validateModelPath(path: string): void {
  openValidated(path).close();
}

/** The checks on an open file; throws InnerWorldError('bad-gguf'). */
export function preflight(f: GgufFile): void {
  try {
    checkFile(f);
  } catch (e) {
    if (e instanceof Refusal) throw refusal(f.path, e.reason, e.advice);
    throw e;
  }
}

function refusal(path: string, reason: string, advice: string): InnerWorldError {
  return new InnerWorldError('bad-gguf', `${q(path, 200)} cannot be used: ${reason}. ${advice}`);
}

function checkFile(f: GgufFile): void {
  const archValue = f.value('general.architecture');
  if (archValue !== undefined && archValue.type !== T.STRING) throw new Refusal('general.architecture is not a string');
  const arch = archValue?.value as string | undefined;
  const tokens = checkVocabulary(f);
  if (arch === undefined) return;
  const hp = checkHparams(f, arch);
  if (SUPPORTED_ARCHS.has(arch) && f.tensors.length > 0) checkSupported(f, arch, hp, tokens);
}

// ---- metadata access: the type a key must have, or a refusal naming it ----

/** A non-negative integer scalar (any integer type), or undefined when absent. */
function intOf(f: GgufFile, key: string): number | undefined {
  const v = f.value(key);
  if (v === undefined) return undefined;
  const n = scalarNumber(v);
  if (n === undefined || !Number.isInteger(n)) throw new Refusal(`${key} must be an integer, the file has ${describe(v)}`);
  if (n < 0) throw new Refusal(`${key} is ${n}, a negative count`);
  return n;
}

function floatOf(f: GgufFile, key: string): number | undefined {
  const v = f.value(key);
  if (v === undefined) return undefined;
  const n = scalarNumber(v);
  if (n === undefined) throw new Refusal(`${key} must be a number, the file has ${describe(v)}`);
  return n;
}

function scalarNumber(v: GgufValue): number | undefined {
  if (v.type === T.UINT64 || v.type === T.INT64) return Number(v.value);
  if (typeof v.value === 'number') return v.value;
  return undefined;
}

/** A per-layer integer: one value for every layer, or an array with one value per layer (llama.cpp's get_key_or_arr). */
function perLayerOf(f: GgufFile, key: string, nLayers: number): number[] | undefined {
  const v = f.value(key);
  if (v === undefined) return undefined;
  if (v.type !== T.ARRAY) {
    const n = intOf(f, key)!;
    return new Array<number>(nLayers).fill(n);
  }
  const arr = v.value;
  if (Array.isArray(arr) || arr instanceof Float32Array || arr instanceof Float64Array) throw new Refusal(`${key} must hold integers, the file has ${describe(v)}`);
  if (arr.length !== nLayers) throw new Refusal(`${key} has ${arr.length} per-layer values for ${nLayers} layers`);
  const out = Array.from(arr as ArrayLike<number | bigint>, Number);
  if (out.some((x) => x < 0)) throw new Refusal(`${key} holds a negative count`);
  return out;
}

function describe(v: GgufValue): string {
  const names = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];
  if (v.type === T.ARRAY) return `an array of ${names[v.elementType] ?? '?'}`;
  const shown = typeof v.value === 'string' ? q(v.value, 40) : String(v.value);
  return `${names[v.type]} ${shown}`;
}

// ---- the vocabulary: what llama.cpp's llama_vocab::load asserts on or dereferences blindly ----

function checkVocabulary(f: GgufFile): readonly string[] | undefined {
  const tv = f.value('tokenizer.ggml.tokens');
  if (tv === undefined) return undefined;
  if (tv.type !== T.ARRAY || tv.elementType !== T.STRING) throw new Refusal(`tokenizer.ggml.tokens must be an array of strings, the file has ${describe(tv)}`);
  const tokens = tv.value as string[];
  if (tokens.length === 0) throw new Refusal('the vocabulary (tokenizer.ggml.tokens) is empty');
  const mv = f.value('tokenizer.ggml.model');
  if (mv === undefined) throw new Refusal('the file has a vocabulary but no tokenizer.ggml.model saying how to tokenize with it');
  if (mv.type !== T.STRING) throw new Refusal(`tokenizer.ggml.model must be a string, the file has ${describe(mv)}`);
  if (!KNOWN_TOKENIZERS.has(mv.value)) throw new Refusal(`tokenizer ${q(mv.value, 40)} is not one llama.cpp knows (${[...KNOWN_TOKENIZERS].join(', ')})`);
  for (const [key, numeric] of [['tokenizer.ggml.scores', 'float'], ['tokenizer.ggml.token_type', 'integer']] as const) {
    const v = f.value(key);
    if (v === undefined) continue;
    const ok = v.type === T.ARRAY && (numeric === 'float' ? v.elementType === T.FLOAT32 : v.elementType === T.INT32);
    if (!ok) throw new Refusal(`${key} must be an array of ${numeric === 'float' ? 'f32' : 'i32'}, the file has ${describe(v)}`);
    if ((v.value as ArrayLike<unknown>).length < tokens.length) throw new Refusal(`${key} has ${(v.value as ArrayLike<unknown>).length} entries for ${tokens.length} tokens`);
  }
  // llama.cpp asserts id_to_token.size() == token_to_id.size(): every token string must be unique.
  // Strings that did not decode as UTF-8 are left out: two different byte strings read the same.
  const seen = new Map<string, number>();
  for (let id = 0; id < tokens.length; id++) {
    const t = tokens[id]!;
    if (t.includes('\ufffd')) continue;
    const first = seen.get(t);
    if (first !== undefined) throw new Refusal(`token ${id} ${q(t, 40)} repeats token ${first}: llama.cpp needs every token string once`);
    seen.set(t, id);
  }
  if (mv.value === 'llama') {
    // SentencePiece falls back to byte tokens for any character not in the vocabulary; llama.cpp
    // looks them up unchecked, so a missing one aborts in the middle of tokenizing
    const missing: string[] = [];
    for (let b = 0; b < 256; b++) {
      const name = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      if (!seen.has(name)) missing.push(name);
    }
    if (missing.length) throw new Refusal(`the SentencePiece vocabulary lacks ${missing.length} of its 256 byte tokens (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
  }
  if (mv.value === 'gpt2') {
    const merges = f.value('tokenizer.ggml.merges');
    if (merges === undefined || merges.type !== T.ARRAY || merges.elementType !== T.STRING) throw new Refusal('the BPE vocabulary has no tokenizer.ggml.merges (an array of strings)');
  }
  return tokens;
}

// ---- hyperparameters: types, ranges, and bounded by what the file holds ----

interface RawHparams {
  nLayers: number | undefined;
  dModel: number | undefined;
}

function checkHparams(f: GgufFile, arch: string): RawHparams {
  const k = (name: string): string => `${arch}.${name}`;
  const nLayers = intOf(f, k('block_count'));
  if (nLayers !== undefined) {
    if (nLayers === 0) throw new Refusal(`${k('block_count')} is 0: a model has at least one layer`);
    if (nLayers > MAX_LAYERS) throw new Refusal(`${k('block_count')} is ${nLayers}, more layers than llama.cpp's limit of ${MAX_LAYERS}`);
    // each layer has at least one tensor of its own; a vocabulary-only file (no tensors) keeps
    // the model's block_count as a description
    if (f.tensors.length > 0 && nLayers > f.tensors.length) throw new Refusal(`${k('block_count')} is ${nLayers} but the file has only ${f.tensors.length} tensors`);
  }
  // no dimension can exceed the largest tensor (a vocabulary-only file: 2^24); a supported model's
  // dimensions are then checked exactly against its tensors' shapes (checkSupported)
  let maxDim = f.tensors.length > 0 ? 0 : 1 << 24;
  for (const t of f.tensors) maxDim = Math.max(maxDim, t.nElements);
  const dim = (name: string): number | undefined => {
    const n = intOf(f, k(name));
    if (n !== undefined && (n === 0 || n > maxDim)) throw new Refusal(`${k(name)} is ${n}, ${n === 0 ? 'an empty dimension' : `larger than any tensor in the file (the largest has ${maxDim} elements)`}`);
    return n;
  };
  const dModel = dim('embedding_length');
  dim('attention.key_length');
  dim('attention.value_length');
  dim('rope.dimension_count');
  const ctx = intOf(f, k('context_length'));
  if (ctx === 0) throw new Refusal(`${k('context_length')} is 0`);
  if (nLayers !== undefined) {
    for (const name of ['feed_forward_length', 'attention.head_count', 'attention.head_count_kv']) {
      const per = perLayerOf(f, k(name), nLayers);
      const big = per?.find((x) => x > maxDim);
      if (big !== undefined) throw new Refusal(`${k(name)} is ${big}, larger than any tensor in the file (the largest has ${maxDim} elements)`);
    }
  }
  // ggml_rms_norm and ggml_norm assert eps >= 0; NaN and infinities would make every state NaN
  for (const name of ['attention.layer_norm_rms_epsilon', 'attention.layer_norm_epsilon']) {
    const eps = floatOf(f, k(name));
    if (eps !== undefined && !(eps >= 0 && Number.isFinite(eps))) throw new Refusal(`${k(name)} is ${eps}: a normalization epsilon must be a finite number of at least 0`);
  }
  const base = floatOf(f, k('rope.freq_base'));
  if (base !== undefined && !(base > 0 && Number.isFinite(base))) throw new Refusal(`${k('rope.freq_base')} is ${base}: a rotary base must be a finite positive number`);
  return { nLayers, dModel };
}

// ---- a supported family's model: the tokenizer it can run with, tensor shapes against hyperparameters ----

function checkSupported(f: GgufFile, arch: string, hp: RawHparams, tokens: readonly string[] | undefined): void {
  const k = (name: string): string => `${arch}.${name}`;
  if (!tokens) throw new Refusal('the model has no vocabulary (tokenizer.ggml.tokens): llama.cpp cannot tokenize for it');
  const tokenizer = f.get('tokenizer.ggml.model') as string;
  if (!LLAMA_TOKENIZERS.has(tokenizer)) throw new Refusal(`a "${arch}" model with a ${q(tokenizer, 20)} tokenizer: the families LLM Inner World runs use SentencePiece ("llama"), BPE ("gpt2") or Gemma's ("gemma4")`);
  const { nLayers, dModel } = hp;
  // the keys llama.cpp's llama loader requires (llama_model::load_hparams: get_key without a default)
  for (const name of ['context_length', 'embedding_length', 'block_count', 'attention.layer_norm_rms_epsilon']) {
    if (f.value(k(name)) === undefined) throw new Refusal(`${k(name)} is missing: llama.cpp needs it to load a "${arch}" model`);
  }
  if (nLayers === undefined || dModel === undefined) return; // unreachable: both were required just above
  const heads = perLayerOf(f, k('attention.head_count'), nLayers);
  if (!heads) throw new Refusal(`${k('attention.head_count')} is missing`);
  const kvHeads = perLayerOf(f, k('attention.head_count_kv'), nLayers) ?? heads;
  const ff = perLayerOf(f, k('feed_forward_length'), nLayers);
  const nHead0 = heads.find((h) => h > 0) ?? 0;
  const dHead = intOf(f, k('attention.key_length')) ?? (nHead0 > 0 ? dModel / nHead0 : NaN);
  if (!Number.isInteger(dHead) || dHead <= 0) throw new Refusal(`${k('embedding_length')} ${dModel} does not split into ${nHead0} heads`);
  const ropeDim = intOf(f, k('rope.dimension_count'));
  if (ropeDim !== undefined && (ropeDim > dHead || ropeDim % 2 !== 0)) throw new Refusal(`${k('rope.dimension_count')} is ${ropeDim}, for heads of ${dHead}: it must be even and at most the head size`);

  const shape = (name: string, want: readonly number[]): void => {
    const t: TensorInfo | undefined = f.tensor(name);
    if (!t) return; // a missing tensor is LlamaModelFile.validate's to name, with the others missing
    const dims = [...t.dims];
    while (dims.length > want.length && dims[dims.length - 1] === 1) dims.pop();
    if (dims.length !== want.length || dims.some((d, i) => d !== want[i])) {
      throw new Refusal(`tensor ${name} is [${t.dims.join(', ')}] but the hyperparameters say [${want.join(', ')}]`);
    }
  };
  shape('token_embd.weight', [dModel, tokens.length]);
  shape('output.weight', [dModel, tokens.length]);
  shape('output_norm.weight', [dModel]);
  for (let l = 0; l < nLayers; l++) {
    const h = heads[l]!;
    const kv = kvHeads[l]!;
    if (h === 0 || kv === 0 || h % kv !== 0) throw new Refusal(`layer ${l} has ${h} query heads and ${kv} key/value heads: the query heads must be a positive multiple of the key/value heads`);
    const p = `blk.${l}.`;
    shape(`${p}attn_norm.weight`, [dModel]);
    shape(`${p}attn_q.weight`, [dModel, h * dHead]);
    shape(`${p}attn_k.weight`, [dModel, kv * dHead]);
    shape(`${p}attn_v.weight`, [dModel, kv * dHead]);
    shape(`${p}attn_qkv.weight`, [dModel, (h + 2 * kv) * dHead]); // phi3's fused q, k, v
    shape(`${p}attn_output.weight`, [h * dHead, dModel]);
    shape(`${p}ffn_norm.weight`, [dModel]);
    if (ff) {
      // without ffn_gate, ffn_up holds gate and up fused (phi3)
      const fused = f.tensor(`${p}ffn_gate.weight`) === undefined;
      shape(`${p}ffn_gate.weight`, [dModel, ff[l]!]);
      shape(`${p}ffn_up.weight`, [dModel, (fused ? 2 : 1) * ff[l]!]);
      shape(`${p}ffn_down.weight`, [ff[l]!, dModel]);
    }
    // a mixture of experts' routed FFN (qwen3moe): the expert tensors' shapes are checked by LlamaModelFile.validate
  }
}
