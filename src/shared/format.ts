// Pure display helpers shared by the host (hovers, status) and the webviews. No 'vscode', no DOM.

/** Strip SentencePiece's word marker for display: "▁like" -> "like"; keep "<0x0A>" and "<s>"; show a lone space as ␣. */
export function displayToken(text: string): string {
  const t = text.replace(/▁/g, ' ');
  return t.trim().length ? t.trimStart() : t.length ? '␣'.repeat(t.length) : text;
}

/** Escape every character Markdown (or a Markdown table) could read as syntax, as HTML entities. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>~&"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/[\r\n]/g, ' ');
}

/** Layers a hover shows: the configured ones that exist, else first, quarter, half, three quarters, last. */
export function hoverLayers(nLayers: number, chosen: readonly number[]): number[] {
  const valid = chosen.filter((l) => Number.isInteger(l) && l >= 0 && l <= nLayers);
  if (valid.length) return [...new Set(valid)].sort((a, b) => a - b);
  return [...new Set([0, Math.round(nLayers / 4), Math.round(nLayers / 2), Math.round((3 * nLayers) / 4), nLayers])];
}
