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

/** The i-th series colour. */
export function seriesColor(i: number): string {
  const n = SERIES.length + EXTRA.length;
  const k = i % n;
  if (k < SERIES.length) return themeColor(SERIES[k]![0], SERIES[k]![1]);
  return EXTRA[k - SERIES.length]!;
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

export function isDark(): boolean {
  return document.body.classList.contains('vscode-dark') || document.body.classList.contains('vscode-high-contrast');
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
