// The state vectors (SPEC 5.B, article Fig. 12 to 15): how similar a token's state stays across
// layers, how similar neighbouring tokens' states are within a layer, and how the states' RMS
// amplitude grows, next to the RMSNorm gains that rescale them.
import { InnerWorldError } from '../errors';
import type { LlamaModelFile } from '../gguf/llamaModel';
import type { StateSource } from './lens';
import { cosine, meanSd } from './math';

export interface StateOptions {
  /** leave position 0 (<s>, the attention sink's constant state) out of means (default true) */
  skipFirst?: boolean;
}

export interface GapCurve {
  gap: number;
  /** starting layers l: the cosine of h[l] and h[l + gap] */
  layers: number[];
  mean: number[];
  sd: number[];
  /** position 0 and the last position */
  first: number[];
  last: number[];
  /** product of the single-gap means over l .. l+gap-1 (the article's dashed line) */
  prediction: number[];
}

export interface LayerGapSimilarity {
  nLayers: number;
  nPos: number;
  skipFirst: boolean;
  curves: GapCurve[];
}

function meanPositions(n: number, skipFirst: boolean): number[] {
  const start = skipFirst && n > 1 ? 1 : 0;
  return Array.from({ length: n - start }, (_, i) => start + i);
}

export function layerGapSimilarity(states: StateSource, nLayers: number, gaps: readonly number[] = [1, 5, 15], opts: StateOptions = {}): LayerGapSimilarity {
  const n = states.tokens.length;
  const skipFirst = opts.skipFirst ?? true;
  const ps = meanPositions(n, skipFirst);
  const cosAt = (l: number, g: number, t: number): number => cosine(states.state(l, t), states.state(l + g, t));
  const single: number[] = [];
  for (let l = 0; l < nLayers; l++) single.push(meanSd(ps.map((t) => cosAt(l, 1, t))).mean);
  const curves = gaps.map((gap) => {
    if (!Number.isInteger(gap) || gap < 1) throw new InnerWorldError('bad-argument', `gap ${gap} must be a positive integer`);
    const c: GapCurve = { gap, layers: [], mean: [], sd: [], first: [], last: [], prediction: [] };
    for (let l = 0; l + gap <= nLayers; l++) {
      const ms = meanSd(ps.map((t) => cosAt(l, gap, t)));
      c.layers.push(l);
      c.mean.push(ms.mean);
      c.sd.push(ms.sd);
      c.first.push(cosAt(l, gap, 0));
      c.last.push(cosAt(l, gap, n - 1));
      c.prediction.push(single.slice(l, l + gap).reduce((a, b) => a * b, 1));
    }
    return c;
  });
  return { nLayers, nPos: n, skipFirst, curves };
}

/**
 * The article's model of Fig. 12: the state after layer i holds a*i + 1 equal, orthogonal token
 * vectors (a = 3 added per layer), so <v_i|v_i+1> = sqrt((a i + 1) / (a i + 1 + a)).
 */
export function articleLayerSimilarity(i: number, added = 3): number {
  return Math.sqrt((added * i + 1) / (added * i + 1 + added));
}

export interface SameLayerSimilarity {
  nPos: number;
  skipFirst: boolean;
  layers: number[];
  /** mean cosine of states at t and t+1, t+2, and of all distinct pairs */
  neighbour: number[];
  nextNeighbour: number[];
  allPairs: number[];
  /** mean |i - j| over the pairs averaged */
  meanPairDistance: number;
}

export function sameLayerSimilarity(states: StateSource, nLayers: number, opts: StateOptions = {}): SameLayerSimilarity {
  const skipFirst = opts.skipFirst ?? true;
  const ps = meanPositions(states.tokens.length, skipFirst);
  const out: SameLayerSimilarity = { nPos: states.tokens.length, skipFirst, layers: [], neighbour: [], nextNeighbour: [], allPairs: [], meanPairDistance: (ps.length + 1) / 3 };
  for (let l = 0; l <= nLayers; l++) {
    const h = ps.map((t) => states.state(l, t));
    const at = (gap: number): number => meanSd(h.slice(0, h.length - gap).map((v, i) => cosine(v, h[i + gap]!))).mean;
    let s = 0;
    let c = 0;
    for (let i = 0; i < h.length; i++) {
      for (let j = i + 1; j < h.length; j++) {
        s += cosine(h[i]!, h[j]!);
        c++;
      }
    }
    out.layers.push(l);
    out.neighbour.push(at(1));
    out.nextNeighbour.push(at(2));
    out.allPairs.push(c ? s / c : NaN);
  }
  return out;
}

export interface Amplitudes {
  /** states 0..n_layers: sqrt(mean of h^2 over positions and dimensions) */
  rms: number[];
  /** blocks 0..n_layers-1: mean RMSNorm gain before attention (attn_norm) and before the FFN (ffn_norm) */
  attnNormGain: number[];
  ffnNormGain: number[];
  finalNormGain: number;
  skipFirst: boolean;
}

export function rmsAmplitudes(states: StateSource, file: LlamaModelFile, opts: StateOptions = {}): Amplitudes {
  const skipFirst = opts.skipFirst ?? true;
  const nLayers = file.hparams.nLayers;
  const ps = meanPositions(states.tokens.length, skipFirst);
  const rms: number[] = [];
  for (let l = 0; l <= nLayers; l++) {
    let s = 0;
    let c = 0;
    for (const t of ps) {
      const h = states.state(l, t);
      for (let i = 0; i < h.length; i++) s += h[i]! * h[i]!;
      c += h.length;
    }
    rms.push(Math.sqrt(s / c));
  }
  const meanGain = (v: Float32Array): number => meanSd(v).mean;
  return {
    rms,
    attnNormGain: Array.from({ length: nLayers }, (_, l) => meanGain(file.full(file.weight('ln1', l)))),
    ffnNormGain: Array.from({ length: nLayers }, (_, l) => meanGain(file.full(file.weight('ln2', l)))),
    finalNormGain: meanGain(file.full(file.lnFinal)),
    skipFirst,
  };
}
