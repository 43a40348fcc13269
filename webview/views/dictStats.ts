// Dictionary statistics (companion page "input vs output"): every figure for the loaded model
// beside the article's Llama-2-7B value, and the leading singular values of each dictionary.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { seriesColor } from '../components/colors';
import { el, fmt, table } from '../components/dom';
import { LineChart } from '../components/lineChart';

type Stats = AnalysisResult<'dict-stats'>;

let rt: Runtime;
let stats: Stats | undefined;
let seq = 0;
const box = el('div', { id: 'stats-box' });
const svTitle = el('h3', { id: 'sv-title' }, 'Leading singular values of each dictionary');
const chart = new LineChart('singular-values', 300);

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The rows: statistic, this model's input and output values, the article's for Llama-2-7B. */
function rows(s: Stats): Array<[string, string, string, string]> {
  return [
    ['pairs with a positive inner product', pct(s.input.fractionPositive), pct(s.output.fractionPositive), '81% / 82%'],
    ['mean |cosine| of pairs (A)', fmt(s.input.meanAbsCosine), fmt(s.output.meanAbsCosine), '0.027 / 0.048'],
    ['effective rank 1/A²', fmt(s.input.effectiveRank, 0), fmt(s.output.effectiveRank, 0), '≈1,400 / ≈430'],
    ['row norm <v|v>: mean', fmt(s.input.rowNormSq.mean), fmt(s.output.rowNormSq.mean), '1.1 / 1.2'],
    ['row norm <v|v>: sd', fmt(s.input.rowNormSq.sd), fmt(s.output.rowNormSq.sd), '0.11 / 0.33'],
    ['sd / mean |parameter|', fmt(s.input.sigmaOverMeanAbs), fmt(s.output.sigmaOverMeanAbs), '≈1.25 (Gaussian 1.2533)'],
    ['Pearson r of E_in[t], E_out[t] (mean)', fmt(s.sameTokenPearson.mean, 4), '', `0.016 (random: ${fmt(s.sameTokenPearson.randomSd, 4)})`],
    ['correlation of the two pair structures', fmt(s.structureCorrelation), '', '0.29'],
    [`pairs with input cosine > ${s.consistency.threshold} positive in output`, pct(s.consistency.sharePositiveInOutput), `${s.consistency.pairsAbove} pairs`, '99.3%'],
  ];
}

const view: ViewModule = {
  mount(r) {
    rt = r;
    rt.content.append(box, svTitle, chart.root);
  },
  show() {
    void load();
  },
  exportable(): Exportable | undefined {
    if (!stats) return undefined;
    return { name: 'dictionary-statistics', headers: ['statistic', 'input', 'output', 'Llama-2-7B (article)'], rows: rows(stats), json: stats, canvases: [chart.canvas] };
  },
};

async function load(): Promise<void> {
  const my = ++seq;
  try {
    const s = await rt.analysis('dict-stats', {}, 'Comparing the input and output dictionaries (a seeded sample of tokens)…');
    if (my !== seq) return;
    stats = s;
    box.replaceChildren(table(`Input and output dictionaries: ${s.sample} sampled tokens (seed ${s.seed}), ${s.pairs} pairs${s.tied ? '; the dictionaries are tied (one matrix)' : ''}`, ['statistic', 'input', 'output', 'Llama-2-7B (article): input / output'], rows(s), { id: 'stats' }));
    chart.draw({
      xTitle: 'index',
      yTitle: 'singular value',
      legend: true,
      xMin: 1,
      series: [
        { label: 'input dictionary', color: seriesColor(0), points: s.input.singularValues.map((v, k) => ({ x: k + 1, y: v })) },
        { label: 'output dictionary', color: seriesColor(1), points: s.output.singularValues.map((v, k) => ({ x: k + 1, y: v })) },
      ],
      description: 'Leading singular values of the input and output dictionaries',
    });
    rt.setStatus(`Computed on ${s.sample} tokens; the right column is the article's Llama-2-7B value for comparison.`, 'ok');
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

boot(VIEWS.dictStats, view);
