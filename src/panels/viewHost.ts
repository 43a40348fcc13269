// Every view panel, and what joins them to the editor: one panel per view, all showing the same
// inspection; token selection both ways (a view's token selects its text, the cursor on an
// inspected token selects it in the views); stale marks when the text is edited, the model changes
// or the engine restarts; panels restored after a window reload by inspecting their text again.
import * as vscode from 'vscode';
import type { EditorInspection, InspectedRanges } from '../editor/inspectedRanges';
import type { ModelInfo } from '../engine/llama/session';
import type { EngineClient } from '../engine/worker/engineClient';
import type { InspectionSummary } from '../engine/worker/protocol';
import { VIEWS, type ViewId, type ViewInspection, type ViewModel, type ViewState } from '../shared/protocol/views';
import { ViewPanel } from './viewPanel';

export interface ViewHostDeps {
  readonly extensionUri: vscode.Uri;
  readonly engine: EngineClient;
  readonly ranges: InspectedRanges;
  readonly isDemoModel: () => boolean;
  /** the loaded model, loading the chosen one first when none is */
  readonly ensureModel: () => Promise<ModelInfo>;
  /** the loaded model, or undefined */
  readonly loadedModel: () => ModelInfo | undefined;
  /** inspect `text` of a document again and register its range; undefined when the text is gone */
  readonly inspect: (doc: vscode.TextDocument, range: vscode.Range) => Promise<EditorInspection>;
  readonly log: (line: string) => void;
  /** ms after an edit before the views re-inspect by themselves (0: never) */
  readonly reinspectAfterEdit: () => number;
}

export class ViewHost implements vscode.Disposable {
  private readonly panels = new Map<ViewId, ViewPanel>();
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly deps: ViewHostDeps) {
    this.subs.push(
      ...Object.values(VIEWS).map((spec) =>
        vscode.window.registerWebviewPanelSerializer(spec.viewType, {
          deserializeWebviewPanel: async (panel, state: ViewState | undefined) => {
            this.panels.get(spec.id)?.dispose();
            const p = new ViewPanel(panel, spec, this, state);
            this.panels.set(spec.id, p);
            if (spec.needs === 'model') await this.showModelView(p, state ?? {});
            else await this.restore(p, state);
          },
        }),
      ),
      deps.ranges.onDidGoStale((i) => this.onEdited(i)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.followCursor(e)),
    );
  }

  get extensionUri(): vscode.Uri {
    return this.deps.extensionUri;
  }

  get engine(): EngineClient {
    return this.deps.engine;
  }

  log(line: string): void {
    this.deps.log(line);
  }

  /** Open (or reveal) any view: an inspection view on an inspection, a model view on the loaded model. */
  async open(view: ViewId, o: { inspection?: ViewInspection; pos?: number; controls?: ViewState['controls'] } = {}): Promise<ViewPanel | undefined> {
    if (VIEWS[view].needs === 'inspection') return o.inspection ? this.show(view, o.inspection, o.pos) : undefined;
    const p = await this.panel(view);
    await this.showModelView(p, { ...(p.state ?? {}), controls: { ...p.state?.controls, ...o.controls } });
    return p;
  }

  /** A model view shows the loaded model (loading the chosen one first). */
  private async showModelView(p: ViewPanel, state: ViewState): Promise<void> {
    try {
      p.busy('Loading the model…');
      const info = await this.deps.ensureModel();
      p.show(this.viewModel(info), undefined, state);
    } catch (e) {
      p.showNoModel(`No model is loaded (${(e as Error).message}). Run "Inner World: Load Model..." to choose one.`);
    }
  }

  private viewModel(info: ModelInfo): ViewModel {
    return { ...info, isDemoModel: this.deps.isDemoModel() };
  }

  /** The model changed or was released: inspection views go stale, model views follow the model. */
  modelChanged(info: ModelInfo | undefined): void {
    for (const p of this.panels.values()) {
      if (p.spec.needs === 'inspection') p.markStale('The model was released or changed: re-inspect to read the text with the model loaded now.');
      else if (info) p.show(this.viewModel(info), undefined, p.state ?? {});
      else p.showNoModel('No model is loaded. Run "Inner World: Load Model..." to choose one; this view fills in when it is loaded.');
    }
  }

  private async panel(view: ViewId): Promise<ViewPanel> {
    const spec = VIEWS[view];
    let p = this.panels.get(view);
    if (p) {
      p.panel.reveal(p.panel.viewColumn, true);
      return p;
    }
    // After a window reload VS Code revives a view only when its tab is shown: a tab of this view
    // that was never revived is replaced, not doubled.
    const unrevived = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(spec.viewType));
    const tabColumn = unrevived[0]?.group.viewColumn;
    if (unrevived.length) await vscode.window.tabGroups.close(unrevived, true);
    // next to the other views when some are open (as tabs of one group), else beside the editor
    const column = tabColumn ?? [...this.panels.values()].map((o) => o.panel.viewColumn).find((c) => c !== undefined) ?? vscode.ViewColumn.Beside;
    const panel = vscode.window.createWebviewPanel(spec.viewType, spec.title, { viewColumn: column, preserveFocus: true }, {});
    p = new ViewPanel(panel, spec, this, undefined);
    this.panels.set(view, p);
    return p;
  }

  /** Open (or reveal) an inspection view on an inspection, at a token. */
  async show(view: ViewId, inspection: ViewInspection, pos?: number): Promise<ViewPanel> {
    const p = await this.panel(view);
    const state = p.state ?? {};
    p.show(this.modelOf(), inspection, { ...state, pos: pos ?? clampPos(state.pos, inspection) ?? lastWord(inspection), text: inspection.text, documentUri: inspection.documentUri });
    return p;
  }

  private modelOf(): ViewModel {
    const info = this.deps.loadedModel();
    if (!info) throw new Error('no model is loaded');
    return this.viewModel(info);
  }

  /** Show a new inspection in every open view (and the given one, opened if needed). */
  async showEverywhere(inspection: ViewInspection, open: ViewId, pos?: number): Promise<void> {
    for (const [id, p] of this.panels) if (id !== open && p.spec.needs === 'inspection') p.show(this.modelOf(), inspection, { ...(p.state ?? {}), pos: pos ?? lastWord(inspection), text: inspection.text, documentUri: inspection.documentUri });
    await this.show(open, inspection, pos);
  }

  /** Reveal a view's panel when one is open (a restored one may still be inspecting its text). */
  reveal(view: ViewId): boolean {
    const p = this.panels.get(view);
    if (!p) return false;
    p.panel.reveal(p.panel.viewColumn, true);
    return true;
  }

  /** The views' inspection, when some view shows one. */
  currentInspection(): number | undefined {
    for (const p of this.panels.values()) if (p.inspectionId !== undefined) return p.inspectionId;
    return undefined;
  }

  private reinspectTimer: ReturnType<typeof setTimeout> | undefined;

  /** The views' text was edited: stale at once; re-inspected after a pause when the setting asks. */
  private onEdited(i: EditorInspection): void {
    this.markStale((p) => p.inspectionId === i.summary.id, 'The inspected text was edited.');
    const delay = this.deps.reinspectAfterEdit();
    const shown = [...this.panels.values()].find((p) => p.inspectionId === i.summary.id);
    if (!delay || !shown) return;
    clearTimeout(this.reinspectTimer);
    this.reinspectTimer = setTimeout(() => void this.reinspect(shown).catch((e: Error) => shown.failed(e.message)), delay);
  }

  markStale(which: (p: ViewPanel) => boolean, reason: string): void {
    for (const p of this.panels.values()) if (which(p)) p.markStale(reason);
  }

  markAllStale(reason: string): void {
    this.markStale(() => true, reason);
  }

  revealToken(inspectionId: number, pos: number): void {
    const i = this.deps.ranges.find(inspectionId);
    if (!i || i.stale) return;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === i.uri.toString());
    if (!editor) return;
    const range = this.deps.ranges.rangeOf(editor.document, i, pos);
    this.selecting = true;
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Inspect a panel's text again (the Re-inspect button after an edit or a model change). */
  async reinspect(p: ViewPanel): Promise<void> {
    const id = p.inspectionId;
    const old = id === undefined ? undefined : this.deps.ranges.find(id);
    if (old) {
      const doc = await vscode.workspace.openTextDocument(old.uri);
      const inspected = await this.deps.inspect(doc, this.deps.ranges.currentRange(doc, old));
      await this.showEverywhere(toViewInspection(inspected, this.deps.isDemoModel()), p.spec.id, p.state?.pos);
    } else if (p.state?.text && p.state.documentUri) {
      await this.restore(p, p.state);
    }
  }

  forgetPanel(p: ViewPanel): void {
    if (this.panels.get(p.spec.id) === p) this.panels.delete(p.spec.id);
  }

  /** A restored panel inspects its text again, from the document when the text is still there. */
  private async restore(p: ViewPanel, state: ViewState | undefined): Promise<void> {
    if (!state?.text || !state.documentUri) return;
    p.busy('Inspecting the text again…');
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(state.documentUri));
      const at = doc.getText().indexOf(state.text);
      if (at < 0) throw new Error('the inspected text is no longer in the document; select it again and run "Inner World: Inspect Selection"');
      const inspected = await this.deps.inspect(doc, new vscode.Range(doc.positionAt(at), doc.positionAt(at + state.text.length)));
      const inspection = toViewInspection(inspected, this.deps.isDemoModel());
      p.show(this.modelOf(), inspection, { ...state, pos: clampPos(state.pos, inspection) ?? lastWord(inspection) });
    } catch (e) {
      p.failed(`Could not restore this view: ${(e as Error).message}`);
    }
  }

  private selecting = false;

  /** The cursor on an inspected token selects that token in the views. */
  private followCursor(e: vscode.TextEditorSelectionChangeEvent): void {
    if (this.selecting) {
      this.selecting = false; // our own selection from a view: no echo
      return;
    }
    if (this.panels.size === 0) return;
    const hit = this.deps.ranges.tokenAt(e.textEditor.document, e.textEditor.document.offsetAt(e.selections[0]!.active));
    if (!hit) return;
    for (const p of this.panels.values()) if (p.inspectionId === hit.inspection.summary.id) p.selectToken(hit.pos);
  }

  dispose(): void {
    clearTimeout(this.reinspectTimer);
    for (const p of [...this.panels.values()]) p.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}

export function toViewInspection(i: EditorInspection, isDemoModel: boolean): ViewInspection {
  const s: InspectionSummary = i.summary;
  return {
    inspectionId: s.id,
    modelName: s.modelName,
    isDemoModel,
    nLayers: s.nLayers,
    nHeads: s.nHeads,
    tokens: s.tokens.map((t, pos) => ({ pos, id: t.id, text: t.text, special: t.special, surprise: s.surprise[pos]! })),
    text: i.text,
    documentUri: i.uri.toString(),
    nextToken: s.nextToken?.text,
  };
}

function clampPos(pos: number | undefined, i: ViewInspection): number | undefined {
  return pos === undefined ? undefined : Math.max(0, Math.min(pos, i.tokens.length - 1));
}

/** The last token that is text (not a control token): the views open on it. */
export function lastWord(i: ViewInspection): number {
  for (let k = i.tokens.length - 1; k >= 0; k--) if (!i.tokens[k]!.special) return k;
  return i.tokens.length - 1;
}
