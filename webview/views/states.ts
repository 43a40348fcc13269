// The states view (article Fig. 12 to 15): how one token's state changes across layers (cosine
// with itself gap layers later; dashed, the product of single-layer steps the article predicts),
// how neighbouring tokens' states relate within a layer, and the RMS amplitude of the states
// against the mean RMSNorm gains that rescale them.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { seriesColor } from '../components/colors';
import { checkbox, el } from '../components/dom';
import { LineChart, type Series } from '../components/lineChart';

type States = AnalysisResult<'states'>;

let rt: Runtime;
let inspectionId: number | undefined;
let result: States | undefined;
let seq = 0;
const gapsTitle = el('h3', { id: 'gaps-title' });
const gapsChart = new LineChart('gaps', 320);
const sameTitle = el('h3', { id: 'same-title' });
const sameChart = new LineChart('same', 280);
const ampTitle = el('h3', { id: 'amp-title' });
const ampChart = new LineChart('amplitude', 280);
let gapsInput: HTMLInputElement;

const view: ViewModule = {
  mount(r) {
    rt = r;
    const label = el('label', { class: 'control', for: 'gaps-input' });
    gapsInput = el('input', { id: 'gaps-input', type: 'text', value: rt.control('gaps', '1,5,15'), 'aria-label': 'Layer gaps, comma-separated', size: '10' });
    gapsInput.addEventListener('change', () => {
      rt.setState({ controls: { gaps: gapsInput.value } });
      void load();
    });
    label.append(el('span', { class: 'control-label' }, 'Layer gaps'), gapsInput);
    const first = checkbox('include-first', 'Include the first token (<s>)', rt.control('includeFirst', false), (v) => {
      rt.setState({ controls: { includeFirst: v } });
      void load();
    });
    rt.controls.append(label, first.root);
    rt.content.append(gapsTitle, gapsChart.root, sameTitle, sameChart.root, ampTitle, ampChart.root);
  },
  show({ inspection: i }) {
    if (!i) return;
    inspectionId = i.inspectionId;
    void load();
  },
  exportable(): Exportable | undefined {
    if (!result) return undefined;
    const rows: Array<Array<string | number>> = [];
    for (const c of result.layerGaps.curves) c.layers.forEach((l, k) => rows.push(['gap', c.gap, l, c.mean[k]!, c.sd[k]!, c.first[k]!, c.last[k]!, c.prediction[k]!]));
    const s = result.sameLayer;
    s.layers.forEach((l, k) => rows.push(['same layer', '', l, s.neighbour[k]!, '', s.nextNeighbour[k]!, s.allPairs[k]!, '']));
    result.amplitudes.rms.forEach((v, l) => rows.push(['rms', '', l, v, '', '', '', '']));
    return {
      name: 'states',
      headers: ['series', 'gap', 'layer', 'mean or +1 or rms', 'sd', 'first token or +2', 'last token or all pairs', 'prediction'],
      rows,
      json: result,
      canvases: [gapsChart.canvas, sameChart.canvas, ampChart.canvas],
    };
  },
};

function parseGaps(text: string): number[] {
  const gaps = text.split(',').map((s) => Number(s.trim())).filter((g) => Number.isInteger(g) && g >= 1);
  return gaps.length ? [...new Set(gaps)] : [1];
}

async function load(): Promise<void> {
  if (inspectionId === undefined) return;
  const my = ++seq;
  const gaps = parseGaps(rt.control('gaps', '1,5,15'));
  try {
    const r = await rt.analysis('states', { inspectionId, gaps, skipFirst: !rt.control('includeFirst', false) }, 'Comparing the state vectors…');
    if (my !== seq) return;
    result = r;
    render(r);
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function render(r: States): void {
  const gapSeries: Series[] = [];
  r.layerGaps.curves.forEach((c, k) => {
    const color = seriesColor(k);
    gapSeries.push({ label: `gap ${c.gap}: mean over tokens`, color, points: c.layers.map((l, j) => ({ x: l, y: c.mean[j]! })) });
    if (c.gap > 1) gapSeries.push({ label: `gap ${c.gap}: product of single steps`, color, dashed: true, width: 1.5, points: c.layers.map((l, j) => ({ x: l, y: c.prediction[j]! })) });
  });
  const who = r.layerGaps.skipFirst ? 'tokens after <s>' : 'all tokens';
  gapsTitle.textContent = `Same token, layers apart: cosine of h[l] and h[l + gap], mean over ${who} (${r.layerGaps.nPos} tokens)`;
  gapsChart.draw({ xTitle: 'layer l', yTitle: 'cosine', series: gapSeries, legend: true, xMin: 0, xMax: r.layerGaps.nLayers, description: 'Cosine of a token state with itself some layers later' });
  const s = r.sameLayer;
  sameTitle.textContent = `Same layer, tokens apart: mean cosine of neighbouring tokens' states (${who})`;
  sameChart.draw({
    xTitle: 'layer',
    yTitle: 'cosine',
    legend: true,
    xMin: 0,
    xMax: r.layerGaps.nLayers,
    series: [
      { label: 'neighbours (+1)', color: seriesColor(0), points: s.layers.map((l, k) => ({ x: l, y: s.neighbour[k]! })) },
      { label: 'next neighbours (+2)', color: seriesColor(1), points: s.layers.map((l, k) => ({ x: l, y: s.nextNeighbour[k]! })) },
      { label: 'all pairs', color: seriesColor(2), points: s.layers.map((l, k) => ({ x: l, y: s.allPairs[k]! })) },
    ],
    description: 'Cosine of states of neighbouring tokens within a layer',
  });
  const a = r.amplitudes;
  ampTitle.textContent = 'RMS amplitude of the states per layer, and the mean RMSNorm gains of each block';
  ampChart.draw({
    xTitle: 'layer',
    yTitle: 'RMS / mean gain',
    legend: true,
    xMin: 0,
    xMax: r.layerGaps.nLayers,
    series: [
      { label: 'state RMS', color: seriesColor(0), points: a.rms.map((v, l) => ({ x: l, y: v })) },
      { label: 'attn_norm gain', color: seriesColor(1), dashed: true, points: a.attnNormGain.map((v, l) => ({ x: l, y: v })) },
      { label: 'ffn_norm gain', color: seriesColor(2), dashed: true, points: a.ffnNormGain.map((v, l) => ({ x: l, y: v })) },
    ],
    description: 'RMS amplitude of the states and RMSNorm gains per layer',
  });
  const g1 = r.layerGaps.curves.find((c) => c.gap === 1);
  const mid = g1 ? g1.mean[Math.floor(g1.mean.length / 2)] : undefined;
  rt.setStatus(`States of ${r.layerGaps.nPos} tokens${mid !== undefined ? `; gap-1 cosine in the middle of the stack: ${mid.toFixed(3)}` : ''}.`, 'ok');
}

boot(VIEWS.states, view);
