// Colours for canvases, read from the theme at draw time (a theme change redraws), with fallbacks
// that stay visible on light, dark and high-contrast backgrounds.
import { themeColor } from '../vscodeApi';

const SERIES: Array<[string, string]> = [
  ['charts-blue', '#3794ff'],
  ['charts-orange', '#d18616'],
  ['charts-green', '#388a34'],
  ['charts-red', '#e51400'],
  ['charts-purple', '#b180d7'],
  ['charts-yellow', '#bf8803'],
];
/** beyond the theme's six chart colours, fixed hues that read on both backgrounds */
const EXTRA = ['#00a3a3', '#c24f9e', '#7a7acc', '#8c6d1f', '#4f9e4f', '#cc5c33'];

/** The i-th series colour, adjusted until it stands out from the background (contrast >= 3). */
export function seriesColor(i: number): string {
  const n = SERIES.length + EXTRA.length;
  const k = i % n;
  const c = k < SERIES.length ? themeColor(SERIES[k]![0], SERIES[k]![1]) : EXTRA[k - SERIES.length]!;
  return readable(c, background());
}

function rgb(color: string): [number, number, number] | undefined {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(color.trim());
  if (hex) return [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16), parseInt(hex[3]!, 16)];
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(color.trim());
  if (short) return [parseInt(short[1]! + short[1]!, 16), parseInt(short[2]! + short[2]!, 16), parseInt(short[3]! + short[3]!, 16)];
  const fn = /rgba?\(\s*(\d+)[ ,]+(\d+)[ ,]+(\d+)/i.exec(color);
  return fn ? [Number(fn[1]), Number(fn[2]), Number(fn[3])] : undefined;
}

function luminance([r, g, b]: [number, number, number]): number {
  const f = (v: number): number => {
    const x = v / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}

/** `color`, mixed towards black (light background) or white (dark) until its contrast with `bg` is at least 3. */
export function readable(color: string, bg: string): string {
  const c = rgb(color);
  const b = rgb(bg);
  if (!c || !b) return color;
  const lb = luminance(b);
  const target = lb > 0.5 ? 0 : 255;
  let cur = c;
  for (let step = 0; step < 10; step++) {
    const lc = luminance(cur);
    const ratio = (Math.max(lc, lb) + 0.05) / (Math.min(lc, lb) + 0.05);
    if (ratio >= 3) break;
    cur = cur.map((v) => Math.round(v + (target - v) * 0.2)) as [number, number, number];
  }
  return `rgb(${cur[0]},${cur[1]},${cur[2]})`;
}

export function foreground(): string {
  return themeColor('editor-foreground', '#cccccc');
}

export function muted(): string {
  return themeColor('descriptionForeground', '#999999');
}

export function gridColor(): string {
  return themeColor('editorWidget-border', 'rgba(128,128,128,0.35)');
}

export function background(): string {
  return themeColor('editor-background', '#1e1e1e');
}

/** A perceptually ordered scale (viridis), 0..1 -> rgb; readable on any background. */
const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142], [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
];
export function scaleColor(t: number): string {
  if (!Number.isFinite(t)) return 'rgba(0,0,0,0)';
  const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const c = VIRIDIS[i]!.map((v, j) => Math.round(v + (VIRIDIS[i + 1]![j]! - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** Calls `redraw` whenever the theme changes (VS Code swaps the body's classes). */
export function onThemeChange(redraw: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    redraw();
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
}
