// Model anatomy (article section 1): the tensor table by layer and role, the article's parameter
// tally from the file's shapes beside the file's own count (and why they differ), and the memory
// of the state vectors and the KV cache for a prompt length the user sets.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { el, numberInput, table } from '../components/dom';

type Info = AnalysisResult<'info'>;
type Tensors = AnalysisResult<'tensors'>;

let rt: Runtime;
let info: Info | undefined;
let tensors: Tensors | undefined;
let seq = 0;
const summary = el('div', { id: 'summary' });
const tally = el('div', { id: 'tally' });
const caches = el('p', { id: 'caches' });
const tensorBox = el('div', { id: 'tensor-box' });

const view: ViewModule = {
  mount(r) {
    rt = r;
    const tokens = numberInput('tokens', 'Prompt length (tokens)', rt.control('tokens', 1000), { min: 1, max: 1 << 20 }, (v) => {
      rt.setState({ controls: { tokens: v } });
      void load();
    });
    rt.controls.append(tokens.root);
    rt.content.append(summary, tally, caches, tensorBox);
  },
  show() {
    void load();
  },
  exportable(): Exportable | undefined {
    if (!info || !tensors) return undefined;
    return {
      name: 'anatomy',
      headers: ['layer', 'role', 'name', 'shape', 'type', 'parameters', 'bytes'],
      rows: tensors.map((t) => [t.layer ?? '', t.role, t.name, t.shape.join(' x '), t.type, t.params, t.bytes]),
      json: { info, tensors },
      canvases: [],
    };
  },
};

const n = (x: number): string => x.toLocaleString('en-US');
const mb = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} GB` : `${(x / 1e6).toFixed(1)} MB`);

async function load(): Promise<void> {
  const my = ++seq;
  try {
    const [i, t] = [await rt.analysis('info', { tokens: rt.control('tokens', 1000) }, 'Reading the model file…'), await rt.analysis('tensors', {}, 'Listing the tensors…')];
    if (my !== seq) return;
    info = i;
    tensors = t;
    render(i, t);
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function render(i: Info, t: Tensors): void {
  const h = i.hparams;
  summary.replaceChildren(
    el('p', {}, `${i.name}: ${h.arch}, ${h.nLayers} layers, d_model ${h.dModel}, ${h.nHeads} heads of d_head ${h.dHead} (${h.nKvHeads} key/value heads), ${h.nExperts > 0 ? `a mixture of ${h.nExperts} experts (${h.nExpertsUsed} per token) of d_ff ${h.dFfExpert}` : `d_ff ${h.dFf}`}, vocabulary ${n(h.nVocab)}, ${i.tiedEmbeddings ? 'output dictionary tied to the input one' : 'separate input and output dictionaries'}; file ${mb(i.fileBytes)}.`),
  );
  // the article's column is empty where its tally does not apply (another architecture, no weights); the notes say why
  const art = i.tally.article;
  const an = (k: keyof NonNullable<typeof art>): string => (art ? n(art[k]) : '—');
  const f = i.tally.file;
  tally.replaceChildren(
    table(
      "Parameter tally: the article's formula from the shapes, and the file's own tensors",
      ['term', 'article', 'file'],
      [
        ['dictionaries', an('dictionaries'), n(f.dictionaries)],
        ['attention, per layer', an('attentionPerLayer'), n(f.attentionPerLayer)],
        ['feed-forward, per layer', an('ffnPerLayer'), n(f.ffnPerLayer)],
        ['RMSNorm gains, per layer', an('normsPerLayer'), n(f.normsPerLayer)],
        ['final RMSNorm', an('finalNorm'), n(f.finalNorm)],
        ['rotary frequencies', an('ropeFreqs'), n(f.ropeFreqs)],
        ['total', an('total'), n(f.total)],
        ...(i.tally.experts ? [['active per token', '—', n(i.tally.experts.activePerToken)]] : []),
      ],
      { id: 'tally-table' },
    ),
    ...i.tally.notes.map((x) => el('p', { class: 'note' }, x)),
  );
  caches.textContent = `For ${n(i.cache.nTokens)} tokens: the state vectors of every layer take ${mb(i.cache.stateBytes)}, the KV cache ${mb(i.cache.kvBytes)} (${i.cache.bytesPerValue} bytes a value). Noise floor for d_model ${h.dModel}: ${i.noiseFloor.toFixed(4)}.`;
  const rows: Array<Array<string | number>> = t.map((x) => [x.layer === null ? '—' : String(x.layer), x.role, x.name, x.shape.join(' × '), x.type, n(x.params), mb(x.bytes)]);
  tensorBox.replaceChildren(table(`${t.length} tensors, by layer and role`, ['layer', 'role', 'name', 'shape', 'type', 'parameters', 'size'], rows, { id: 'tensors' }));
  rt.setStatus(`${t.length} tensors, ${n(f.total)} parameters in the file.`, 'ok');
}

boot(VIEWS.anatomy, view);
