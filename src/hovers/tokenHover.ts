// Hovering a token of an inspected range shows its top words in the input and output
// dictionaries at a few layers. Token and word strings are data: escaped, never trusted markup.
import * as vscode from 'vscode';
import { config } from '../config';
import { isInnerWorldError } from '../engine/errors';
import type { DictionaryKind, LensResult } from '../engine/worker/protocol';
import { displayToken, escapeMarkdown, hoverLayers } from '../shared/format';
import type { Services } from '../commands/services';

export function registerTokenHover(s: Services): vscode.Disposable {
  return vscode.languages.registerHoverProvider({ scheme: '*' }, { provideHover: (doc, position, token) => tokenHover(s, doc, position, token) });
}

async function tokenHover(s: Services, doc: vscode.TextDocument, position: vscode.Position, cancel: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
  const hit = s.inspections.tokenAt(doc, doc.offsetAt(position));
  if (!hit) return undefined;
  const { inspection, pos } = hit;
  const tok = inspection.summary.tokens[pos]!;
  const layers = hoverLayers(inspection.summary.nLayers, config.hoverLayers());
  const topK = Math.min(config.topK(), 5);
  const ask = (dictionary: DictionaryKind): Promise<LensResult> =>
    s.engine.call('lens', { inspectionId: inspection.summary.id, pos, dictionary, normalization: 'article', topK, layers });
  let input: LensResult;
  let output: LensResult;
  try {
    [input, output] = await Promise.all([ask('input'), ask('output')]);
  } catch (e) {
    if (cancel.isCancellationRequested) return undefined;
    const md = new vscode.MarkdownString();
    md.appendMarkdown('**Inner World**: ');
    md.appendText(isInnerWorldError(e) ? e.message : String(e));
    return new vscode.Hover(md, s.inspections.rangeOf(doc, inspection, pos));
  }
  const md = new vscode.MarkdownString();
  md.supportHtml = false;
  md.isTrusted = false;
  md.appendMarkdown(`**Inner World** · token ${pos} of ${inspection.summary.tokens.length} · \``);
  md.appendText(escapeCode(displayToken(tok.text)));
  md.appendMarkdown(`\` (id ${tok.id})\n\n`);
  md.appendMarkdown('| layer | input dictionary | output dictionary |\n|---:|---|---|\n');
  input.layers.forEach((li, i) => {
    const lo = output.layers[i]!;
    md.appendMarkdown(`| ${li.layer} | ${cell(li.words)} | ${cell(lo.words)} |\n`);
  });
  md.appendMarkdown(`\n_amplitude: inner product of the normalized state with each dictionary row (noise floor ≈ ${input.noiseFloor?.toFixed(2) ?? '?'})_`);
  return new vscode.Hover(md, s.inspections.rangeOf(doc, inspection, pos));
}

function cell(words: LensResult['layers'][number]['words']): string {
  return words.map((w) => `${escapeMarkdown(displayToken(w.text))} ${w.value.toFixed(2)}`).join(', ');
}

function escapeCode(s: string): string {
  return s.replace(/`/g, "'");
}
