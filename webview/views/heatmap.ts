// The weight heatmap (companion page "Weight-matrix-heatmap"): |W| of one matrix summed over
// d_head x d_head tiles (loud and quiet heads show as stripes) and a zoom window of single
// elements. Drag on the tiles to zoom there, drag on the window to zoom further; the readout
// gives the row, column, head and value under the pointer.
import type { AnalysisResult } from '../../src/shared/protocol/views';
import { VIEWS } from '../../src/shared/protocol/views';
import { boot, type Exportable, type Runtime, type ViewModule } from '../boot';
import { button, el, numberInput, select } from '../components/dom';
import { Heatmap } from '../components/heatmap';

type Result = AnalysisResult<'heatmap'>;
type Role = 'W_Q' | 'W_K' | 'W_V' | 'W_O' | 'W_gate_inp' | 'W_gate' | 'W_in' | 'W_out';
const ROLES: Role[] = ['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate', 'W_in', 'W_out'];
/** a mixture of experts: the router, and one W_gate / W_in / W_out per expert */
const MOE_ROLES: Role[] = ['W_Q', 'W_K', 'W_V', 'W_O', 'W_gate_inp', 'W_gate', 'W_in', 'W_out'];
const EXPERT_ROLES: readonly Role[] = ['W_gate', 'W_in', 'W_out'];

let rt: Runtime;
let result: Result | undefined;
let dHead = 128;
let nExperts = 0;
let seq = 0;
const tilesTitle = el('h3', { id: 'tiles-title' });
const zoomTitle = el('h3', { id: 'zoom-title' });
const tiles = new Heatmap('tiles', {
  onZoom: (r0, c0, r1, c1) => zoomTo(r0 * blockOf(), c0 * blockOf(), (Math.max(r1 - r0, c1 - c0) + 1) * blockOf()),
  onClick: (i, j) => zoomTo(i * blockOf(), j * blockOf(), Math.max(blockOf(), 32)),
});
const zoom = new Heatmap('zoom', {
  onZoom: (r0, c0, r1, c1) => {
    const z = result!.zoom;
    zoomTo(z.row0 + r0, z.col0 + c0, Math.max(4, Math.max(r1 - r0, c1 - c0) + 1));
  },
});
let layerControl: ReturnType<typeof numberInput>;
let roleControl: ReturnType<typeof select<Role>>;
let expertControl: ReturnType<typeof numberInput>;
let moeRoles = false;

const blockOf = (): number => result?.blocks.block ?? dHead;

const view: ViewModule = {
  mount(r) {
    rt = r;
    const role = (roleControl = roleSelect(ROLES));
    expertControl = numberInput('expert', 'Expert', rt.control('expert', 0), { min: 0, max: 0 }, (v) => {
      rt.setState({ controls: { expert: v, row0: 0, col0: 0 } });
      void load();
    });
    expertControl.root.hidden = true;
    layerControl = numberInput('layer', 'Layer', rt.control('layer', 0), { min: 0, max: 0 }, (v) => {
      rt.setState({ controls: { layer: v } });
      void load();
    });
    const bar = el('span', { class: 'open-views' });
    bar.append(
      button('Zoom in', () => zoomBy(0.5), { id: 'zoom-in' }),
      button('Zoom out', () => zoomBy(2), { id: 'zoom-out' }),
    );
    rt.controls.append(role.root, expertControl.root, layerControl.root, bar);
    rt.content.append(tilesTitle, tiles.root, zoomTitle, zoom.root);
  },
  show({ model }) {
    dHead = model.dHead;
    nExperts = model.nExperts;
    if (nExperts > 0 !== moeRoles) {
      // the role list depends on the model: a mixture of experts adds the router
      moeRoles = nExperts > 0;
      const next = roleSelect(moeRoles ? MOE_ROLES : ROLES);
      roleControl.root.replaceWith(next.root);
      roleControl = next;
    }
    expertControl.setMax(Math.max(0, nExperts - 1));
    expertControl.set(Math.min(rt.control('expert', 0), Math.max(0, nExperts - 1)));
    layerControl.setMax(model.nLayers - 1);
    layerControl.set(Math.min(rt.control('layer', 0), model.nLayers - 1));
    roleControl.set(rt.control<Role>('role', 'W_Q'));
    void load();
  },
  exportable(): Exportable | undefined {
    if (!result) return undefined;
    const z = result.zoom;
    const rows: Array<Array<string | number>> = [];
    for (let i = 0; i < z.rows; i++) for (let j = 0; j < z.cols; j++) rows.push([z.row0 + i, z.col0 + j, z.values[i * z.cols + j]!]);
    return { name: `heatmap-${result.name}`, headers: ['row', 'column', '|w|'], rows, json: result, canvases: [tiles.canvas, zoom.canvas] };
  },
};

function roleSelect(roles: readonly Role[]): ReturnType<typeof select<Role>> {
  return select<Role>('matrix', 'Matrix', roles.map((x) => ({ value: x, label: x })), rt.control<Role>('role', 'W_Q'), (v) => {
    rt.setState({ controls: { role: v, row0: 0, col0: 0 } });
    void load();
  });
}

function zoomTo(row0: number, col0: number, size: number): void {
  rt.setState({ controls: { row0, col0, size: Math.max(4, Math.round(size)) } });
  void load();
}

function zoomBy(f: number): void {
  const size = rt.control('size', 96);
  const next = Math.max(4, Math.min(512, Math.round(size * f)));
  const c = (next - size) / 2;
  zoomTo(Math.max(0, rt.control('row0', 0) - c), Math.max(0, rt.control('col0', 0) - c), next);
}

/** Which head owns a row (W_Q, W_K, W_V) or a column (W_O) of the matrix. */
function headOf(role: string, row: number, col: number): string {
  if (role === 'W_Q') return `, head ${Math.floor(row / dHead)}`;
  if (role === 'W_K' || role === 'W_V') return `, kv head ${Math.floor(row / dHead)}`;
  if (role === 'W_O') return `, head ${Math.floor(col / dHead)}`;
  return '';
}

async function load(): Promise<void> {
  const my = ++seq;
  const role = rt.control<Role>('role', 'W_Q');
  const layer = rt.control('layer', 0);
  // a mixture of experts' W_gate / W_in / W_out are one matrix per expert: the picker shows for them
  const perExpert = nExperts > 0 && EXPERT_ROLES.includes(role);
  expertControl.root.hidden = !perExpert;
  const expert = perExpert ? Math.min(rt.control('expert', 0), nExperts - 1) : undefined;
  try {
    const r = await rt.analysis('heatmap', { role, layer, expert, window: { row0: Math.round(rt.control('row0', 0)), col0: Math.round(rt.control('col0', 0)), size: rt.control('size', 96) } }, `Reading ${role}${expert === undefined ? '' : ` of expert ${expert}`} of layer ${layer}…`);
    if (my !== seq) return;
    result = r;
    render(r, role);
  } catch (e) {
    if (my === seq) rt.setStatus((e as Error).message, 'error');
  }
}

function render(r: Result, role: string): void {
  const b = r.blocks;
  tilesTitle.textContent = `${r.name} [${r.shape[0]} × ${r.shape[1]}]: |W| summed over ${b.block} × ${b.block} tiles (rows: output units${role === 'W_Q' || role === 'W_K' || role === 'W_V' ? ', a head per tile row' : ''}). Click or drag to zoom.`;
  tiles.draw({
    rows: b.rows,
    cols: b.cols,
    values: b.values,
    rowLabel: (i) => String(i * b.block),
    colLabel: (j) => String(j * b.block),
    rowTitle: 'row',
    colTitle: 'column',
    readout: (i, j, v) => `tile rows ${i * b.block}–${Math.min(r.shape[0], (i + 1) * b.block) - 1}, columns ${j * b.block}–${Math.min(r.shape[1], (j + 1) * b.block) - 1}${headOf(role, i * b.block, j * b.block)}: sum |w| ${v.toFixed(2)}`,
    description: `Sum of |W| per tile of ${r.name}`,
    maxCell: 24,
  });
  const z = r.zoom;
  zoomTitle.textContent = `|W| of rows ${z.row0}–${z.row0 + z.rows - 1}, columns ${z.col0}–${z.col0 + z.cols - 1}. Drag to zoom in.`;
  zoom.draw({
    rows: z.rows,
    cols: z.cols,
    values: z.values,
    rowLabel: (i) => String(z.row0 + i),
    colLabel: (j) => String(z.col0 + j),
    rowTitle: 'row',
    colTitle: 'column',
    readout: (i, j, v) => `row ${z.row0 + i}, column ${z.col0 + j}${headOf(role, z.row0 + i, z.col0 + j)}: |w| = ${v.toPrecision(4)}`,
    description: `|W| in a window of ${r.name}`,
    maxCell: 20,
  });
  rt.setStatus(`${r.name}: a window of ${z.rows} × ${z.cols} elements. Point at a cell to read it.`, 'ok');
}

boot(VIEWS.heatmap, view);
