// Hovering a token of an inspected range shows its top words in the input and output
// dictionaries at a few layers. Token and word strings are data: escaped, never trusted markup.
import * as vscode from 'vscode';
import { config } from '../config';
import { isInnerWorldError } from '../engine/errors';
import type { DictionaryName } from '../engine/analysis/dictionary';
import type { LensLayer } from '../engine/analysis/lens';
import { displayToken, escapeMarkdown, hoverLayers } from '../shared/format';
import type { Services } from '../commands/services';

export function registerTokenHover(s: Services): vscode.Disposable {
  return vscode.languages.registerHoverProvider({ scheme: '*' }, { provideHover: (doc, position, token) => tokenHover(s, doc, position, token) });
}

async function tokenHover(s: Services, doc: vscode.TextDocument, position: vscode.Position, cancel: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
  const hit = s.ranges.tokenAt(doc, doc.offsetAt(position));
  if (!hit) return undefined;
  const { inspection, pos } = hit;
  const tok = inspection.summary.tokens[pos]!;
  const layers = hoverLayers(inspection.summary.nLayers, config.hoverLayers());
  const topK = Math.min(config.topK(), 5);
  const ask = async (dictionary: DictionaryName): Promise<{ layers: LensLayer[]; noiseFloor: number }> => {
    const r = await s.engine.analysis('lens', { inspectionId: inspection.summary.id, positions: [pos], dictionary, normalization: 'article', k: topK, layers });
    return { layers: r.positions[0]!.layers, noiseFloor: r.noiseFloor };
  };
  let input: Awaited<ReturnType<typeof ask>>;
  let output: Awaited<ReturnType<typeof ask>>;
  try {
    [input, output] = await Promise.all([ask('input'), ask('output')]);
  } catch (e) {
    if (cancel.isCancellationRequested) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown('**Inner World**: ');
    md.appendText(isInnerWorldError(e) ? e.message : String(e));
    return new vscode.Hover(md, s.ranges.rangeOf(doc, inspection, pos));
  }
  const md = new vscode.MarkdownString();
  md.supportHtml = false;
  md.isTrusted = false;
  md.appendMarkdown(`**Inner World** · token ${pos + 1} of ${inspection.summary.tokens.length} (position ${pos}) · \``);
  md.appendText(escapeCode(displayToken(tok.text)));
  md.appendMarkdown(`\` (id ${tok.id})`);
  const surprise = inspection.summary.surprise[pos];
  if (surprise?.surprisal !== undefined) md.appendMarkdown(` · surprisal ${surprise.surprisal.toFixed(2)} nats, rank ${surprise.rank}, entropy before it ${surprise.entropy!.toFixed(2)} nats`);
  md.appendMarkdown('\n\n');
  md.appendMarkdown('| layer | input dictionary | output dictionary |\n|---:|---|---|\n');
  input.layers.forEach((li, i) => {
    const lo = output.layers[i]!;
    md.appendMarkdown(`| ${li.layer} | ${cell(li.words)} | ${cell(lo.words)} |\n`);
  });
  md.appendMarkdown(`\n_amplitude: inner product of the normalized state with each dictionary row (noise floor ≈ ${input.noiseFloor?.toFixed(2) ?? '?'})_`);
  return new vscode.Hover(md, s.ranges.rangeOf(doc, inspection, pos));
}

function cell(words: LensLayer['words']): string {
  return words.map((w) => `${escapeMarkdown(displayToken(w.text))} ${w.value.toFixed(2)}`).join(', ');
}

function escapeCode(s: string): string {
  return s.replace(/`/g, "'");
}
