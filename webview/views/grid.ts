// The token x layer grid (the logit-lens picture): for every token (rows) and layer (columns) the
// top word of the state through the chosen dictionary and its value, the cell shaded by the value.
// Rows are rendered only where the scroll shows them and fetched a page of positions at a time, so
// a 2,000-token selection stays fast. Clicking a cell opens the Layers view at that token.
import type { AnalysisResult, ViewInspection } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { el, fmt } from '../components/dom';
import { lensControls, type LensControls } from '../components/lensControls';
import { themeColor } from '../vscodeApi';

type Lens = AnalysisResult<'lens'>;
type Cell = { text: string; token: number; value: number };

const ROW_PX = 24;
const PAGE = 48;

let rt: Runtime;
let inspection: ViewInspection | undefined;
/** position -> cells of the shown layers */
let rows = new Map<number, Cell[]>();
let layers: number[] = [];
let loading = new Set<number>();
let settingsKey = '';
let valueLabel = 'amplitude';
let maxValue = 1;
let lensCtl: LensControls;

const scroller = el('div', { id: 'grid-scroll', class: 'grid-scroll', tabindex: '0', role: 'grid', 'aria-label': 'Top word per token and layer' });
const spacer = el('div', { class: 'grid-spacer' });
const head = el('div', { class: 'grid-row grid-head', role: 'row' });
const body = el('div', { class: 'grid-body' });
scroller.append(head, spacer);
spacer.append(body);
scroller.addEventListener('scroll', () => renderRows());
new ResizeObserver(() => renderRows()).observe(scroller);

const view: ViewModule = {
  mount(r) {
    rt = r;
    lensCtl = lensControls(rt, { dictionary: 'output', normalization: 'logit-lens' }, change);
    rt.controls.append(...lensCtl.roots);
    rt.content.append(scroller);
  },
  show({ inspection: i }, state) {
    if (!i) return;
    inspection = i;
    reset();
    if (state.pos !== undefined) scroller.scrollTop = Math.max(0, (state.pos - 3) * ROW_PX);
    renderRows();
  },
  selectToken(pos) {
    scroller.scrollTop = Math.max(0, (pos - 3) * ROW_PX);
    rt.setState({ pos });
    renderRows();
  },
  exportable(): Exportable | undefined {
    if (!inspection || rows.size === 0) return undefined;
    const out: Array<Array<string | number>> = [];
    for (const [pos, cells] of [...rows].sort((a, b) => a[0] - b[0])) cells.forEach((c, k) => out.push([pos, inspection!.tokens[pos]!.text, layers[k]!, c.token, c.text, c.value]));
    return {
      name: 'grid',
      headers: ['position', 'token', 'layer', 'top word id', 'top word', valueLabel],
      rows: out,
      json: { layers, valueLabel, rows: Object.fromEntries(rows) },
      canvases: [],
    };
  },
};

function change(c: Record<string, string | number | boolean>): void {
  rt.setState({ controls: c });
  reset();
  renderRows();
}

function reset(): void {
  const i = inspection;
  if (!i) return;
  const stride = lensCtl.stride();
  layers = [];
  for (let l = 0; l <= i.nLayers; l += stride) layers.push(l);
  if (layers[layers.length - 1] !== i.nLayers) layers.push(i.nLayers);
  const norm = lensCtl.normalization();
  lensCtl.sync(i.nLayers);
  settingsKey = JSON.stringify([i.inspectionId, lensCtl.dictionary(), norm, stride]);
  rows = new Map();
  loading = new Set();
  maxValue = norm === 'logit-lens' ? 1 : 0.5;
  spacer.style.height = `${i.tokens.length * ROW_PX}px`;
  head.replaceChildren(el('div', { class: 'grid-token', role: 'columnheader' }, 'token \\ layer'), ...layers.map((l) => el('div', { class: 'grid-cell', role: 'columnheader' }, String(l))));
  body.replaceChildren();
}

function renderRows(): void {
  const i = inspection;
  if (!i) return;
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - 2);
  const count = Math.ceil((scroller.clientHeight || 600) / ROW_PX) + 4;
  const last = Math.min(i.tokens.length, first + count);
  body.style.transform = `translateY(${first * ROW_PX}px)`;
  const accent = themeColor('charts-blue', '#3794ff');
  const out: HTMLElement[] = [];
  for (let pos = first; pos < last; pos++) {
    const t = i.tokens[pos]!;
    const row = el('div', { class: `grid-row${pos === rt.state.pos ? ' selected' : ''}`, role: 'row', 'data-pos': String(pos) });
    row.append(el('div', { class: 'grid-token', role: 'rowheader', title: `${t.text} (id ${t.id}, position ${pos})` }, `${pos} ${displayToken(t.text)}`));
    const cells = rows.get(pos);
    layers.forEach((l, k) => {
      const c = cells?.[k];
      const cell = el('div', { class: 'grid-cell', role: 'gridcell', 'data-layer': String(l), title: c ? `position ${pos}, layer ${l}: ${c.text} (id ${c.token}) ${fmt(c.value)}` : '' }, c ? displayToken(c.text) : '…');
      if (c) cell.style.background = tint(accent, Math.min(1, Math.max(0, c.value / maxValue)));
      cell.addEventListener('click', () => {
        rt.setState({ pos });
        rt.revealToken(pos);
        rt.openView('layers', pos);
      });
      row.append(cell);
    });
    out.push(row);
  }
  body.replaceChildren(...out);
  for (let p0 = Math.floor(first / PAGE) * PAGE; p0 < last; p0 += PAGE) if (!rows.has(p0) && !loading.has(p0)) void loadPage(p0);
}

async function loadPage(p0: number): Promise<void> {
  const i = inspection!;
  const key = settingsKey;
  loading.add(p0);
  const positions = Array.from({ length: Math.min(PAGE, i.tokens.length - p0) }, (_, k) => p0 + k);
  const norm = lensCtl.normalization();
  try {
    const r: Lens = await rt.analysis(
      'lens',
      { inspectionId: i.inspectionId, positions, dictionary: lensCtl.dictionary(), normalization: norm, layers, k: 1 },
      `Reading tokens ${p0}..${p0 + positions.length - 1} of ${i.tokens.length}…`,
    );
    if (key !== settingsKey) return;
    valueLabel = r.valueLabel;
    for (const p of r.positions) rows.set(p.pos, p.layers.map((l) => ({ text: l.words[0]!.text, token: l.words[0]!.token, value: l.words[0]!.value })));
    rt.setStatus(`Top word per token and layer through ${norm === 'logit-lens' ? 'the logit lens (output dictionary, probability)' : `the ${r.dictionary} dictionary (${r.valueLabel})`}; ${rows.size} of ${i.tokens.length} tokens read. Click a cell to open the Layers view there.`, 'ok');
    renderRows();
  } catch (e) {
    if (key === settingsKey) rt.setStatus((e as Error).message, 'error');
  } finally {
    loading.delete(p0);
  }
}

/** The accent colour at an opacity that follows the value: text stays readable in every theme. */
function tint(color: string, t: number): string {
  const a = (0.08 + 0.55 * t).toFixed(2);
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(color.trim());
  if (m) return `rgba(${parseInt(m[1]!, 16)},${parseInt(m[2]!, 16)},${parseInt(m[3]!, 16)},${a})`;
  return `color-mix(in srgb, ${color} ${Math.round(Number(a) * 100)}%, transparent)`;
}

boot(VIEWS.grid, view);
