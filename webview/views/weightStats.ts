// Weight statistics by layer (the article's "sigma over mean" figure): sd(v) / mean(|v|) averaged
// over the vectors of each matrix, along d_model or across the heads (FFN: across hidden units),
// against layer, one line per matrix, the Gaussian value 1.2533 dashed.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { seriesColor } from '../components/colors';
import { select, table } from '../components/dom';
import { LineChart } from '../components/lineChart';
import { el } from '../vscodeApi';

type Stats = AnalysisResult<'weight-stats'>;
type Axis = 'alongModel' | 'across' | 'whole';

let rt: Runtime;
let stats: Stats | undefined;
let seq = 0;
const chart = new LineChart('weight-chart', 400);
const tableBox = el('div', { id: 'table-box' });

const view: ViewModule = {
  mount(r) {
    rt = r;
    const axis = select<Axis>('axis', 'Vectors', [
      { value: 'alongModel', label: 'Along d_model (rows)' },
      { value: 'across', label: 'Across heads / hidden units (columns)' },
      { value: 'whole', label: 'Every element at once' },
    ], rt.control<Axis>('axis', 'alongModel'), (v) => {
      rt.setState({ controls: { axis: v } });
      if (stats) render(stats);
    });
    rt.controls.append(axis.root);
    rt.content.append(chart.root, tableBox);
  },
  show() {
    void load();
  },
  exportable(): Exportable | undefined {
    if (!stats) return undefined;
    return { name: 'weight-stats', headers: ['layer', 'matrix', 'along d_model', 'across', 'across axis', 'whole'], rows: stats.entries.map((e) => [e.layer, e.matrix, e.alongModel, e.across, e.acrossAxis, e.whole]), json: stats, canvases: [chart.canvas] };
  },
};

async function load(): Promise<void> {
  const my = ++seq;
  try {
    const s = await rt.analysis('weight-stats', {}, 'Reading every weight matrix (streamed from the file)…');
    if (my !== seq) return;
    stats = s;
    render(s);
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function render(s: Stats): void {
  const axis = rt.control<Axis>('axis', 'alongModel');
  // a mixture of experts has one W_gate / W_in / W_out per expert: chart and table show their mean
  // per layer (the exported rows keep every expert's matrix)
  const perLayer = new Map<string, { sum: number; n: number }>();
  for (const e of s.entries) {
    const key = `${e.layer}:${e.role}`;
    const acc = perLayer.get(key) ?? { sum: 0, n: 0 };
    perLayer.set(key, { sum: acc.sum + e[axis], n: acc.n + 1 });
  }
  const experts = new Set(s.entries.filter((e) => e.expert !== undefined).map((e) => e.expert)).size;
  const mean = (layer: number, role: string): number => {
    const acc = perLayer.get(`${layer}:${role}`);
    return acc ? acc.sum / acc.n : Number.NaN;
  };
  const label = (role: string): string => (experts > 0 && s.entries.some((e) => e.role === role && e.expert !== undefined) ? `${role} (mean of ${experts} experts)` : role);
  const layers = [...new Set(s.entries.map((e) => e.layer))];
  const series = s.roles.map((role, k) => ({
    label: label(role),
    color: seriesColor(k),
    dashed: false,
    points: layers.filter((l) => perLayer.has(`${l}:${role}`)).map((l) => ({ x: l, y: mean(l, role) })),
  }));
  const what = axis === 'alongModel' ? 'vectors along d_model' : axis === 'across' ? 'vectors across the heads (attention), hidden units (FFN) or experts (router)' : 'all elements of each matrix';
  chart.draw({
    xTitle: 'layer',
    yTitle: 'sd / mean |w|',
    series,
    legend: true,
    xMin: 0,
    xMax: Math.max(0, s.nLayers - 1),
    refLines: [{ y: s.gaussian, label: `Gaussian ${s.gaussian.toFixed(4)}` }],
    description: `sd over mean absolute value of ${what}, per matrix and layer`,
  });
  tableBox.replaceChildren(table(`sd / mean |w| of ${what}`, ['layer', ...s.roles.map(label)], layers.map((l) => [l, ...s.roles.map((r) => mean(l, r))]), { id: 'stats' }));
  const source = s.fromCache === s.entries.length ? `from the cache of this file, computed by ${s.reducer}` : s.fromCache ? `${s.fromCache} from the cache, the rest by ${s.reducer}` : s.reducer;
  rt.setStatus(`${s.entries.length} matrices read (${source}); the dashed line is a Gaussian's ${s.gaussian.toFixed(4)}.`, 'ok');
}

boot(VIEWS.weightStats, view);
