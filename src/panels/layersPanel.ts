// The layer-decoding panel: token chips and, for the chosen token, amplitude against layer with
// the top words at the points (the article's Fig. 3), through the input or output dictionary.
import * as vscode from 'vscode';
import { isInnerWorldError } from '../engine/errors';
import type { EngineClient } from '../engine/worker/engineClient';
import type { InspectionStore } from '../inspections';
import type { ModelController } from '../model/modelController';
import { serveRequest, type RpcResponse } from '../shared/protocol/rpc';
import type { HostToLayers, LayersRequests, LayersToHost, LayersViewState, PanelInspection } from '../shared/protocol/layersPanel';
import { webviewHtml, webviewOptions } from './webviewHtml';

export interface LayersPanelDeps {
  readonly extensionUri: vscode.Uri;
  readonly engine: EngineClient;
  readonly model: ModelController;
  readonly inspections: InspectionStore;
  /** inspect `text` again (a panel restored after a reload, or after the engine restarted) */
  readonly reinspect: (text: string, documentUri: string) => Promise<PanelInspection>;
  readonly log: (line: string) => void;
}

const DEFAULT_VIEW: Omit<LayersViewState, 'pos'> = { dictionary: 'input', normalization: 'article' };

export class LayersPanel implements vscode.Disposable {
  static readonly viewType = 'innerWorld.layers';
  private static current: LayersPanel | undefined;

  private readonly subs: vscode.Disposable[] = [];
  private disposed = false;

  static createOrShow(deps: LayersPanelDeps, inspection: PanelInspection, pos: number): LayersPanel {
    let p = LayersPanel.current;
    if (!p) {
      const panel = vscode.window.createWebviewPanel(LayersPanel.viewType, 'Inner World: Layers', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, webviewOptions(deps.extensionUri));
      p = LayersPanel.current = new LayersPanel(panel, deps, undefined);
    } else {
      p.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    p.show(inspection, { ...DEFAULT_VIEW, ...p.lastView, pos, text: inspection.text, documentUri: inspection.documentUri });
    return p;
  }

  static registerSerializer(deps: LayersPanelDeps): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(LayersPanel.viewType, {
      deserializeWebviewPanel: async (panel, state: LayersViewState | undefined) => {
        panel.webview.options = webviewOptions(deps.extensionUri);
        LayersPanel.current?.dispose();
        LayersPanel.current = new LayersPanel(panel, deps, state);
      },
    });
  }

  private lastView: LayersViewState | undefined;
  private readonly ready: Promise<LayersViewState | undefined>;
  private resolveReady!: (s: LayersViewState | undefined) => void;

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: LayersPanelDeps,
    restored: LayersViewState | undefined,
  ) {
    this.ready = new Promise((r) => (this.resolveReady = r));
    this.lastView = restored;
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'icon.svg');
    panel.webview.html = webviewHtml(panel.webview, deps.extensionUri, 'layersPanel', 'Inner World: Layers');
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
    );
    if (restored?.text && restored.documentUri) void this.restore(restored);
  }

  private async restore(state: LayersViewState): Promise<void> {
    this.post({ type: 'busy', message: 'Inspecting the text again…' });
    try {
      const inspection = await this.deps.reinspect(state.text!, state.documentUri!);
      this.show(inspection, { ...state, pos: Math.min(state.pos, inspection.tokens.length - 1) });
    } catch (e) {
      this.post({ type: 'failed', message: `Could not restore this panel: ${(e as Error).message}` });
    }
  }

  show(inspection: PanelInspection, view: LayersViewState): void {
    this.lastView = view;
    void this.ready.then(() => this.post({ type: 'show', inspection, view }));
  }

  private post(msg: HostToLayers | RpcResponse): void {
    if (!this.disposed) void this.panel.webview.postMessage(msg);
  }

  private async onMessage(m: unknown): Promise<void> {
    const handled = await serveRequest<LayersRequests>(
      m,
      {
        lens: (p) =>
          this.deps.engine.call('lens', p).catch((e: unknown) => {
            throw new Error(isInnerWorldError(e) ? e.message : String(e));
          }),
        revealToken: (p) => {
          this.revealToken(p.inspectionId, p.pos);
          return null;
        },
      },
      (r) => this.post(r),
    );
    if (handled) return;
    const msg = m as LayersToHost;
    if (msg.type === 'ready') this.resolveReady(msg.state);
    else if (msg.type === 'viewState') this.lastView = msg.state;
  }

  private revealToken(inspectionId: number, pos: number): void {
    const i = this.deps.inspections.find(inspectionId);
    if (!i) return;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === i.uri.toString());
    if (!editor) return;
    const range = this.deps.inspections.rangeOf(editor.document, i, pos);
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (LayersPanel.current === this) LayersPanel.current = undefined;
    this.panel.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}

