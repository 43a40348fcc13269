// A canvas heatmap: a [rows, cols] matrix on a perceptual colour scale, row and column labels
// (tokens or heads, thinned when cells are small), marked columns (sentence ends), a colour bar,
// a readout of the cell under the pointer (or the keyboard cursor), and drag-to-zoom.
import { background, foreground, muted, onThemeChange, scaleColor } from './colors';
import { el } from '../vscodeApi';

export interface HeatmapSpec {
  rows: number;
  cols: number;
  /** [rows * cols], row-major; NaN: no value (drawn empty) */
  values: ArrayLike<number>;
  rowLabel(i: number): string;
  colLabel(j: number): string;
  rowTitle: string;
  colTitle: string;
  /** colour range; default 0 .. the largest value */
  min?: number;
  max?: number;
  /** columns drawn with a marker line after them (sentence ends) */
  colMarks?: readonly number[];
  /** the readout line for a cell */
  readout(i: number, j: number, v: number): string;
  /** accessible description */
  description: string;
  /** largest cell side in CSS pixels */
  maxCell?: number;
}

export interface HeatmapEvents {
  /** a rectangle of cells dragged out (inclusive) */
  onZoom?(r0: number, c0: number, r1: number, c1: number): void;
  onClick?(i: number, j: number): void;
}

const FONT_PX = 11;

export class Heatmap {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  private spec: HeatmapSpec | undefined;
  private geom = { left: 0, top: 0, cell: 1, width: 0, height: 0 };
  private drag: { i: number; j: number } | undefined;
  private cursor = { i: 0, j: 0 };

  constructor(
    id: string,
    private readonly events: HeatmapEvents = {},
  ) {
    this.root = el('div', { class: 'heatmap', id: `${id}-box` });
    this.canvas = el('canvas', { id, role: 'img', tabindex: '0' });
    this.readout = el('div', { class: 'readout', id: `${id}-readout`, 'aria-live': 'polite' }, 'Point at a cell to read its value.');
    this.root.append(this.canvas, this.readout);
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mousedown', (e) => (this.drag = this.cellAt(e)));
    this.canvas.addEventListener('mouseup', (e) => this.onUp(e));
    this.canvas.addEventListener('mouseleave', () => (this.drag = undefined));
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    onThemeChange(() => this.spec && this.draw(this.spec));
    new ResizeObserver(() => this.spec && this.draw(this.spec)).observe(this.root);
  }

  draw(spec: HeatmapSpec): void {
    const changed = this.spec?.description !== spec.description;
    this.spec = spec;
    if (changed) this.readout.textContent = 'Point at a cell to read its value.';
    this.canvas.setAttribute('aria-label', spec.description);
    const ctx = this.canvas.getContext('2d')!;
    const font = `${FONT_PX}px ${getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family') || 'monospace'}`;
    ctx.font = font;
    const labelWidth = (n: number, f: (k: number) => string): number => {
      let w = 0;
      for (let k = 0; k < n; k += Math.max(1, Math.floor(n / 200))) w = Math.max(w, ctx.measureText(f(k)).width);
      return Math.min(150, w + 8);
    };
    const left = labelWidth(spec.rows, spec.rowLabel) + 18;
    const top = Math.min(110, labelWidth(spec.cols, spec.colLabel) * 0.8 + 10) + 18;
    const available = Math.max(120, (this.root.clientWidth || 600) - left - 70);
    const cell = Math.max(1, Math.min(spec.maxCell ?? 28, available / spec.cols));
    const width = left + cell * spec.cols + 70;
    const height = top + cell * spec.rows + 8;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.ceil(width * dpr);
    this.canvas.height = Math.ceil(height * dpr);
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = font;
    this.geom = { left, top, cell, width, height };
    ctx.fillStyle = background();
    ctx.fillRect(0, 0, width, height);

    let max = spec.max ?? 0;
    if (spec.max === undefined) for (let k = 0; k < spec.values.length; k++) if (spec.values[k]! > max) max = spec.values[k]!;
    const min = spec.min ?? 0;
    const range = max - min || 1;
    for (let i = 0; i < spec.rows; i++) {
      for (let j = 0; j < spec.cols; j++) {
        const v = spec.values[i * spec.cols + j]!;
        if (!Number.isFinite(v)) continue;
        ctx.fillStyle = scaleColor((v - min) / range);
        ctx.fillRect(left + j * cell, top + i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
    const fg = foreground();
    ctx.strokeStyle = muted();
    ctx.lineWidth = 1;
    ctx.setLineDash([3, 3]);
    for (const j of spec.colMarks ?? []) {
      const x = left + (j + 1) * cell;
      ctx.beginPath();
      ctx.moveTo(x, top - 4);
      ctx.lineTo(x, top + spec.rows * cell);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    // labels, thinned so that they never overlap
    ctx.fillStyle = fg;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    const rowStep = Math.max(1, Math.ceil((FONT_PX + 1) / cell));
    for (let i = 0; i < spec.rows; i += rowStep) ctx.fillText(clip(ctx, spec.rowLabel(i), left - 22), left - 4, top + (i + 0.5) * cell);
    const colStep = Math.max(1, Math.ceil((FONT_PX + 1) / cell));
    for (let j = 0; j < spec.cols; j += colStep) {
      ctx.save();
      ctx.translate(left + (j + 0.5) * cell, top - 4);
      ctx.rotate(-Math.PI / 3);
      ctx.textAlign = 'left';
      ctx.fillText(clip(ctx, spec.colLabel(j), 120), 0, 0);
      ctx.restore();
    }
    // axis titles
    ctx.fillStyle = muted();
    ctx.textAlign = 'left';
    ctx.fillText(`${spec.rowTitle} ↓  ·  ${spec.colTitle} →`, 2, 9);
    // colour bar
    const bx = left + spec.cols * cell + 18;
    const bh = Math.max(40, Math.min(200, spec.rows * cell));
    for (let y = 0; y < bh; y++) {
      ctx.fillStyle = scaleColor(1 - y / bh);
      ctx.fillRect(bx, top + y, 12, 1);
    }
    ctx.fillStyle = fg;
    ctx.textAlign = 'left';
    ctx.fillText(fmt(max), bx + 15, top + 4);
    ctx.fillText(fmt(min), bx + 15, top + bh - 4);
  }

  private cellAt(e: MouseEvent): { i: number; j: number } | undefined {
    if (!this.spec) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left - this.geom.left;
    const y = e.clientY - r.top - this.geom.top;
    const j = Math.floor(x / this.geom.cell);
    const i = Math.floor(y / this.geom.cell);
    if (i < 0 || j < 0 || i >= this.spec.rows || j >= this.spec.cols) return undefined;
    return { i, j };
  }

  private onMove(e: MouseEvent): void {
    const c = this.cellAt(e);
    if (c) this.showReadout(c.i, c.j);
  }

  showReadout(i: number, j: number): void {
    if (!this.spec) return;
    this.cursor = { i, j };
    this.readout.textContent = this.spec.readout(i, j, this.spec.values[i * this.spec.cols + j]!);
  }

  private onUp(e: MouseEvent): void {
    const a = this.drag;
    const b = this.cellAt(e);
    this.drag = undefined;
    if (!a || !b) return;
    if (a.i === b.i && a.j === b.j) return this.events.onClick?.(a.i, a.j);
    this.events.onZoom?.(Math.min(a.i, b.i), Math.min(a.j, b.j), Math.max(a.i, b.i), Math.max(a.j, b.j));
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.spec) return;
    const d: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const step = d[e.key];
    if (step) {
      e.preventDefault();
      this.showReadout(Math.max(0, Math.min(this.spec.rows - 1, this.cursor.i + step[0])), Math.max(0, Math.min(this.spec.cols - 1, this.cursor.j + step[1])));
    } else if (e.key === 'Enter') {
      this.events.onClick?.(this.cursor.i, this.cursor.j);
    }
  }
}

function clip(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > width) t = t.slice(0, -1);
  return `${t}…`;
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2);
}
