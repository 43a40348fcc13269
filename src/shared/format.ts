// Pure display helpers shared by the host (hovers, status) and the webviews. No 'vscode', no DOM.

/**
 * A token for display. A word's first piece loses its word marker (SentencePiece's ▁, BPE's Ġ):
 * "▁like" -> "like". A piece that continues a word is marked "##", so the suffix "es" ("##es")
 * never looks like the word "es". Control and byte tokens ("<s>", "<0x0A>") and punctuation stay
 * as they are; a lone space shows as ␣.
 */
export function displayToken(text: string): string {
  if (/^[▁Ġ]/.test(text)) {
    const t = text.replace(/[▁Ġ]/g, ' ');
    return t.trim().length ? t.trimStart() : '␣'.repeat(t.length);
  }
  if (/^[\p{L}\p{N}]/u.test(text)) return `##${text.replace(/▁/g, ' ')}`;
  return text.replace(/▁/g, ' ');
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

/** RFC 4180 CSV: every field quoted when it holds a comma, quote or line break. */
export function toCsv(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const field = (v: string | number): string => {
    const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
    return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [headers, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}
