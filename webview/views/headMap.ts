// Head word maps (article section 3): each row of a head's W_K (or W_Q) slice read through the
// input dictionary, |E_in · M^T|: its top words and value, rows sorted by value, row norms beside
// them. Grouped-query models read the key slice of the head's kv head.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { checkbox, el, fmt, numberInput, select, table } from '../components/dom';

type HeadMap = AnalysisResult<'head-map'>;

let rt: Runtime;
let result: HeadMap | undefined;
let seq = 0;
const box = el('div', { id: 'map-box' });
let layerControl: ReturnType<typeof numberInput>;
let headControl: ReturnType<typeof numberInput>;

const view: ViewModule = {
  mount(r) {
    rt = r;
    const refresh = (c: Record<string, string | number | boolean>): void => {
      rt.setState({ controls: c });
      void load();
    };
    layerControl = numberInput('layer', 'Layer', rt.control('layer', 0), { min: 0, max: 0 }, (v) => refresh({ layer: v }));
    headControl = numberInput('head', 'Head', rt.control('head', 0), { min: 0, max: 0 }, (v) => refresh({ head: v }));
    const matrix = select<'W_K' | 'W_Q'>('matrix', 'Matrix', [
      { value: 'W_K', label: 'Keys (W_K)' },
      { value: 'W_Q', label: 'Queries (W_Q)' },
    ], rt.control<'W_K' | 'W_Q'>('matrix', 'W_K'), (v) => refresh({ matrix: v }));
    const fold = checkbox('fold', 'Fold in the RMSNorm gain', rt.control('foldNorm', false), (v) => refresh({ foldNorm: v }));
    const top = numberInput('top', 'Words per row', rt.control('top', 3), { min: 1, max: 10 }, (v) => refresh({ top: v }));
    rt.controls.append(layerControl.root, headControl.root, matrix.root, fold.root, top.root);
    rt.content.append(box);
  },
  show({ model }) {
    layerControl.setMax(model.nLayers - 1);
    headControl.setMax(model.nHeads - 1);
    layerControl.set(Math.min(rt.control('layer', 0), model.nLayers - 1));
    headControl.set(Math.min(rt.control('head', 0), model.nHeads - 1));
    void load();
  },
  exportable(): Exportable | undefined {
    if (!result) return undefined;
    return {
      name: `head-map-L${result.layer}H${result.head}-${result.matrix}`,
      headers: ['row', 'row norm', 'rank', 'token id', 'word', 'value'],
      rows: result.rows.flatMap((r) => r.tokens.map((t, k) => [r.row, r.norm, k + 1, t.token, t.text, t.value])),
      json: result,
      canvases: [],
    };
  },
};

async function load(): Promise<void> {
  const my = ++seq;
  const p = { layer: rt.control('layer', 0), head: rt.control('head', 0), matrix: rt.control<'W_K' | 'W_Q'>('matrix', 'W_K'), foldNorm: rt.control('foldNorm', false), top: rt.control('top', 3) };
  try {
    const r = await rt.analysis('head-map', p, `Reading ${p.matrix} of layer ${p.layer} head ${p.head} through the input dictionary…`);
    if (my !== seq) return;
    result = r;
    const caption = `L${r.layer}H${r.head} ${r.matrix}${r.matrix === 'W_K' && r.kvHead !== r.head ? ` (kv head ${r.kvHead})` : ''}${r.foldNorm ? ', RMSNorm gain folded in' : ''}: each row's top words in |E_in · M^T|, rows sorted by value`;
    const t = table(caption, ['row', '|M_r|', 'value', 'top words'], r.rows.map((x) => [String(x.row), x.norm, x.tokens[0]?.value ?? Number.NaN, x.tokens.map((w) => `${displayToken(w.text)} ${fmt(w.value, 2)}`).join('   ')]), { id: 'rows' });
    box.replaceChildren(t);
    rt.setStatus(`${r.rows.length} rows of head ${r.head}, layer ${r.layer}.`, 'ok');
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

boot(VIEWS.headMap, view);
