// Word similarity (the article's Fig. 2): the words typed, their rows in the input or output
// dictionary, and the matrix of normalized inner products. A word of several tokens enters as its
// pieces, marked, never dropped.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { el, fmt, select } from '../components/dom';
import { Heatmap } from '../components/heatmap';

type Sim = AnalysisResult<'similarity'>;

let rt: Runtime;
let result: Sim | undefined;
let seq = 0;
const splitNote = el('p', { id: 'split-note', class: 'note' });
const map = new Heatmap('similarity-map');
let input: HTMLInputElement;

const view: ViewModule = {
  mount(r) {
    rt = r;
    const label = el('label', { class: 'control', for: 'words' });
    input = el('input', { id: 'words', type: 'text', value: rt.control('words', 'red, blue, green, ball, court, play'), 'aria-label': 'Words, separated by commas or spaces' });
    input.style.width = '28em';
    input.addEventListener('change', () => {
      rt.setState({ controls: { words: input.value } });
      void load();
    });
    label.append(el('span', { class: 'control-label' }, 'Words'), input);
    const dict = select<'input' | 'output'>('dictionary', 'Dictionary', [
      { value: 'input', label: 'Input dictionary' },
      { value: 'output', label: 'Output dictionary' },
    ], rt.control<'input' | 'output'>('dictionary', 'input'), (v) => {
      rt.setState({ controls: { dictionary: v } });
      void load();
    });
    rt.controls.append(label, dict.root);
    rt.content.append(splitNote, map.root);
  },
  show() {
    void load();
  },
  exportable(): Exportable | undefined {
    if (!result) return undefined;
    const t = result.texts;
    return { name: `similarity-${result.dictionary}`, headers: ['word', ...t], rows: result.matrix.map((row, i) => [t[i]!, ...row]), json: result, canvases: [map.canvas] };
  },
};

async function load(): Promise<void> {
  const words = rt.control('words', 'red, blue, green, ball, court, play').split(/[,\s]+/).map((w) => w.trim()).filter(Boolean);
  if (words.length === 0) return rt.setStatus('Type some words, separated by commas or spaces.', 'empty');
  const my = ++seq;
  try {
    const r = await rt.analysis('similarity', { words, dictionary: rt.control<'input' | 'output'>('dictionary', 'input'), splitWords: true }, 'Reading the words\' rows…');
    if (my !== seq) return;
    result = r;
    const n = r.texts.length;
    const labels = r.texts.map(displayToken);
    map.draw({
      rows: n,
      cols: n,
      values: r.matrix.flat(),
      rowLabel: (i) => labels[i]!,
      colLabel: (j) => labels[j]!,
      rowTitle: 'word',
      colTitle: 'word',
      min: -1,
      max: 1,
      readout: (i, j, v) => `${labels[i]} · ${labels[j]}: normalized inner product ${fmt(v)}`,
      description: `Normalized inner products of the words in the ${r.dictionary} dictionary`,
      maxCell: 48,
    });
    splitNote.textContent = r.split.length ? `Not one token each, so shown as their pieces: ${r.split.map((s) => `${s.word} = ${s.pieces.map(displayToken).join(' + ')}`).join('; ')}.` : '';
    rt.setStatus(`${n} rows of the ${r.dictionary} dictionary; 1 on the diagonal, the scale runs from -1 to 1.`, 'ok');
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

boot(VIEWS.similarity, view);
