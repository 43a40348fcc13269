// The lenses (SPEC 2.B, article Fig. 3 to 8): a state vector h[l][t] read through a dictionary.
// All (position, layer) queries of one request go to the projection engine in one batch.
import { InnerWorldError } from '../errors';
import type { ProjectionEngine } from './engine';
import { rowOfToken, tokenOfRow, type Dictionary } from './dictionary';
import { erfc } from './math';

export type LensNormalization = 'article' | 'cosine' | 'logit-lens';
export type LensBasis = 'vocabulary' | 'prompt';

/** What the lens reads: the article's h[l][pos], l = 0 the embedding (an ActivationCache fits). */
export interface StateSource {
  readonly tokens: readonly number[];
  state(l: number, pos: number): Float32Array;
}

export interface LensOptions {
  positions: readonly number[];
  /** n_layers of the model: states run from 0 to nLayers */
  nLayers: number;
  /** which layers: a list, or every k-th (0, k, 2k, ... and always the last) */
  layers?: readonly number[] | { every: number };
  k?: number;
  /** 'article': state L2-normalized, rows raw; 'cosine': both normalized; 'logit-lens': final RMSNorm with its gain, softmax */
  normalization?: LensNormalization;
  basis?: LensBasis;
  /** with the prompt basis: leave <s> (and any BOS) out */
  excludeBos?: boolean;
  bos?: number;
  /** the final RMSNorm gain ([d_model]) and epsilon, for the logit lens */
  lnFinal?: Float32Array;
  rmsEps?: number;
  /** the logit lens soft-caps the logits as the model does (gemma: cap * tanh(logit / cap)) */
  finalSoftcap?: number;
  /** token id -> vocabulary text, for the words */
  tokenText: (id: number) => string;
}

export interface LensWord {
  token: number;
  text: string;
  value: number;
}
export interface LensLayer {
  layer: number;
  words: LensWord[];
}
export interface LensPosition {
  pos: number;
  token: number;
  text: string;
  layers: LensLayer[];
}
export interface LensResult {
  dictionary: string;
  normalization: LensNormalization;
  basis: LensBasis;
  valueLabel: 'amplitude' | 'cosine' | 'probability';
  /** the article's noise floor for this d_model (meaningful for unit-norm states) */
  noiseFloor: number;
  positions: LensPosition[];
}

export function lensLayers(nLayers: number, layers: LensOptions['layers']): number[] {
  if (layers === undefined) return Array.from({ length: nLayers + 1 }, (_, l) => l);
  if (!isLayerList(layers)) {
    if (!Number.isInteger(layers.every) || layers.every < 1) throw new InnerWorldError('bad-argument', `every must be a positive integer, got ${layers.every}`);
    const out: number[] = [];
    for (let l = 0; l <= nLayers; l += layers.every) out.push(l);
    if (out[out.length - 1] !== nLayers) out.push(nLayers);
    return out;
  }
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l > nLayers) throw new InnerWorldError('bad-argument', `layer ${l} is outside 0..${nLayers}`);
  }
  return [...layers];
}

function isLayerList(l: readonly number[] | { every: number }): l is readonly number[] {
  return Array.isArray(l);
}

/** The query vector the lens projects, per normalization. */
export function lensQuery(h: Float32Array, normalization: LensNormalization, lnFinal?: Float32Array, rmsEps = 1e-5): Float32Array {
  const d = h.length;
  let ss = 0;
  for (let i = 0; i < d; i++) ss += h[i]! * h[i]!;
  const out = new Float32Array(d);
  if (normalization === 'logit-lens') {
    if (!lnFinal || lnFinal.length !== d) throw new InnerWorldError('bad-argument', 'the logit lens needs the final RMSNorm gain (output_norm)');
    const scale = 1 / Math.sqrt(ss / d + rmsEps);
    for (let i = 0; i < d; i++) out[i] = h[i]! * scale * lnFinal[i]!;
  } else {
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let i = 0; i < d; i++) out[i] = h[i]! * inv;
  }
  return out;
}

/** Rows of the prompt basis: the dictionary rows of the prompt's unique tokens. */
export function promptBasisRows(dict: Dictionary, tokens: readonly number[], excludeBos: boolean, bos?: number): number[] {
  const rows: number[] = [];
  const seen = new Set<number>();
  for (const t of tokens) {
    if (seen.has(t) || (excludeBos && t === bos)) continue;
    seen.add(t);
    const r = rowOfToken(dict, t);
    if (r !== undefined) rows.push(r);
  }
  return rows;
}

export function lens(engine: ProjectionEngine, dict: Dictionary, states: StateSource, opts: LensOptions): LensResult {
  const normalization = opts.normalization ?? 'article';
  const basis = opts.basis ?? 'vocabulary';
  const k = opts.k ?? 5;
  const layers = lensLayers(opts.nLayers, opts.layers);
  const d = dict.dModel;
  for (const p of opts.positions) {
    if (!Number.isInteger(p) || p < 0 || p >= states.tokens.length) throw new InnerWorldError('bad-argument', `position ${p} is outside 0..${states.tokens.length - 1}`);
  }
  const nq = opts.positions.length * layers.length;
  const queries = new Float32Array(nq * d); // [pos x layer, d_model]
  let q = 0;
  for (const p of opts.positions) {
    for (const l of layers) queries.set(lensQuery(states.state(l, p), normalization, opts.lnFinal, opts.rmsEps), d * q++);
  }
  const rows = basis === 'prompt' ? promptBasisRows(dict, states.tokens, opts.excludeBos ?? false, opts.bos) : undefined;
  const top = engine.topK(dict, queries, { k, rows, rowNormalize: normalization === 'cosine', softmax: normalization === 'logit-lens', softcap: normalization === 'logit-lens' ? opts.finalSoftcap : undefined });
  q = 0;
  const positions = opts.positions.map((pos) => ({
    pos,
    token: states.tokens[pos]!,
    text: opts.tokenText(states.tokens[pos]!),
    layers: layers.map((layer) => {
      const base = q++ * top.k;
      const words: LensWord[] = [];
      for (let j = 0; j < top.k; j++) {
        const token = tokenOfRow(dict, top.rows[base + j]!);
        words.push({ token, text: opts.tokenText(token), value: top.values[base + j]! });
      }
      return { layer, words };
    }),
  }));
  return {
    dictionary: dict.name,
    normalization,
    basis,
    valueLabel: normalization === 'logit-lens' ? 'probability' : normalization === 'cosine' ? 'cosine' : 'amplitude',
    noiseFloor: noiseFloor(d),
    positions,
  };
}

/**
 * The article's noise floor (section 6): the amplitude F at which the expected number of words
 * that noise alone lifts above F, n (1 - erf(F sqrt(n/2))) / 2, equals 1. Unit-norm random
 * states have components of sd 1/sqrt(n): about 0.055 for n = 4096.
 */
export function noiseFloor(n: number): number {
  const expected = (f: number): number => (n * erfc(f * Math.sqrt(n / 2))) / 2;
  if (expected(0) <= 1) return 0;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (expected(mid) > 1) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** The expected number of noise words above amplitude F for an n-dimensional state. */
export function expectedNoiseWords(n: number, f: number): number {
  return (n * erfc(f * Math.sqrt(n / 2))) / 2;
}
