// Inspect Selection: tokenize the selected text with offsets, run the model instrumented in the
// engine process (cancellable), mark the tokens in the editor, show the views.
import * as vscode from 'vscode';
import { config } from '../config';
import type { EditorInspection } from '../editor/inspectedRanges';
import { InnerWorldError, isInnerWorldError } from '../engine/errors';
import { LatestOnly } from '../engine/worker/latestOnly';
import type { InspectionSummary } from '../engine/worker/protocol';
import { toViewInspection } from '../panels/viewHost';
import { VIEWS, type ViewId } from '../shared/protocol/views';
import type { Services } from './services';

/** Inspect Selection run again before the last one answered: only the newest is shown. */
const latestInspection = new LatestOnly();

export async function inspectSelection(s: Services, view: ViewId = 'layers'): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) throw new InnerWorldError('empty-prompt', 'No text editor is active: open a text file, select the text to inspect, then run "Inner World: Inspect Selection".');
  const sel = editor.selection;
  if (sel.isEmpty || editor.document.getText(sel).trim().length === 0) throw new InnerWorldError('empty-prompt', 'Nothing is selected: select some text first; Inspect Selection runs the model on the selected text.');
  const doc = editor.document;
  let inspected: EditorInspection;
  try {
    inspected = await latestInspection.run((superseded) => inspectRange(s, doc, sel, superseded));
  } catch (e) {
    // longer than the context: say so, and offer what can be done at once
    const max = s.model.info?.maxContext;
    if (!isInnerWorldError(e) || e.code !== 'prompt-too-long' || !max) throw e;
    const firstN = `Inspect the first ${max} tokens`;
    if ((await vscode.window.showErrorMessage(`Inner World: ${e.message}`, firstN)) !== firstN) return;
    inspected = await latestInspection.run((superseded) => inspectRange(s, doc, sel, superseded, 'truncate'));
  }
  await s.views.showEverywhere(toViewInspection(inspected, s.model.isDemo()), view);
}

/** Run the model on a range of a document and register its tokens in the editor. */
export async function inspectRange(s: Services, doc: vscode.TextDocument, range: vscode.Range, superseded?: AbortSignal, overflow = config.overflow()): Promise<EditorInspection> {
  const text = doc.getText(range);
  const baseOffset = doc.offsetAt(range.start);
  const summary = await runInspection(s, text, superseded, overflow);
  // a newer inspection replaced this one while it ran: nothing of it is marked or shown
  if (superseded?.aborted) throw new InnerWorldError('cancelled', 'Replaced by a newer inspection.');
  if (summary.truncated) {
    void vscode.window.showWarningMessage(`Inner World: only the first ${summary.tokens.length} of ${summary.totalTokens} tokens were inspected: the model's context holds ${summary.tokens.length}.`);
  }
  return s.ranges.add({ summary, uri: doc.uri, baseOffset, text });
}

/** Run the model on `text` with a cancellable progress notification. */
export async function runInspection(s: Services, text: string, superseded?: AbortSignal, overflow = config.overflow()): Promise<InspectionSummary> {
  const info = await s.model.ensureLoaded();
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Inner World: running ${info.name}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        progress.report({ message: 'tokenizing and decoding…' });
        const summary = await s.engine.call('inspect', { text, overflow }, { signal: abort.signal, supersede: superseded });
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

/** Open a view: a model view at once; an inspection view on the inspection the views show, or on the selection. */
export async function showView(s: Services, view: ViewId): Promise<void> {
  if (VIEWS[view].needs === 'model') return void (await s.views.open(view));
  const id = s.views.currentInspection();
  const shown = id === undefined ? undefined : s.ranges.find(id);
  if (shown) return void (await s.views.show(view, toViewInspection(shown, s.model.isDemo())));
  if (s.views.reveal(view)) return;
  const editor = vscode.window.activeTextEditor;
  if (editor && !editor.selection.isEmpty) return inspectSelection(s, view);
  throw new InnerWorldError('empty-prompt', 'No inspection to show yet: select some text in an editor and run "Inner World: Inspect Selection" (or select text and run this command again).');
}
