// Reads an inspection's state vectors through a dictionary, for the layer-decoding chart and hovers.
import type { ActivationCache } from '../activations';
import { InnerWorldError } from '../errors';
import type { ModelSession } from '../llama/session';
import type { LensLayer, LensParams, LensResult } from './protocol';

interface Dictionaries {
  input: Float32Array; // [d_vocab, d_model]
  output: Float32Array; // [d_vocab, d_model]
  lnFinal: Float32Array; // [d_model]
}

const dictionaries = new WeakMap<ModelSession, Dictionaries>();

function dictionariesOf(s: ModelSession): Dictionaries {
  let d = dictionaries.get(s);
  if (!d) {
    const f = s.file;
    d = { input: f.full(f.W_E), output: f.full(f.W_U), lnFinal: f.full(f.lnFinal) };
    dictionaries.set(s, d);
  }
  return d;
}

export function projectLens(s: ModelSession, cache: ActivationCache, inspectionId: number, p: LensParams): LensResult {
  if (p.dictionary === 'middle') throw new InnerWorldError('bad-argument', 'the middle dictionary is not available yet');
  const normalization = p.normalization ?? 'article';
  const topK = p.topK ?? 5;
  const { dModel, nLayers } = s.info;
  const layers = p.layers ?? Array.from({ length: nLayers + 1 }, (_, l) => l);
  const dicts = dictionariesOf(s);
  const dict = normalization === 'logit-lens' || p.dictionary === 'output' ? dicts.output : dicts.input;
  const rowNorms = normalization === 'cosine' ? norms(dict, dModel) : undefined;
  const out: LensLayer[] = layers.map((l) => {
    const h = cache.state(l, p.pos);
    let q: Float32Array;
    if (normalization === 'logit-lens') {
      const eps = s.file.hparams.rmsEps;
      let ss = 0;
      for (const v of h) ss += v * v;
      const scale = 1 / Math.sqrt(ss / dModel + eps);
      q = h.map((v, i) => v * scale * dicts.lnFinal[i]!);
    } else {
      let ss = 0;
      for (const v of h) ss += v * v;
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      q = h.map((v) => v * inv);
    }
    const scores = project(dict, q, dModel);
    if (rowNorms) for (let t = 0; t < scores.length; t++) scores[t] = rowNorms[t]! > 0 ? scores[t]! / rowNorms[t]! : 0;
    if (normalization === 'logit-lens') softmaxInPlace(scores);
    return { layer: l, words: topIndices(scores, topK).map((id) => ({ id, text: s.tokenizer.tokenText(id), value: scores[id]! })) };
  });
  return {
    inspectionId,
    pos: p.pos,
    dictionary: p.dictionary,
    normalization,
    layers: out,
    noiseFloor: normalization === 'article' ? noiseFloor(dModel) : undefined,
    valueLabel: normalization === 'logit-lens' ? 'probability' : normalization === 'cosine' ? 'cosine' : 'amplitude',
  };
}

function project(dict: Float32Array, q: Float32Array, d: number): Float32Array {
  const n = dict.length / d;
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    let acc = 0;
    const o = t * d;
    for (let i = 0; i < d; i++) acc += dict[o + i]! * q[i]!;
    out[t] = acc;
  }
  return out;
}

function norms(dict: Float32Array, d: number): Float32Array {
  const n = dict.length / d;
  const out = new Float32Array(n);
  for (let t = 0; t < n; t++) {
    let acc = 0;
    for (let i = 0; i < d; i++) acc += dict[t * d + i]! ** 2;
    out[t] = Math.sqrt(acc);
  }
  return out;
}

function softmaxInPlace(x: Float32Array): void {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let z = 0;
  for (let i = 0; i < x.length; i++) z += (x[i] = Math.exp(x[i]! - m));
  for (let i = 0; i < x.length; i++) x[i]! /= z;
}

function topIndices(x: Float32Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (best.length < k || x[i]! > x[best[best.length - 1]!]!) {
      best.push(i);
      best.sort((a, b) => x[b]! - x[a]!);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

/** The amplitude F at which the expected number of vocabulary words reached by noise alone is 1. */
export function noiseFloor(d: number): number {
  // solve d * (1 - erf(F sqrt(d/2))) / 2 = 1 by bisection
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if ((d * erfc(mid * Math.sqrt(d / 2))) / 2 > 1) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function erfc(x: number): number {
  // Numerical Recipes' erfc (Chebyshev), relative error < 1.2e-7
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
