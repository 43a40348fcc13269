// One view's panel, its whole life written once for every view: created or restored, a ready
// handshake that is repeated whenever the webview reloads (a panel moved or hidden and shown
// again reloads its page), typed requests answered from the analysis table with progress and
// cancel relayed to the engine, stale marks, export through a save dialog, dispose.
import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';
import { isInnerWorldError } from '../engine/errors';
import { serveRequest, type RpcResponse } from '../shared/protocol/rpc';
import type { HostToView, ViewInspection, ViewModel, ViewRequests, ViewSpec, ViewState, ViewToHost } from '../shared/protocol/views';
import { webviewHtml, webviewOptions } from './webviewHtml';
import type { ViewHost } from './viewHost';

export class ViewPanel implements vscode.Disposable {
  private readonly subs: vscode.Disposable[] = [];
  private disposed = false;
  private webviewReady = false;
  /** what the webview shows (sent again after every reload) */
  private shown: { model: ViewModel; inspection: ViewInspection | undefined; state: ViewState } | undefined;
  private noModel: string | undefined;
  private staleReason: string | undefined;
  /** the last view state the webview reported (restored panels start from the serialized one) */
  state: ViewState | undefined;
  private readonly running = new Map<number, AbortController>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly spec: ViewSpec,
    private readonly host: ViewHost,
    restored: ViewState | undefined,
  ) {
    this.state = restored;
    panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'icon.svg');
    panel.webview.options = webviewOptions(host.extensionUri);
    panel.webview.html = webviewHtml(panel.webview, host.extensionUri, spec.entry, spec.title);
    this.subs.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
    );
  }

  get inspectionId(): number | undefined {
    return this.shown?.inspection?.inspectionId;
  }

  show(model: ViewModel, inspection: ViewInspection | undefined, state: ViewState): void {
    this.shown = { model, inspection, state };
    this.staleReason = undefined;
    this.noModel = undefined;
    this.state = state;
    if (this.webviewReady) this.post({ type: 'show', model, inspection, state });
  }

  /** No model is loaded: the view says so and how to load one. */
  showNoModel(message: string): void {
    this.shown = undefined;
    this.noModel = message;
    this.post({ type: 'noModel', message });
  }

  markStale(reason: string): void {
    if (!this.shown || this.staleReason) return;
    this.staleReason = reason;
    this.post({ type: 'stale', reason });
  }

  selectToken(pos: number): void {
    this.post({ type: 'selectToken', pos });
  }

  busy(message: string): void {
    this.post({ type: 'busy', message });
  }

  failed(message: string): void {
    this.post({ type: 'failed', message });
  }

  post(msg: HostToView | RpcResponse): void {
    if (!this.disposed && this.webviewReady) void this.panel.webview.postMessage(msg);
  }

  private async onMessage(m: unknown): Promise<void> {
    const handled = await serveRequest<ViewRequests>(
      m,
      {
        analysis: (p, requestId) => this.runAnalysis(p, requestId),
        revealToken: (p) => {
          this.host.revealToken(p.inspectionId, p.pos);
          return null;
        },
        openView: async (p) => {
          await this.host.open(p.view, { inspection: this.shown?.inspection, pos: p.pos ?? this.state?.pos, controls: p.controls });
          return null;
        },
        export: (p) => this.export(p),
        reinspect: async () => {
          await this.host.reinspect(this);
          return null;
        },
      },
      (r) => this.post(r),
    );
    if (handled) return;
    const msg = m as ViewToHost;
    if (msg.type === 'ready') {
      this.webviewReady = true;
      this.state = this.state ?? msg.state;
      const sh = this.shown;
      if (sh) this.post({ type: 'show', model: sh.model, inspection: sh.inspection, state: { ...sh.state, ...this.state, text: sh.inspection?.text, documentUri: sh.inspection?.documentUri } });
      if (this.noModel) this.post({ type: 'noModel', message: this.noModel });
      if (this.staleReason) this.post({ type: 'stale', reason: this.staleReason });
    } else if (msg.type === 'viewState') {
      this.state = msg.state;
    } else if (msg.type === 'cancel') {
      this.running.get(msg.requestId)?.abort();
    }
  }

  private async runAnalysis(p: ViewRequests['analysis']['params'], requestId: number): Promise<unknown> {
    const abort = new AbortController();
    this.running.set(requestId, abort);
    try {
      return await this.host.engine.analysis(p.name, p.params as never, {
        signal: abort.signal,
        onProgress: (message, fraction) => this.post({ type: 'progress', requestId, message, fraction }),
      });
    } catch (e) {
      // the webview shows the message; the code stays in the output channel
      if (isInnerWorldError(e)) {
        if (e.code !== 'cancelled') this.host.log(`${this.spec.id}: ${p.name}: ${e.code}: ${e.message}`);
        throw new Error(e.message);
      }
      throw e;
    } finally {
      this.running.delete(requestId);
    }
  }

  private async export(p: ViewRequests['export']['params']): Promise<{ saved: string | undefined }> {
    const filters: Record<string, Record<string, string[]>> = { png: { 'PNG image': ['png'] }, csv: { CSV: ['csv'] }, json: { JSON: ['json'] } };
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, p.suggestedName) : undefined,
      filters: filters[p.format],
      title: `Export ${this.spec.title.replace('Inner World: ', '')} as ${p.format.toUpperCase()}`,
    });
    if (!uri) return { saved: undefined };
    const data = p.format === 'png' ? Buffer.from(p.content, 'base64') : Buffer.from(p.content, 'utf8');
    if (uri.scheme === 'file') await fs.writeFile(uri.fsPath, data);
    else await vscode.workspace.fs.writeFile(uri, data);
    this.host.log(`exported ${this.spec.id} as ${p.format} to ${uri.toString()}`);
    return { saved: uri.toString() };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const a of this.running.values()) a.abort();
    this.running.clear();
    this.host.forgetPanel(this);
    this.panel.dispose();
    this.subs.forEach((s) => s.dispose());
  }
}
