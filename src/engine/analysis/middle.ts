// The middle dictionary (SPEC 2.B, companion page "Creating-Middle"): for each word w of a word
// list, the 2-token prompt [<s>, w] runs up to layer L (default 2); its state at position 1, with
// the <s> direction and the word's own input-dictionary direction removed, normalized, is w's row.
// Built once per model and recipe, cached on disk, keyed by the model file's identity (resolved
// path, size, modification time) and the recipe; rows for new prompt tokens are added on demand.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InnerWorldError } from '../errors';
import type { LlamaModelFile } from '../gguf/llamaModel';
import { stateHook } from '../hookNames';
import { f32Dictionary, type Dictionary } from './dictionary';
import { dot, normalized } from './math';
import { commonWordTokens, WORD_LIST_RULE_VERSION } from './wordList';
import { modelIdentity, sha256, writeFileAtomic } from '../util/cacheFile';

const FORMAT_VERSION = 2; // 2: the metadata carries the rows' SHA-256
const PROMPTS_PER_CALL = 256;

/** What building needs from a loaded model (a ModelSession fits). */
export interface MiddleModel {
  readonly file: LlamaModelFile;
  readonly info: { readonly path: string; readonly nLayers: number; readonly dModel: number };
  runBatch(prompts: readonly (readonly number[])[], hook: string, signal?: { cancelled: boolean }): { rows: Float32Array; offsets: readonly number[]; d: number };
}

export interface MiddleRecipe {
  /** state index h[layer] (1 = after block 0); the article's is 2 */
  layer: number;
  /** common words taken by the word-list rule (wordList.ts) */
  words: number;
}

export const DEFAULT_MIDDLE_RECIPE: MiddleRecipe = { layer: 2, words: 3000 };

export interface MiddleOptions extends Partial<MiddleRecipe> {
  /** folder for the cache files; none: build in memory only */
  cacheDir?: string;
  /** tokens that must have rows (the prompt's) */
  extraTokens?: readonly number[];
  signal?: { cancelled: boolean };
  onProgress?: (done: number, total: number) => void;
}

interface CacheMeta {
  version: number;
  key: string;
  model: { path: string; size: number; mtimeMs: number };
  recipe: MiddleRecipe & { rule: number };
  dModel: number;
  tokens: number[];
  /** SHA-256 of the rows file: a damaged or truncated cache is rebuilt, not read */
  rowsSha256: string;
}

export class MiddleDictionary {
  private constructor(
    private readonly model: MiddleModel,
    readonly recipe: MiddleRecipe,
    readonly key: string,
    private tokens: number[],
    private data: Float32Array, // [tokens, d_model]
    private readonly files: { meta: string; rows: string } | undefined,
    /** true when the rows came from the disk cache */
    readonly fromCache: boolean,
  ) {}

  /** Load the cached dictionary for this model and recipe, or build (and cache) it. */
  static open(model: MiddleModel, opts: MiddleOptions = {}): MiddleDictionary {
    const recipe: MiddleRecipe = { layer: opts.layer ?? DEFAULT_MIDDLE_RECIPE.layer, words: opts.words ?? DEFAULT_MIDDLE_RECIPE.words };
    const { nLayers } = model.info;
    if (!Number.isInteger(recipe.layer) || recipe.layer < 1 || recipe.layer > nLayers) throw new InnerWorldError('bad-argument', `middle dictionary layer ${recipe.layer} is outside 1..${nLayers}`);
    if (!Number.isInteger(recipe.words) || recipe.words < 0) throw new InnerWorldError('bad-argument', `word count ${recipe.words} must be a non-negative integer`);
    const identity = modelIdentity(model.info.path);
    const key = createHash('sha256').update(JSON.stringify({ v: FORMAT_VERSION, identity, recipe, rule: WORD_LIST_RULE_VERSION })).digest('hex').slice(0, 20);
    const files = opts.cacheDir ? { meta: path.join(opts.cacheDir, `middle-${key}.json`), rows: path.join(opts.cacheDir, `middle-${key}.f32`) } : undefined;
    const cached = files ? readCache(files, key, model.info.dModel) : undefined;
    let dict: MiddleDictionary;
    if (cached) {
      dict = new MiddleDictionary(model, recipe, key, cached.tokens, cached.data, files, true);
    } else {
      dict = new MiddleDictionary(model, recipe, key, [], new Float32Array(0), files, false);
      dict.add(commonWordTokens(model.file.tokens, recipe.words), opts);
    }
    if (opts.extraTokens) dict.ensureTokens(opts.extraTokens, opts);
    if (files && (!cached || dict.tokens.length !== cached.tokens.length)) dict.save(identity);
    return dict;
  }

  get size(): number {
    return this.tokens.length;
  }

  get tokenIds(): readonly number[] {
    return this.tokens;
  }

  /** The rows as a dictionary for the lens and the neighbour search. */
  dictionary(): Dictionary {
    return f32Dictionary('middle', this.data, this.model.info.dModel, Int32Array.from(this.tokens), `middle:${this.key}:${this.tokens.length}`);
  }

  /** Add rows for the tokens that have none (prompt tokens); saves the cache when it grew. */
  ensureTokens(tokens: readonly number[], opts: Pick<MiddleOptions, 'signal' | 'onProgress'> = {}): void {
    const have = new Set(this.tokens);
    const missing = [...new Set(tokens)].filter((t) => !have.has(t));
    if (missing.length === 0) return;
    this.add(missing, opts);
    if (this.files) this.save(modelIdentity(this.model.info.path));
  }

  private add(candidates: readonly number[], opts: Pick<MiddleOptions, 'signal' | 'onProgress'>): void {
    const { bos, eos, unk } = this.model.file.specialTokens;
    if (bos === undefined) throw new InnerWorldError('bad-argument', `${this.model.file.name} has no <s> (BOS) token: the middle dictionary's prompts start with it`);
    const words = candidates.filter((t) => t !== bos && t !== eos && t !== unk);
    if (words.length === 0) return;
    const d = this.model.info.dModel;
    const hook = stateHook(this.recipe.layer);
    const rows = new Float32Array(words.length * d);
    for (let start = 0; start < words.length; start += PROMPTS_PER_CALL) {
      const group = words.slice(start, start + PROMPTS_PER_CALL);
      const res = this.model.runBatch(group.map((w) => [bos, w]), hook, opts.signal);
      const sink = normalized(res.rows.subarray(res.offsets[0]! * d, (res.offsets[0]! + 1) * d)); // position 0: the same <s> state in every prompt
      group.forEach((w, i) => {
        const at = (res.offsets[i]! + 1) * d;
        rows.set(middleRow(res.rows.subarray(at, at + d), sink, this.model.file.rows(this.model.file.W_E, w, 1)), (start + i) * d);
      });
      opts.onProgress?.(Math.min(start + PROMPTS_PER_CALL, words.length), words.length);
    }
    const grown = new Float32Array(this.data.length + rows.length);
    grown.set(this.data);
    grown.set(rows, this.data.length);
    this.data = grown;
    this.tokens = [...this.tokens, ...words];
  }

  private save(identity: CacheMeta['model']): void {
    const files = this.files!;
    fs.mkdirSync(path.dirname(files.meta), { recursive: true });
    const rows = new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    const meta: CacheMeta = { version: FORMAT_VERSION, key: this.key, model: identity, recipe: { ...this.recipe, rule: WORD_LIST_RULE_VERSION }, dModel: this.model.info.dModel, tokens: this.tokens, rowsSha256: sha256(rows) };
    // rows first, then the metadata that says how many rows are valid and their checksum; each
    // written atomically, so a crash between the two leaves a mismatch that reads as "rebuild"
    writeFileAtomic(files.rows, rows);
    writeFileAtomic(files.meta, Buffer.from(JSON.stringify(meta)));
  }
}

/**
 * One middle-dictionary row: v normalized, minus its component along the normalized <s> state,
 * minus its component along the word's normalized input row, normalized again.
 */
export function middleRow(v: Float32Array, sinkUnit: Float32Array, inputRow: Float32Array): Float32Array {
  const x = normalized(v);
  const a = dot(sinkUnit, x);
  for (let i = 0; i < x.length; i++) x[i]! -= a * sinkUnit[i]!;
  const e = normalized(inputRow);
  const xn = normalized(x);
  const b = dot(e, xn);
  for (let i = 0; i < xn.length; i++) xn[i]! -= b * e[i]!;
  return normalized(xn);
}

function readCache(files: { meta: string; rows: string }, key: string, dModel: number): { tokens: number[]; data: Float32Array } | undefined {
  try {
    const meta = JSON.parse(fs.readFileSync(files.meta, 'utf8')) as CacheMeta;
    if (meta.version !== FORMAT_VERSION || meta.key !== key || meta.dModel !== dModel || !Array.isArray(meta.tokens)) return undefined;
    const bytes = fs.readFileSync(files.rows);
    const need = meta.tokens.length * dModel * 4;
    if (bytes.byteLength !== need || typeof meta.rowsSha256 !== 'string' || sha256(bytes) !== meta.rowsSha256) return undefined;
    const data = new Float32Array(meta.tokens.length * dModel);
    new Uint8Array(data.buffer).set(bytes.subarray(0, need));
    return { tokens: meta.tokens, data };
  } catch {
    return undefined; // absent or unreadable: rebuild
  }
}
