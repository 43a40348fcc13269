// The one boot of every view's webview: the page frame (header with the model and the view's
// one-line explanation, export buttons, stale banner with Re-inspect, status with Cancel), the
// typed requests to the host with progress, view state kept with setState, the ready handshake.
// A view module only builds its controls and content and says what it exports.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { toCsv } from '../src/shared/format';
import { RpcClient } from '../src/shared/protocol/rpc';
import type { AnalysisName, AnalysisParams, AnalysisResult, ExportFormat, HostToView, ViewId, ViewInspection, ViewModel, ViewRequests, ViewSpec, ViewState, ViewToHost } from '../src/shared/protocol/views';
import { button } from './components/dom';
import { background, foreground } from './components/colors';
import { el, vscodeApi } from './vscodeApi';

/** What a view exports: a table (CSV), the data (JSON), and its canvases (one PNG, stacked). */
export interface Exportable {
  name: string;
  headers: readonly string[];
  rows: ReadonlyArray<ReadonlyArray<string | number>>;
  json: unknown;
  canvases: readonly HTMLCanvasElement[];
}

export interface ShowContext {
  readonly model: ViewModel;
  readonly inspection: ViewInspection | undefined;
}

export interface ViewModule {
  /** build controls and content once */
  mount(rt: Runtime): void;
  /** what to show: the model, and for inspection views the inspection (a new one, or the same after the webview reloaded) */
  show(ctx: ShowContext, state: ViewState): void;
  /** the editor's cursor moved onto a token */
  selectToken?(pos: number): void;
  exportable(): Exportable | undefined;
}

export class Runtime {
  readonly header = el('header', { id: 'header' });
  readonly explain = el('p', { id: 'explain', class: 'explain' });
  readonly staleBanner = el('div', { id: 'stale', class: 'stale', role: 'alert', hidden: '' });
  readonly controls = el('section', { id: 'controls' });
  readonly status = el('div', { id: 'status', role: 'status' });
  readonly content = el('section', { id: 'content' });
  readonly note = el('footer', { id: 'note' });
  private readonly vscode = vscodeApi<ViewState>();
  private readonly rpc = new RpcClient<ViewRequests>((m) => this.vscode.postMessage(m));
  private readonly cancelButton: HTMLButtonElement;
  private readonly statusText = el('span', { id: 'status-text' });
  private running: { id: number; what: string } | undefined;
  inspection: ViewInspection | undefined;
  model: ViewModel | undefined;
  state: ViewState = {};

  constructor(
    readonly spec: ViewSpec,
    private readonly view: ViewModule,
  ) {
    this.cancelButton = button('Cancel', () => this.cancel(), { id: 'cancel', hidden: '' });
    this.status.append(this.statusText, this.cancelButton);
    this.explain.textContent = spec.explanation;
    document.getElementById('app')!.append(this.header, this.explain, this.staleBanner, this.controls, this.status, this.content, this.note);
    this.renderHeader();
    this.setStatus('Select text in an editor and run "Inner World: Inspect Selection" to fill this view.', 'empty');
    window.addEventListener('message', (e: MessageEvent) => this.onMessage(e.data));
    window.addEventListener('unload', () => this.rpc.rejectAll('view closed'));
    view.mount(this);
    this.post({ type: 'ready', state: this.vscode.getState() });
  }

  /** Run a row of the analysis table in the engine, showing what it does and offering Cancel. */
  async analysis<N extends AnalysisName>(name: N, params: AnalysisParams<N>, what: string): Promise<AnalysisResult<N>> {
    const { id, result } = this.rpc.start('analysis', { name, params });
    this.running = { id, what };
    this.setStatus(what, 'busy');
    this.cancelButton.hidden = false;
    try {
      return (await result) as AnalysisResult<N>;
    } finally {
      if (this.running?.id === id) {
        this.running = undefined;
        this.cancelButton.hidden = true;
      }
    }
  }

  /** Remember where the view is (restored after a reload) and tell the host. */
  setState(patch: Partial<ViewState>): void {
    this.state = { ...this.state, ...patch, controls: { ...this.state.controls, ...patch.controls } };
    this.vscode.setState(this.state);
    this.post({ type: 'viewState', state: this.state });
  }

  control<T extends string | number | boolean>(name: string, fallback: T): T {
    const v = this.state.controls?.[name];
    return (typeof v === typeof fallback ? v : fallback) as T;
  }

  revealToken(pos: number): void {
    if (this.inspection) void this.rpc.request('revealToken', { inspectionId: this.inspection.inspectionId, pos }).catch(() => undefined);
  }

  openView(view: ViewId, pos?: number): void {
    void this.rpc.request('openView', { view, pos }).catch((e: Error) => this.setStatus(e.message, 'error'));
  }

  setStatus(text: string, kind: 'ok' | 'busy' | 'error' | 'empty'): void {
    this.statusText.textContent = text;
    this.status.dataset['kind'] = kind;
  }

  private cancel(): void {
    if (!this.running) return;
    this.post({ type: 'cancel', requestId: this.running.id });
    this.setStatus('Cancelling…', 'busy');
  }

  private post(m: ViewToHost): void {
    this.vscode.postMessage(m);
  }

  private onMessage(data: unknown): void {
    if (this.rpc.handle(data)) return;
    const msg = data as HostToView;
    switch (msg.type) {
      case 'show':
        this.inspection = msg.inspection;
        this.model = msg.model;
        this.state = { ...msg.state };
        this.vscode.setState(this.state);
        this.staleBanner.hidden = true;
        this.renderHeader();
        this.note.textContent = msg.model.isDemoModel
          ? 'Demo model: built for this extension from a small English grammar; it knows nothing beyond it and its weights are partly constructed by hand, so its weight statistics are synthetic (see docs/demo-model.md). Load a real model for real findings.'
          : '';
        this.view.show({ model: msg.model, inspection: msg.inspection }, this.state);
        break;
      case 'noModel':
        this.model = undefined;
        this.renderHeader();
        this.setStatus(msg.message, 'empty');
        break;
      case 'selectToken':
        this.view.selectToken?.(msg.pos);
        break;
      case 'stale':
        this.staleBanner.replaceChildren(el('span', {}, `${msg.reason} What this view shows may no longer match the text. `), button('Re-inspect', () => this.reinspect(), { id: 'reinspect' }));
        this.staleBanner.hidden = false;
        break;
      case 'busy':
        this.setStatus(msg.message, 'busy');
        break;
      case 'failed':
        this.setStatus(msg.message, 'error');
        break;
      case 'progress':
        if (this.running?.id === msg.requestId) this.setStatus(msg.fraction === undefined ? msg.message : `${msg.message} (${Math.round(msg.fraction * 100)}%)`, 'busy');
        break;
    }
  }

  private reinspect(): void {
    this.setStatus('Inspecting the text again…', 'busy');
    void this.rpc.request('reinspect', {}).catch((e: Error) => this.setStatus(e.message, 'error'));
  }

  private renderHeader(): void {
    const i = this.inspection;
    const m = this.model;
    const exports = el('span', { class: 'exports', role: 'group', 'aria-label': 'Export' });
    exports.append(el('span', { class: 'control-label' }, 'Export'), ...(['png', 'csv', 'json'] as const).map((f) => button(f.toUpperCase(), () => void this.export(f), { id: `export-${f}`, title: `Save what this view shows as ${f.toUpperCase()}` })));
    const parts: HTMLElement[] = [el('span', { class: 'view-title' }, this.spec.title.replace('Inner World: ', ''))];
    if (m) {
      parts.push(el('span', { class: 'model' }, m.name));
      if (m.isDemoModel) {
        const badge = document.createElement('vscode-badge');
        badge.textContent = 'demo';
        badge.title = 'The built-in demo model';
        parts.push(badge);
      }
    }
    if (i) {
      if (i.nextToken !== undefined) parts.push(el('span', { class: 'next' }, `next token: ${i.nextToken.replace(/▁/g, ' ').trim() || '␣'}`));
    }
    this.header.replaceChildren(...parts, exports);
  }

  private async export(format: ExportFormat): Promise<void> {
    const x = this.view.exportable();
    if (!x) return this.setStatus('Nothing to export yet.', 'error');
    let content: string;
    if (format === 'csv') content = toCsv(x.headers, x.rows);
    else if (format === 'json') content = JSON.stringify(x.json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
    else content = stackCanvases(x.canvases).split(',')[1] ?? '';
    try {
      const r = await this.rpc.request('export', { format, suggestedName: `${x.name}.${format}`, content });
      if (r.saved) this.setStatus(`Saved ${decodeURIComponent(r.saved.split('/').pop() ?? r.saved)}.`, 'ok');
    } catch (e) {
      this.setStatus(`Export failed: ${(e as Error).message}`, 'error');
    }
  }
}

export function boot(spec: ViewSpec, view: ViewModule): Runtime {
  return new Runtime(spec, view);
}

/** One PNG of every canvas of the view, stacked, on the theme's background. */
function stackCanvases(canvases: readonly HTMLCanvasElement[]): string {
  const shown = canvases.filter((c) => c.width > 0 && c.height > 0);
  const out = document.createElement('canvas');
  out.width = Math.max(1, ...shown.map((c) => c.width));
  out.height = Math.max(1, shown.reduce((h, c) => h + c.height, 0));
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = background();
  ctx.fillRect(0, 0, out.width, out.height);
  let y = 0;
  for (const c of shown) {
    ctx.drawImage(c, 0, y);
    y += c.height;
  }
  if (!shown.length) {
    ctx.fillStyle = foreground();
    ctx.fillText('(empty)', 4, 12);
  }
  return out.toDataURL('image/png');
}
