// The layers panel in the browser: token chips, a dictionary switch, the layer-decoding chart and
// the same numbers as a table. View state only is kept with setState; data is asked of the host.
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { RpcClient } from '../src/shared/protocol/rpc';
import {
  displayToken,
  type DictionaryKind,
  type HostToLayers,
  type LayersRequests,
  type LayersToHost,
  type LayersViewState,
  type LensNormalization,
  type LensResult,
  type PanelInspection,
} from '../src/shared/protocol/layersPanel';
import { LayerChart } from './layerChart';
import { el, vscodeApi } from './vscodeApi';

const vscode = vscodeApi<LayersViewState>();
const rpc = new RpcClient<LayersRequests>((m) => vscode.postMessage(m));

let inspection: PanelInspection | undefined;
let view: LayersViewState | undefined;
let requestSeq = 0;

const app = document.getElementById('app')!;
const header = el('header', { id: 'header' });
const tokens = el('section', { id: 'tokens', role: 'listbox', 'aria-label': 'Tokens of the inspected text' });
const controls = el('section', { id: 'controls' });
const status = el('div', { id: 'status', role: 'status' });
const chartBox = el('div', { id: 'chart-box' });
const canvas = el('canvas', { id: 'chart', role: 'img', 'aria-label': 'Amplitude of the top words against layer' });
const table = el('table', { id: 'words' });
const note = el('footer', { id: 'note' });
chartBox.append(canvas);
app.append(header, tokens, controls, status, chartBox, table, note);
const chart = new LayerChart(canvas);

buildControls();
status.textContent = 'Select text in an editor and run "Inner World: Inspect Selection".';

window.addEventListener('message', (e: MessageEvent) => {
  if (rpc.handle(e.data)) return;
  const msg = e.data as HostToLayers;
  if (msg.type === 'show') show(msg.inspection, msg.view);
  else if (msg.type === 'busy') setStatus(msg.message, 'busy');
  else if (msg.type === 'failed') setStatus(msg.message, 'error');
});
window.addEventListener('unload', () => rpc.rejectAll('panel closed'));
post({ type: 'ready', state: vscode.getState() });

function post(m: LayersToHost): void {
  vscode.postMessage(m);
}

function buildControls(): void {
  const dict = document.createElement('vscode-radio-group');
  dict.id = 'dictionary';
  dict.setAttribute('aria-label', 'Dictionary');
  for (const [value, label] of [
    ['input', 'Input dictionary'],
    ['output', 'Output dictionary'],
    ['middle', 'Middle dictionary'],
  ] as const) {
    const r = document.createElement('vscode-radio');
    r.setAttribute('name', 'dictionary');
    r.setAttribute('value', value);
    r.setAttribute('label', label);
    r.id = `dict-${value}`;
    r.textContent = label;
    dict.append(r);
  }
  dict.addEventListener('change', (e) => {
    const v = (e.target as HTMLInputElement).value as DictionaryKind;
    if (view && v && v !== view.dictionary) update({ ...view, dictionary: v });
  });

  const norm = document.createElement('vscode-single-select');
  norm.id = 'normalization';
  norm.setAttribute('aria-label', 'Normalization');
  for (const [value, label] of [
    ['article', 'Amplitude (state normalized)'],
    ['cosine', 'Cosine (both normalized)'],
    ['logit-lens', 'Logit lens (probability)'],
  ] as const) {
    const o = document.createElement('vscode-option');
    o.setAttribute('value', value);
    o.textContent = label;
    norm.append(o);
  }
  norm.addEventListener('change', () => {
    const v = (norm as unknown as { value: string }).value as LensNormalization;
    if (view && v && v !== view.normalization) update({ ...view, normalization: v });
  });
  controls.append(dict, norm);
}

function show(i: PanelInspection, v: LayersViewState): void {
  inspection = i;
  header.replaceChildren(el('span', { class: 'model' }, i.modelName));
  if (i.isDemoModel) {
    const badge = document.createElement('vscode-badge');
    badge.textContent = 'demo';
    badge.title = 'The demo model is fitted to a small built-in grammar';
    header.append(badge);
  }
  if (i.nextToken !== undefined) header.append(el('span', { class: 'next' }, `next token: ${displayToken(i.nextToken)}`));
  tokens.replaceChildren(
    ...i.tokens.map((t) => {
      const b = el('button', { class: `chip${t.special ? ' special' : ''}`, 'data-pos': String(t.pos), role: 'option', title: `${t.text} (id ${t.id}, position ${t.pos})` }, displayToken(t.text));
      b.addEventListener('click', () => {
        if (view) update({ ...view, pos: t.pos });
        void rpc.request('revealToken', { inspectionId: i.inspectionId, pos: t.pos }).catch(() => undefined);
      });
      return b;
    }),
  );
  note.textContent = i.isDemoModel
    ? 'Demo model: its dictionaries encode the word associations of a small built-in grammar and it knows nothing beyond it; deeper layers are near identity. Load a real model for real findings.'
    : '';
  update(v);
}

function update(v: LayersViewState): void {
  if (!inspection) return;
  view = v;
  vscode.setState(v);
  post({ type: 'viewState', state: v });
  for (const chip of tokens.querySelectorAll<HTMLElement>('.chip')) {
    const selected = Number(chip.dataset['pos']) === v.pos;
    chip.classList.toggle('selected', selected);
    chip.setAttribute('aria-selected', String(selected));
  }
  (document.getElementById(`dict-${v.dictionary}`) as (HTMLElement & { checked: boolean }) | null)?.setAttribute('checked', '');
  for (const r of document.querySelectorAll<HTMLElement & { checked: boolean }>('vscode-radio')) r.checked = r.getAttribute('value') === v.dictionary;
  const norm = document.getElementById('normalization') as unknown as { value: string } | null;
  if (norm) norm.value = v.normalization;
  void loadLens(inspection, v);
}

async function loadLens(i: PanelInspection, v: LayersViewState): Promise<void> {
  const seq = ++requestSeq;
  setStatus(`Reading “${displayToken(i.tokens[v.pos]?.text ?? '')}” through the ${v.dictionary} dictionary…`, 'busy');
  try {
    const result = await rpc.request('lens', { inspectionId: i.inspectionId, pos: v.pos, dictionary: v.dictionary, normalization: v.normalization });
    if (seq !== requestSeq) return; // a newer request superseded this one
    chart.show(result);
    renderTable(result);
    const tok = displayToken(i.tokens[v.pos]!.text);
    const how = result.normalization === 'logit-lens' ? 'the logit lens (final norm, output dictionary, softmax)' : `the ${result.dictionary} dictionary`;
    setStatus(`“${tok}” (position ${v.pos}) through ${how}, ${result.valueLabel}${result.noiseFloor ? `; noise floor ${result.noiseFloor.toFixed(3)}` : ''}`, 'ok');
  } catch (e) {
    if (seq === requestSeq) setStatus((e as Error).message, 'error');
  }
}

function renderTable(r: LensResult): void {
  const ranks = Math.max(0, ...r.layers.map((l) => l.words.length));
  const head = el('tr');
  head.append(el('th', { scope: 'col' }, 'layer'), ...Array.from({ length: ranks }, (_, k) => el('th', { scope: 'col' }, `#${k + 1}`)));
  const rows = r.layers.map((l) => {
    const tr = el('tr', { 'data-layer': String(l.layer) });
    tr.append(el('th', { scope: 'row' }, String(l.layer)));
    for (const w of l.words) {
      const td = el('td', { title: `${w.text} (id ${w.id})` });
      td.append(el('span', { class: 'word' }, displayToken(w.text)), el('span', { class: 'value' }, w.value.toFixed(3)));
      tr.append(td);
    }
    return tr;
  });
  table.replaceChildren(el('caption', {}, `Top words per layer (${r.dictionary} dictionary)`), el('thead'), el('tbody'));
  table.tHead!.append(head);
  table.tBodies[0]!.append(...rows);
}

function setStatus(text: string, kind: 'ok' | 'busy' | 'error'): void {
  status.textContent = text;
  status.dataset['kind'] = kind;
}
