// The article's layer-decoding chart (Fig. 3): one line per rank (1st, 2nd ... best word),
// value against layer, and each point labelled with its word in the line's colour.
import {
  Chart,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type Plugin,
} from 'chart.js';
import type { LensResult } from '../src/shared/protocol/layersPanel';
import { displayToken } from '../src/shared/protocol/layersPanel';
import { themeColor } from './vscodeApi';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip);

const RANK_COLORS: Array<[string, string]> = [
  ['charts-blue', '#3794ff'],
  ['charts-orange', '#d18616'],
  ['charts-green', '#89d185'],
  ['charts-red', '#f14c4c'],
  ['charts-purple', '#b180d7'],
  ['charts-yellow', '#cca700'],
];

interface Point {
  x: number;
  y: number;
  word: string;
}

/** Writes each point's word next to it (canvas text: the word is drawn, never parsed). Labels of
 * one layer are pushed apart vertically so that close amplitudes stay readable. */
const wordLabels: Plugin<'line'> = {
  id: 'wordLabels',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    const size = parseFloat(getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-size')) || 12;
    ctx.save();
    ctx.font = `${size}px ${getComputedStyle(document.body).fontFamily}`;
    ctx.textBaseline = 'middle';
    const columns = new Map<number, Array<{ x: number; y: number; word: string; color: string }>>();
    chart.data.datasets.forEach((ds, i) => {
      const meta = chart.getDatasetMeta(i);
      if (meta.hidden) return;
      meta.data.forEach((pt, j) => {
        const word = (ds.data[j] as unknown as Point).word;
        const key = Math.round(pt.x);
        if (!columns.has(key)) columns.set(key, []);
        columns.get(key)!.push({ x: pt.x + 4, y: pt.y, word, color: String(ds.borderColor) });
      });
    });
    const gap = size + 2;
    for (const labels of columns.values()) {
      labels.sort((a, b) => a.y - b.y);
      for (let k = 1; k < labels.length; k++) labels[k]!.y = Math.max(labels[k]!.y, labels[k - 1]!.y + gap);
      for (const l of labels) {
        ctx.fillStyle = l.color;
        ctx.fillText(l.word, l.x, l.y);
      }
    }
    ctx.restore();
  },
};

export class LayerChart {
  private chart: Chart<'line', Point[]> | undefined;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  show(result: LensResult): void {
    const ranks = Math.max(0, ...result.layers.map((l) => l.words.length));
    const fg = themeColor('editor-foreground', '#cccccc');
    const grid = themeColor('editorWidget-border', 'rgba(128,128,128,0.3)');
    const datasets = Array.from({ length: ranks }, (_, r) => {
      const [name, fallback] = RANK_COLORS[r % RANK_COLORS.length]!;
      const color = themeColor(name, fallback);
      return {
        label: `rank ${r + 1}`,
        data: result.layers.filter((l) => l.words[r]).map((l) => ({ x: l.layer, y: l.words[r]!.value, word: displayToken(l.words[r]!.text) })),
        borderColor: color,
        backgroundColor: color,
        pointRadius: 2,
        borderWidth: 2,
        parsing: false as const,
      };
    });
    const maxLayer = Math.max(...result.layers.map((l) => l.layer));
    const config: ChartConfiguration<'line', Point[]> = {
      type: 'line',
      data: { datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { right: 60, top: 16 } },
        scales: {
          x: { type: 'linear', min: 0, max: maxLayer, title: { display: true, text: 'layer (0 = embedding)', color: fg }, ticks: { color: fg, precision: 0 }, grid: { color: grid } },
          y: { type: 'linear', beginAtZero: true, title: { display: true, text: result.valueLabel, color: fg }, ticks: { color: fg }, grid: { color: grid } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: (item) => {
                const p = item.raw as Point;
                return `${p.word}: ${p.y.toFixed(3)}`;
              },
            },
          },
        },
      },
      plugins: [wordLabels, noiseFloorLine(result.noiseFloor, themeColor('descriptionForeground', '#999999'))],
    };
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, config);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }
}

/** A dashed line at the noise floor: words below it could be reached by noise alone. */
function noiseFloorLine(floor: number | undefined, color: string): Plugin<'line'> {
  return {
    id: 'noiseFloor',
    afterDraw(chart) {
      if (floor === undefined) return;
      const y = chart.scales['y']!.getPixelForValue(floor);
      const { left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.fillStyle = color;
      ctx.fillText('noise floor', left + 4, y - 3);
      ctx.restore();
    },
  };
}
