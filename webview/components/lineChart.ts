// A themed line chart (Chart.js): series of points, dashed series, horizontal reference lines
// (noise floor, Gaussian value), optional words written beside the points that never overlap
// and never leave the plot. Redrawn from the theme's colours whenever the theme changes.
import { Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration, type Plugin } from 'chart.js';
import { background, foreground, gridColor, muted, onThemeChange } from './colors';
import { el } from '../vscodeApi';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface SeriesPoint {
  x: number;
  y: number;
  /** written beside the point when the chart labels points */
  label?: string;
}

export interface Series {
  label: string;
  points: SeriesPoint[];
  color: string;
  dashed?: boolean;
  width?: number;
}

export interface RefLine {
  y: number;
  label: string;
}

export interface LineChartSpec {
  xTitle: string;
  yTitle: string;
  series: Series[];
  refLines?: RefLine[];
  /** write each point's label beside it (the layers view) */
  pointLabels?: boolean;
  legend?: boolean;
  yMin?: number;
  yMax?: number;
  xMin?: number;
  xMax?: number;
  /** accessible description of the chart */
  description: string;
}

export class LineChart {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private chart: Chart<'line', SeriesPoint[]> | undefined;
  private spec: LineChartSpec | undefined;

  constructor(id: string, height = 380) {
    this.root = el('div', { class: 'chart-box', id: `${id}-box` });
    this.root.style.height = `${height}px`;
    this.canvas = el('canvas', { id, role: 'img' });
    this.root.append(this.canvas);
    onThemeChange(() => this.spec && this.draw(this.spec));
  }

  draw(spec: LineChartSpec): void {
    this.spec = spec;
    this.canvas.setAttribute('aria-label', spec.description);
    const fg = foreground();
    const grid = gridColor();
    const config: ChartConfiguration<'line', SeriesPoint[]> = {
      type: 'line',
      data: {
        datasets: spec.series.map((s) => ({
          label: s.label,
          data: s.points,
          borderColor: s.color,
          backgroundColor: s.color,
          borderDash: s.dashed ? [6, 4] : [],
          pointRadius: 3,
          pointHoverRadius: 5,
          borderWidth: s.width ?? 2,
          parsing: false as const,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { right: spec.pointLabels ? 90 : 12, top: 12, left: 4 } },
        scales: {
          x: { type: 'linear', min: spec.xMin, max: spec.xMax, title: { display: true, text: spec.xTitle, color: fg }, ticks: { color: fg, precision: 0 }, grid: { color: grid } },
          y: { type: 'linear', min: spec.yMin, max: spec.yMax, title: { display: true, text: spec.yTitle, color: fg }, ticks: { color: fg }, grid: { color: grid } },
        },
        plugins: {
          legend: { display: spec.legend ?? false, labels: { color: fg, boxWidth: 24 } },
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = item.raw as SeriesPoint;
                return `${p.label ?? item.dataset.label}: ${p.y.toFixed(3)}`;
              },
            },
          },
        },
      },
      plugins: [referenceLines(spec.refLines ?? [], muted()), ...(spec.pointLabels ? [pointLabels(spec.refLines ?? [])] : [])],
    };
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, config);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}

/** Dashed horizontal lines with a label at their left end. */
function referenceLines(lines: RefLine[], color: string): Plugin<'line'> {
  return {
    id: 'referenceLines',
    afterDraw(chart) {
      const ctx = chart.ctx;
      const { left, right, top, bottom } = chart.chartArea;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.setLineDash([4, 4]);
      ctx.font = `${fontSize() - 1}px ${getComputedStyle(document.body).fontFamily}`;
      for (const l of lines) {
        const y = chart.scales['y']!.getPixelForValue(l.y);
        if (y < top || y > bottom) continue;
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(right, y);
        ctx.stroke();
        ctx.fillText(l.label, left + 4, y - 4);
      }
      ctx.restore();
    },
  };
}

function fontSize(): number {
  return parseFloat(getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-size')) || 12;
}

/** characters of a word written beside its point */
const MAX_LABEL = 18;

interface Label {
  x: number;
  y: number;
  text: string;
  color: string;
  width: number;
  /** 0: the first or last point of a run of its word (always tried hard); 1: a point inside a run */
  priority: number;
}

interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/**
 * Writes points' labels beside them in their series' colour, never on top of another label. A
 * word's line is already coloured as the word, so the first and last point of each run of a word
 * are labelled first, searching a few lines up and down for room; points inside a run get their
 * label only where it fits as it is. Near the right edge labels go to the left of their points.
 * Equal values (ties) stack, so both words stay readable. Every point keeps its tooltip.
 */
function pointLabels(refLines: RefLine[]): Plugin<'line'> {
  return {
    id: 'pointLabels',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      const size = fontSize();
      ctx.save();
      ctx.font = `${size}px ${getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family') || 'monospace'}`;
      ctx.textBaseline = 'middle';
      const labels: Label[] = [];
      const step = xStep(chart.data.datasets.map((ds) => ds.data as unknown as SeriesPoint[]));
      const adjacent = (a: SeriesPoint | undefined, b: SeriesPoint | undefined): boolean => !!a && !!b && b.x - a.x <= step * 1.001;
      chart.data.datasets.forEach((ds, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        const points = ds.data as unknown as SeriesPoint[];
        meta.data.forEach((pt, j) => {
          const full = points[j]?.label;
          if (!full) return;
          const runEdge = j === 0 || j === points.length - 1 || points[j - 1]?.label !== full || points[j + 1]?.label !== full || !adjacent(points[j - 1], points[j]) || !adjacent(points[j], points[j + 1]);
          // a long word is cut (its tooltip keeps it whole) so that it cannot cover the plot
          const text = full.length > MAX_LABEL ? `${full.slice(0, MAX_LABEL - 1)}…` : full;
          labels.push({ x: pt.x, y: pt.y, text, color: String(ds.borderColor), width: ctx.measureText(text).width, priority: runEdge ? 0 : 1 });
        });
      });
      const gap = size + 2;
      const bg = background();
      const { top, bottom } = chart.chartArea;
      const canvasRight = chart.width - 2;
      // the reference lines' own labels (drawn later, at the plot's left) are kept clear too
      const placed: Box[] = refLines.map((r) => {
        const y = chart.scales['y']!.getPixelForValue(r.y);
        const left = chart.chartArea.left;
        return { left, right: left + 8 + ctx.measureText(r.label).width, top: y - 4 - gap, bottom: y };
      });
      const free = (b: Box): boolean => b.left >= 0 && b.right <= chart.width && b.top >= top - size / 2 && b.bottom <= bottom + size / 2 && !placed.some((p) => b.left < p.right && p.left < b.right && b.top < p.bottom && p.top < b.bottom);
      // stable: run edges first, then by height within each column, as the series were ranked
      const order = labels.map((l, k) => ({ l, k })).sort((a, b) => a.l.priority - b.l.priority || a.k - b.k);
      for (const { l } of order) {
        const leftward = l.x + 6 + l.width > canvasRight;
        const x = leftward ? l.x - 6 : l.x + 6;
        const shifts = l.priority === 0 ? [0, 1, -1, 2, -2, 3, -3] : [0];
        for (const k of shifts) {
          const y = l.y + k * gap;
          const box = { left: leftward ? x - l.width : x, right: leftward ? x : x + l.width, top: y - gap / 2, bottom: y + gap / 2 };
          if (!free(box)) continue;
          placed.push(box);
          ctx.textAlign = leftward ? 'right' : 'left';
          // a halo of the background keeps the word readable where it crosses lines
          ctx.lineWidth = 3;
          ctx.lineJoin = 'round';
          ctx.strokeStyle = bg;
          ctx.strokeText(l.text, x, y);
          ctx.fillStyle = l.color;
          ctx.fillText(l.text, x, y);
          break;
        }
      }
      ctx.restore();
    },
  };
}

/** The smallest distance between two x values of the chart: points this far apart are neighbours. */
function xStep(series: SeriesPoint[][]): number {
  const xs = [...new Set(series.flat().map((p) => p.x))].sort((a, b) => a - b);
  let step = Infinity;
  for (let k = 1; k < xs.length; k++) step = Math.min(step, xs[k]! - xs[k - 1]!);
  return step;
}
