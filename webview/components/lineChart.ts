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
      plugins: [referenceLines(spec.refLines ?? [], muted()), ...(spec.pointLabels ? [pointLabels] : [])],
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

interface Label {
  x: number;
  y: number;
  text: string;
  color: string;
  width: number;
}

/**
 * Writes each point's label beside it in its series' colour. Labels of one x are sorted by height
 * and pushed apart by a line each, then the column is moved back inside the plot if it spills;
 * near the right edge labels go to the left of their points. Equal values (ties) stack, so both
 * words stay readable.
 */
const pointLabels: Plugin<'line'> = {
  id: 'pointLabels',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    const size = fontSize();
    ctx.save();
    ctx.font = `${size}px ${getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family') || 'monospace'}`;
    ctx.textBaseline = 'middle';
    const columns = new Map<number, Label[]>();
    chart.data.datasets.forEach((ds, i) => {
      const meta = chart.getDatasetMeta(i);
      if (meta.hidden) return;
      meta.data.forEach((pt, j) => {
        const text = (ds.data[j] as unknown as SeriesPoint).label;
        if (!text) return;
        const key = Math.round(pt.x);
        if (!columns.has(key)) columns.set(key, []);
        columns.get(key)!.push({ x: pt.x, y: pt.y, text, color: String(ds.borderColor), width: ctx.measureText(text).width });
      });
    });
    const gap = size + 2;
    const bg = background();
    const { top, bottom } = chart.chartArea;
    const canvasRight = chart.width - 2;
    for (const labels of columns.values()) {
      labels.sort((a, b) => a.y - b.y);
      for (let k = 1; k < labels.length; k++) labels[k]!.y = Math.max(labels[k]!.y, labels[k - 1]!.y + gap);
      const overflow = labels.length ? labels[labels.length - 1]!.y - (bottom - size / 2) : 0;
      if (overflow > 0) for (const l of labels) l.y -= overflow;
      const underflow = labels.length ? top + size / 2 - labels[0]!.y : 0;
      if (underflow > 0) for (const l of labels) l.y += underflow;
      for (const l of labels) {
        const leftward = l.x + 6 + l.width > canvasRight;
        const x = leftward ? l.x - 6 : l.x + 6;
        ctx.textAlign = leftward ? 'right' : 'left';
        // a halo of the background keeps the word readable where it crosses lines
        ctx.lineWidth = 3;
        ctx.lineJoin = 'round';
        ctx.strokeStyle = bg;
        ctx.strokeText(l.text, x, l.y);
        ctx.fillStyle = l.color;
        ctx.fillText(l.text, x, l.y);
      }
    }
    ctx.restore();
  },
};
