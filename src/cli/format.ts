// --table: results as readable text tables. JSON stays the default and the contract; these are
// for people. Token texts are shown with SentencePiece's ▁ as a visible space marker kept.
import { displayToken } from '../shared/format';
import type { CacheSizes, ParameterTally, TensorRow } from '../engine/analysis/anatomy';
import type { LastQueryRow, SinkMap } from '../engine/analysis/attention';
import type { DictionaryStats } from '../engine/analysis/dictStats';
import type { HeadMap } from '../engine/analysis/headMap';
import type { Heatmap } from '../engine/analysis/heatmap';
import type { LensResult } from '../engine/analysis/lens';
import type { Neighbours, SimilarityMatrix } from '../engine/analysis/similarity';
import type { Amplitudes, LayerGapSimilarity, SameLayerSimilarity } from '../engine/analysis/states';
import type { WeightStats } from '../engine/analysis/weightStats';
import type { Hparams } from '../engine/gguf/llamaModel';

export interface InfoResult {
  name: string;
  path: string;
  fileBytes: number;
  hparams: Hparams;
  tiedEmbeddings: boolean;
  tally: ParameterTally;
  cache: CacheSizes;
  noiseFloor: number;
}
export interface AttentionResult {
  tokens: string[];
  sink: SinkMap;
  lastQuery: LastQueryRow;
}
export interface StatesResult {
  tokens: string[];
  layerGaps: LayerGapSimilarity;
  sameLayer: SameLayerSimilarity;
  amplitudes: Amplitudes;
}
export interface MiddleResult {
  key: string;
  recipe: { layer: number; words: number };
  rows: number;
  fromCache: boolean;
  cacheDir: string;
  words: string[];
}

export function table(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const cells = [headers.map(String), ...rows.map((r) => r.map(cell))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) => r.map((x, c) => (isNumeric(x) ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join('  ').trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function cell(x: unknown): string {
  if (typeof x === 'number') return Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toFixed(4);
  if (x === undefined || x === null) return '';
  return String(x);
}

function isNumeric(x: string): boolean {
  return /^-?[\d.,]+(e[-+]?\d+)?$/.test(x);
}

const w = (t: string) => displayToken(t);
/** A table for each command's result; undefined: print the JSON. */
export function formatTable(command: string, result: unknown): string | undefined {
  switch (command) {
    case 'info': {
      const r = result as InfoResult;
      const f = r.tally.file;
      // where the article's tally does not apply (another architecture, no weights) its notes say so
      const a = r.tally.article ?? { dictionaries: '', attentionPerLayer: '', ffnPerLayer: '', normsPerLayer: '', finalNorm: '', ropeFreqs: '', total: '' };
      return [
        `${r.name}: ${r.hparams.nLayers} layers, d_model ${r.hparams.dModel}, ${r.hparams.nHeads} heads (${r.hparams.nKvHeads} kv), ${r.hparams.nExperts > 0 ? `${r.hparams.nExperts} experts (${r.hparams.nExpertsUsed} per token) of d_ff ${r.hparams.dFfExpert}` : `d_ff ${r.hparams.dFf}`}, vocabulary ${r.hparams.nVocab}`,
        '',
        table(['term', 'article', 'file'], [
          ['dictionaries', a.dictionaries, f.dictionaries],
          ['attention per layer', a.attentionPerLayer, f.attentionPerLayer],
          ['feed-forward per layer', a.ffnPerLayer, f.ffnPerLayer],
          ['RMSNorm per layer', a.normsPerLayer, f.normsPerLayer],
          ['final RMSNorm', a.finalNorm, f.finalNorm],
          ['rotary frequencies', a.ropeFreqs, f.ropeFreqs],
          ['total', a.total.toLocaleString('en-US'), f.total.toLocaleString('en-US')],
          ...(r.tally.experts ? [['active per token', '', r.tally.experts.activePerToken.toLocaleString('en-US')]] : []),
        ]),
        ...r.tally.notes.map((n: string) => `note: ${n}`),
        '',
        `state vectors for ${r.cache.nTokens} tokens: ${(r.cache.stateBytes / 1e6).toFixed(1)} MB; KV cache: ${(r.cache.kvBytes / 1e6).toFixed(1)} MB (${r.cache.bytesPerValue} bytes a value)`,
        `noise floor F for d_model ${r.hparams.dModel}: ${r.noiseFloor.toFixed(4)}`,
      ].join('\n');
    }
    case 'tensors':
      return table(['layer', 'role', 'name', 'shape', 'type', 'params', 'bytes'], (result as TensorRow[]).map((t) => [t.layer ?? '', t.role, t.name, t.shape.join(' x '), t.type, t.params, t.bytes]));
    case 'weight-stats': {
      const r = result as WeightStats;
      return `sd / mean|w| (Gaussian: ${r.gaussian.toFixed(4)})\n` + table(['layer', 'matrix', 'along d_model', 'across', 'axis', 'whole'], r.entries.map((e) => [e.layer, e.matrix, e.alongModel, e.across, e.acrossAxis, e.whole]));
    }
    case 'head-map': {
      const r = result as HeadMap;
      return `layer ${r.layer} head ${r.head} (kv head ${r.kvHead}) ${r.matrix}${r.foldNorm ? ' with the ln1 gain' : ''}\n` + table(['row', '|M_r|', 'value', 'tokens'], r.rows.map((x) => [x.row, x.norm, x.tokens[0]?.value, x.tokens.map((t) => w(t.text)).join('  ')]));
    }
    case 'heatmap': {
      const r = result as Heatmap;
      return `${r.name} [${r.shape.join(' x ')}]: |W| summed over ${r.blocks.block} x ${r.blocks.block} tiles\n` + table(['', ...Array.from({ length: r.blocks.cols }, (_, c) => String(c))], Array.from({ length: r.blocks.rows }, (_, i) => [i, ...r.blocks.values.slice(i * r.blocks.cols, (i + 1) * r.blocks.cols)]));
    }
    case 'dict-stats': {
      const r = result as DictionaryStats;
      return table(['statistic', 'input', 'output'], [
        ['pairs with positive inner product', r.input.fractionPositive, r.output.fractionPositive],
        ['mean |cosine| (A)', r.input.meanAbsCosine, r.output.meanAbsCosine],
        ['effective rank 1/A^2', r.input.effectiveRank, r.output.effectiveRank],
        ['<v|v> mean', r.input.rowNormSq.mean, r.output.rowNormSq.mean],
        ['<v|v> sd', r.input.rowNormSq.sd, r.output.rowNormSq.sd],
        ['sd / mean|param|', r.input.sigmaOverMeanAbs, r.output.sigmaOverMeanAbs],
        ['leading singular values', r.input.singularValues.slice(0, 4).map((x) => x.toFixed(2)).join(' '), r.output.singularValues.slice(0, 4).map((x) => x.toFixed(2)).join(' ')],
      ]) + `\nsame-token Pearson r: mean ${r.sameTokenPearson.mean.toFixed(4)}, rms ${r.sameTokenPearson.rms.toFixed(4)} (random: ${r.sameTokenPearson.randomSd.toFixed(4)})\nstructure correlation: ${r.structureCorrelation.toFixed(4)}\npairs with input cosine > ${r.consistency.threshold}: ${r.consistency.pairsAbove}, positive in output: ${(100 * r.consistency.sharePositiveInOutput).toFixed(2)}%\n(${r.sample} sampled tokens, seed ${r.seed}, ${r.pairs} pairs)`;
    }
    case 'neighbours': {
      const r = result as Neighbours;
      return `${w(r.text)}: ${r.from} -> ${r.to} (${r.normalization})\n` + table(['token', 'value'], r.neighbours.map((n) => [w(n.text), n.value]));
    }
    case 'similarity': {
      const r = result as SimilarityMatrix;
      return `${r.dictionary} dictionary\n` + table(['', ...r.texts.map(w)], r.matrix.map((row, i) => [w(r.texts[i]!), ...row]));
    }
    case 'lens': {
      const r = result as LensResult;
      return r.positions
        .map((p) => `position ${p.pos} ${JSON.stringify(w(p.text))}: ${r.dictionary} dictionary, ${r.normalization}, ${r.basis} (${r.valueLabel}; noise floor ${r.noiseFloor.toFixed(3)})\n` + table(['layer', ...(p.layers[0]?.words ?? []).map((_, i) => `#${i + 1}`)], p.layers.map((l) => [l.layer, ...l.words.map((x) => `${w(x.text)} ${x.value.toFixed(3)}`)])))
        .join('\n\n');
    }
    case 'attention': {
      const r = result as AttentionResult;
      const m = r.sink;
      return `attention to the first token, layer ${m.layer} (rows: heads; * marks sentence ends)\n` + table(['head', 'sink', 'prev', ...r.tokens.map((_, i) => `${i}${m.sentenceEnds.includes(i) ? '*' : ''}`)], Array.from({ length: m.nHeads }, (_, h) => [h, m.meanSink[h], m.previousToken[h], ...m.values.slice(h * m.nPos, (h + 1) * m.nPos).map((x) => x.toFixed(2))]));
    }
    case 'states': {
      const r = result as StatesResult;
      return r.layerGaps.curves.map((c) => `gap ${c.gap}\n` + table(['layer', 'mean', 'sd', 'first', 'last', 'prediction'], c.layers.map((l, i) => [l, c.mean[i], c.sd[i], c.first[i], c.last[i], c.prediction[i]]))).join('\n\n') +
        '\n\nsame layer\n' + table(['layer', '+1', '+2', 'all pairs', 'RMS'], r.sameLayer.layers.map((l, i) => [l, r.sameLayer.neighbour[i], r.sameLayer.nextNeighbour[i], r.sameLayer.allPairs[i], r.amplitudes.rms[i]]));
    }
    case 'middle': {
      const r = result as MiddleResult;
      return `middle dictionary ${r.key}: ${r.rows} rows, layer ${r.recipe.layer}, ${r.fromCache ? 'loaded from' : 'built into'} ${r.cacheDir}\nfirst words: ${r.words.map(w).join(' ')}`;
    }
    default:
      return undefined;
  }
}
