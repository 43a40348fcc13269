// The layers view: the chosen token's state read through a dictionary at every layer (the
// article's Fig. 3 to 8). One line per word (a word keeps its colour across layers), the words
// written at the points, and the same numbers as a table.
import type { AnalysisResult, ViewInspection } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { TokenChips } from '../components/chips';
import { seriesColor } from '../components/colors';
import { button, el, fmt, numberInput, select, table } from '../components/dom';
import { lensControls, type LensControls } from '../components/lensControls';
import { LineChart, type Series } from '../components/lineChart';

type Lens = AnalysisResult<'lens'>;
type Basis = 'vocabulary' | 'prompt' | 'prompt-no-bos';

let rt: Runtime;
let inspection: ViewInspection | undefined;
let result: Lens | undefined;
let seq = 0;
const chips = new TokenChips((pos) => {
  selectPos(pos);
  rt.revealToken(pos);
});
const chart = new LineChart('chart', 420);
const tableBox = el('div', { id: 'table-box' });
let lensCtl: LensControls;

const view: ViewModule = {
  mount(r) {
    rt = r;
    lensCtl = lensControls(rt, { dictionary: 'input', normalization: 'article' }, change);
    const basis = select<Basis>('basis', 'Words', [
      { value: 'vocabulary', label: 'Whole vocabulary' },
      { value: 'prompt', label: 'Prompt tokens only' },
      { value: 'prompt-no-bos', label: 'Prompt tokens, without <s>' },
    ], rt.control<Basis>('basis', 'vocabulary'), (v) => change({ basis: v }));
    const topK = numberInput('topk', 'Words per layer', rt.control('k', 5), { min: 1, max: 20 }, (v) => change({ k: v }));
    const open = el('span', { class: 'open-views' });
    open.append(
      button('Grid', () => rt.openView('grid', rt.state.pos), { id: 'open-grid', title: VIEWS.grid.title }),
      button('Attention', () => rt.openView('attention', rt.state.pos), { id: 'open-attention', title: VIEWS.attention.title }),
      button('States', () => rt.openView('states', rt.state.pos), { id: 'open-states', title: VIEWS.states.title }),
    );
    rt.controls.append(...lensCtl.roots, basis.root, topK.root, open);
    rt.content.append(chips.root, chart.root, tableBox);
  },
  show({ inspection: i }, state) {
    if (!i) return;
    inspection = i;
    chips.show(i.tokens);
    lensCtl.sync(i.nLayers);
    selectPos(state.pos ?? i.tokens.length - 1);
  },
  selectToken: (pos) => selectPos(pos),
  exportable(): Exportable | undefined {
    if (!result || !inspection) return undefined;
    const p = result.positions[0]!;
    return {
      name: `layers-${p.pos}-${result.dictionary}`,
      headers: ['layer', 'rank', 'token id', 'word', result.valueLabel],
      rows: p.layers.flatMap((l) => l.words.map((w, k) => [l.layer, k + 1, w.token, w.text, w.value])),
      json: result,
      canvases: [chart.canvas],
    };
  },
};

function change(c: Record<string, string | number | boolean>): void {
  rt.setState({ controls: c });
  void load();
}

function selectPos(pos: number): void {
  if (!inspection) return;
  rt.setState({ pos: Math.max(0, Math.min(pos, inspection.tokens.length - 1)) });
  chips.select(rt.state.pos!);
  void load();
}

async function load(): Promise<void> {
  const i = inspection;
  if (!i || rt.state.pos === undefined) return;
  const pos = rt.state.pos;
  const normalization = lensCtl.normalization();
  const dictionary = lensCtl.dictionary();
  const basis = rt.control<Basis>('basis', 'vocabulary');
  lensCtl.sync();
  const stride = lensCtl.stride();
  const my = ++seq;
  const word = displayToken(i.tokens[pos]!.text);
  try {
    const r = await rt.analysis(
      'lens',
      {
        inspectionId: i.inspectionId,
        positions: [pos],
        dictionary,
        normalization,
        basis: basis === 'vocabulary' ? 'vocabulary' : 'prompt',
        excludeBos: basis === 'prompt-no-bos',
        layers: stride > 1 ? { every: stride } : undefined,
        k: rt.control('k', 5),
      },
      `Reading “${word}” through the ${normalization === 'logit-lens' ? 'output' : dictionary} dictionary…`,
    );
    if (my !== seq) return; // a newer request superseded this one
    result = r;
    render(r, i);
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function render(r: Lens, i: ViewInspection): void {
  const p = r.positions[0]!;
  // one series per word, in order of first appearance (rank first), coloured per word
  const byWord = new Map<number, Series>();
  for (const l of p.layers) {
    for (const w of l.words) {
      let s = byWord.get(w.token);
      if (!s) {
        s = { label: displayToken(w.text), points: [], color: seriesColor(byWord.size) };
        byWord.set(w.token, s);
      }
      s.points.push({ x: l.layer, y: w.value, label: displayToken(w.text) });
    }
  }
  const floor = r.normalization === 'logit-lens' ? undefined : r.noiseFloor;
  const maxLayer = Math.max(...p.layers.map((l) => l.layer));
  chart.draw({
    xTitle: 'layer (0 = embedding)',
    yTitle: r.valueLabel,
    series: [...byWord.values()],
    refLines: floor !== undefined ? [{ y: floor, label: `noise floor ${floor.toFixed(3)}` }] : [],
    pointLabels: true,
    yMin: 0,
    xMin: 0,
    xMax: maxLayer,
    description: `Top words of "${displayToken(p.text)}" against layer`,
  });
  const ranks = Math.max(0, ...p.layers.map((l) => l.words.length));
  const t = table(
    `Top words per layer (${r.dictionary} dictionary, ${r.valueLabel})`,
    ['layer', ...Array.from({ length: ranks }, (_, k) => `#${k + 1}`)],
    [],
    { id: 'words' },
  );
  const body = t.tBodies[0]!;
  for (const l of p.layers) {
    const tr = el('tr', { 'data-layer': String(l.layer) });
    tr.append(el('th', { scope: 'row' }, String(l.layer)));
    for (const w of l.words) {
      const td = el('td', { title: `${w.text} (id ${w.token})` });
      td.append(el('span', { class: 'word' }, displayToken(w.text)), el('span', { class: 'value' }, fmt(w.value)));
      tr.append(td);
    }
    body.append(tr);
  }
  tableBox.replaceChildren(t);
  const how = r.normalization === 'logit-lens' ? 'the logit lens (final norm, output dictionary, softmax)' : `the ${r.dictionary} dictionary`;
  const basis = r.basis === 'prompt' ? ', prompt tokens only' : '';
  rt.setStatus(`“${displayToken(i.tokens[p.pos]!.text)}” (position ${p.pos}) through ${how}${basis}, ${r.valueLabel}${floor !== undefined ? `; noise floor ${floor.toFixed(3)}` : ''}`, 'ok');
}

boot(VIEWS.layers, view);
