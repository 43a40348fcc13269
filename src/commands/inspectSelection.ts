// Inspect Selection: tokenize the selected text with offsets, run the model instrumented in the
// engine process (cancellable), mark the tokens in the editor, open the layers panel.
import * as vscode from 'vscode';
import { config } from '../config';
import { InnerWorldError, isInnerWorldError } from '../engine/errors';
import type { InspectionSummary } from '../engine/worker/protocol';
import type { PanelInspection } from '../shared/protocol/layersPanel';
import type { Services } from './services';
import { LayersPanel } from '../panels/layersPanel';

export async function inspectSelection(s: Services): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) throw new InnerWorldError('empty-prompt', 'Open a text file and select the text to inspect.');
  const doc = editor.document;
  const sel = editor.selection;
  const text = doc.getText(sel);
  if (sel.isEmpty || text.trim().length === 0) throw new InnerWorldError('empty-prompt', 'Select some text first: Inspect Selection runs the model on the selected text.');
  const baseOffset = doc.offsetAt(sel.start);
  const summary = await runInspection(s, text);
  s.inspections.add({ summary, uri: doc.uri, baseOffset, text });
  if (summary.truncated) {
    void vscode.window.showWarningMessage(`Only the first ${summary.tokens.length} of ${summary.totalTokens} tokens were inspected (innerWorld.overflow is "truncate").`);
  }
  const lastWord = lastContentToken(summary);
  LayersPanel.createOrShow(s.panelDeps, toPanelInspection(s, summary, text, doc.uri.toString()), lastWord);
}

/** Run the model on `text` with a cancellable progress notification. */
export async function runInspection(s: Services, text: string): Promise<InspectionSummary> {
  const info = await s.model.ensureLoaded();
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Inner World: running ${info.name}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        progress.report({ message: 'tokenizing and decoding…' });
        const summary = await s.engine.call('inspect', { text, overflow: config.overflow() }, { signal: abort.signal });
        s.ctx.output.info(`inspected ${summary.tokens.length} tokens in ${summary.millis.toFixed(0)} ms`);
        return summary;
      } catch (e) {
        if (token.isCancellationRequested && isInnerWorldError(e)) throw new InnerWorldError('cancelled', 'Inspection cancelled.');
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
}

export function toPanelInspection(s: Services, summary: InspectionSummary, text: string, documentUri: string): PanelInspection {
  return {
    inspectionId: summary.id,
    modelName: summary.modelName,
    isDemoModel: s.model.isDemo(),
    nLayers: summary.nLayers,
    tokens: summary.tokens.map((t, pos) => ({ pos, id: t.id, text: t.text, special: t.special })),
    text,
    documentUri,
    nextToken: summary.nextToken?.text,
  };
}

function lastContentToken(summary: InspectionSummary): number {
  for (let i = summary.tokens.length - 1; i >= 0; i--) if (!summary.tokens[i]!.special && summary.tokens[i]!.end > summary.tokens[i]!.start) return i;
  return summary.tokens.length - 1;
}
