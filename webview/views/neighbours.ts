// Nearest words (article section 2.A): a word's nearest rows in the input dictionary, in the
// output dictionary, and across them (its input row read in the output dictionary: word
// completions, as "play" -> "ground", "offs").
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { el, fmt, numberInput, table } from '../components/dom';

type Near = AnalysisResult<'neighbours'>;
const PAIRS = [
  ['input', 'input', 'within the input dictionary'],
  ['output', 'output', 'within the output dictionary'],
  ['input', 'output', 'input row read in the output dictionary'],
] as const;

let rt: Runtime;
let results: Near[] = [];
let seq = 0;
const box = el('div', { id: 'neighbours-box', class: 'side-by-side' });
let input: HTMLInputElement;

const view: ViewModule = {
  mount(r) {
    rt = r;
    const label = el('label', { class: 'control', for: 'word' });
    input = el('input', { id: 'word', type: 'text', value: rt.control('word', 'play'), 'aria-label': 'A word (one token)' });
    input.addEventListener('change', () => {
      rt.setState({ controls: { word: input.value.trim() } });
      void load();
    });
    label.append(el('span', { class: 'control-label' }, 'Word'), input);
    const k = numberInput('k', 'Neighbours', rt.control('k', 10), { min: 1, max: 50 }, (v) => {
      rt.setState({ controls: { k: v } });
      void load();
    });
    rt.controls.append(label, k.root);
    rt.content.append(box);
  },
  show() {
    input.value = rt.control('word', 'play');
    void load();
  },
  exportable(): Exportable | undefined {
    if (!results.length) return undefined;
    return {
      name: `neighbours-${rt.control('word', 'play')}`,
      headers: ['from', 'to', 'rank', 'token id', 'word', 'value'],
      rows: results.flatMap((r) => r.neighbours.map((n, k) => [r.from, r.to, k + 1, n.token, n.text, n.value])),
      json: results,
      canvases: [],
    };
  },
};

async function load(): Promise<void> {
  const word = rt.control('word', 'play');
  if (!word) return rt.setStatus('Type a word.', 'empty');
  const my = ++seq;
  try {
    const out: Near[] = [];
    for (const [from, to] of PAIRS) out.push(await rt.analysis('neighbours', { word, from, to, k: rt.control('k', 10) }, `Nearest rows of “${word}” (${from} → ${to})…`));
    if (my !== seq) return;
    results = out;
    box.replaceChildren(...out.map((r, i) => table(`“${displayToken(r.text)}” ${PAIRS[i]![2]} (${r.normalization})`, ['word', 'value'], r.neighbours.map((n) => [displayToken(n.text), fmt(n.value)]), { id: `near-${r.from}-${r.to}` })));
    rt.setStatus(`Nearest rows of “${displayToken(out[0]!.text)}”.`, 'ok');
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

boot(VIEWS.neighbours, view);
