// The attention view (article Fig. 10 and 11): for one layer, attention to the first token per
// head and query position (the attention sink) with sentence ends marked; one head's full pattern
// (query x key, drag to zoom); the last token's row across heads; per head, its mean attention to
// the first and to the previous token. Patterns are captured for the chosen layer only.
import type { AnalysisResult, ViewInspection } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { button, el, fmt, numberInput, table } from '../components/dom';
import { Heatmap } from '../components/heatmap';

type Layer = AnalysisResult<'attention-layer'>;
type Pattern = AnalysisResult<'head-pattern'>;

let rt: Runtime;
let inspection: ViewInspection | undefined;
let layerData: Layer | undefined;
let pattern: Pattern | undefined;
let seq = 0;
let zoomWindow: { q0: number; k0: number; span: number } | undefined;

const tok = (pos: number): string => (inspection ? `${pos} ${displayToken(inspection.tokens[pos]?.text ?? '')}` : String(pos));

const sink = new Heatmap('sink', {
  onClick: (h, q) => {
    setHead(h);
    rt.revealToken(q);
  },
});
const head = new Heatmap('pattern', {
  onClick: (qi) => pattern && pattern.stride === 1 && rt.revealToken(pattern.q0 + qi),
  onZoom: (r0, c0, r1, c1) => {
    if (!pattern) return;
    const q0 = pattern.q0 + r0 * pattern.stride;
    const k0 = pattern.k0 + c0 * pattern.stride;
    const span = Math.max(2, (Math.max(r1 - r0, c1 - c0) + 1) * pattern.stride);
    zoomWindow = { q0: Math.min(q0, k0), k0: Math.min(q0, k0), span };
    void loadPattern();
  },
});
const last = new Heatmap('last-query', { onClick: (h) => setHead(h) });
const sinkTitle = el('h3', { id: 'sink-title' });
const patternTitle = el('h3', { id: 'pattern-title' });
const lastTitle = el('h3', { id: 'last-title' });
const headsBox = el('div', { id: 'heads-box' });
const resetZoom = button('Reset zoom', () => {
  zoomWindow = undefined;
  void loadPattern();
}, { id: 'reset-zoom', hidden: '' });
let layerControl: ReturnType<typeof numberInput>;
let headControl: ReturnType<typeof numberInput>;

const view: ViewModule = {
  mount(r) {
    rt = r;
    layerControl = numberInput('layer', 'Layer', rt.control('layer', 0), { min: 0, max: 0 }, (v) => {
      rt.setState({ controls: { layer: v } });
      zoomWindow = undefined;
      void loadLayer();
    });
    headControl = numberInput('head', 'Head', rt.control('head', 0), { min: 0, max: 0 }, (v) => setHead(v));
    rt.controls.append(layerControl.root, headControl.root);
    const patternBar = el('div', { class: 'toolbar' });
    patternBar.append(patternTitle, resetZoom);
    rt.content.append(sinkTitle, sink.root, patternBar, head.root, lastTitle, last.root, headsBox);
  },
  show({ inspection: i }) {
    if (!i) return;
    inspection = i;
    layerControl.setMax(i.nLayers - 1);
    headControl.setMax(i.nHeads - 1);
    const layer = Math.min(rt.control('layer', 0), i.nLayers - 1);
    const h = Math.min(rt.control('head', 0), i.nHeads - 1);
    layerControl.set(layer);
    headControl.set(h);
    rt.setState({ controls: { layer, head: h } });
    zoomWindow = undefined;
    void loadLayer();
  },
  exportable(): Exportable | undefined {
    if (!layerData || !inspection) return undefined;
    const s = layerData.sink;
    const rows: Array<Array<string | number>> = [];
    for (let h = 0; h < s.nHeads; h++) for (let q = 0; q < s.nPos; q++) rows.push([s.layer, h, q, inspection.tokens[q]!.text, s.values[h * s.nPos + q]!]);
    return {
      name: `attention-layer${s.layer}`,
      headers: ['layer', 'head', 'query position', 'query token', 'attention to the first token'],
      rows,
      json: { sink: layerData.sink, lastQuery: layerData.lastQuery, pattern },
      canvases: [sink.canvas, head.canvas, last.canvas],
    };
  },
};

function setHead(h: number): void {
  if (!inspection) return;
  const v = Math.max(0, Math.min(inspection.nHeads - 1, h));
  headControl.set(v);
  rt.setState({ controls: { head: v } });
  zoomWindow = undefined;
  void loadPattern();
}

async function loadLayer(): Promise<void> {
  const i = inspection;
  if (!i) return;
  const layer = rt.control('layer', 0);
  const my = ++seq;
  try {
    const r = await rt.analysis('attention-layer', { inspectionId: i.inspectionId, layer }, `Reading the attention of layer ${layer}…`);
    if (my !== seq) return;
    layerData = r;
    drawLayer(r, i);
    await loadPattern();
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function drawLayer(r: Layer, i: ViewInspection): void {
  const s = r.sink;
  sinkTitle.textContent = `Layer ${s.layer}: attention to the first token (rows: heads, columns: query positions; dashed lines after sentence ends)`;
  sink.draw({
    rows: s.nHeads,
    cols: s.nPos,
    values: s.values,
    rowLabel: (h) => `H${h}`,
    colLabel: tok,
    rowTitle: 'head',
    colTitle: 'query position',
    min: 0,
    max: 1,
    colMarks: s.sentenceEnds,
    readout: (h, q, v) => `layer ${s.layer} head ${h}, query ${tok(q)}: attention to the first token ${fmt(v)}`,
    description: `Attention to the first token, layer ${s.layer}, heads by query positions`,
  });
  const lq = r.lastQuery;
  lastTitle.textContent = `The last token “${displayToken(i.tokens[lq.query]!.text)}”: its attention to every position, per head`;
  last.draw({
    rows: lq.nHeads,
    cols: lq.nPos,
    values: lq.values,
    rowLabel: (h) => `H${h}`,
    colLabel: tok,
    rowTitle: 'head',
    colTitle: 'key position',
    min: 0,
    max: 1,
    readout: (h, k, v) => `layer ${lq.layer} head ${h}, last query → key ${tok(k)}: ${fmt(v)}`,
    description: `Attention of the last token per head, layer ${lq.layer}`,
  });
  headsBox.replaceChildren(
    table(
      `Layer ${s.layer}, per head: mean attention to the first token (queries 1 and later) and to the previous token (queries 2 and later)`,
      ['head', 'to the first token', 'to the previous token'],
      s.meanSink.map((m, h) => [`H${h}`, m, s.previousToken[h]!]),
      { id: 'heads' },
    ),
  );
}

async function loadPattern(): Promise<void> {
  const i = inspection;
  if (!i) return;
  const layer = rt.control('layer', 0);
  const h = rt.control('head', 0);
  const my = seq;
  try {
    const r = await rt.analysis('head-pattern', { inspectionId: i.inspectionId, layer, head: h, ...zoomWindow, size: 160 }, `Reading head ${h} of layer ${layer}…`);
    if (my !== seq) return;
    pattern = r;
    resetZoom.hidden = r.span === r.nPos;
    const zoom = r.span === r.nPos ? '' : `, positions ${r.q0}..${r.q0 + r.span - 1}`;
    patternTitle.textContent = `Head ${h} of layer ${layer}: attention from each query (rows) to each key (columns)${zoom}${r.stride > 1 ? `; each cell the largest of ${r.stride} × ${r.stride} pairs` : ''}. Drag to zoom.`;
    const at = (c: number, o: number): number => o + c * r.stride;
    const label = (c: number, o: number): string => (r.stride === 1 ? tok(at(c, o)) : `${at(c, o)}–${Math.min(r.nPos - 1, at(c + 1, o) - 1)}`);
    head.draw({
      rows: r.cells,
      cols: r.cells,
      values: r.values,
      rowLabel: (c) => label(c, r.q0),
      colLabel: (c) => label(c, r.k0),
      rowTitle: 'query',
      colTitle: 'key',
      min: 0,
      max: 1,
      readout: (qi, ki, v) => `layer ${layer} head ${h}: query ${label(qi, r.q0)} → key ${label(ki, r.k0)}: ${Number.isFinite(v) ? fmt(v) : 'masked (a key after the query)'}`,
      description: `Attention pattern of layer ${layer} head ${h}`,
      maxCell: 22,
    });
    rt.setStatus(`Layer ${layer}, head ${h} of ${i.nHeads}. Point at a cell to read it; click a head in the first map to show its pattern.`, 'ok');
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

boot(VIEWS.attention, view);
