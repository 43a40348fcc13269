// The loaded model as the UI sees it: loading (with progress), releasing, the status bar item,
// and an event when it changes. The model itself lives in the engine process. A model becomes the
// chosen one (remembered, listed as recent) only once it has loaded; a failed load says why first
// and offers the demo model instead.
import * as vscode from 'vscode';
import { config } from '../config';
import type { Ctx } from '../ctx';
import { InnerWorldError, isInnerWorldError } from '../engine/errors';
import type { ModelInfo, SessionOptions } from '../engine/llama/session';
import { reasonFirst } from '../engine/models/loadMessage';
import { sameModelFile, type EngineClient } from '../engine/worker/engineClient';
import { escapeMarkdown } from '../shared/format';

const CHOSEN_KEY = 'innerWorld.chosenModel';
const RECENT_KEY = 'innerWorld.recentModels';
const MAX_RECENT = 8;
export const BACK_TO_DEMO = 'Back to the demo model';
const RUN_PARTLY = 'Run it partly on the CPU';

export class ModelController implements vscode.Disposable {
  private current: ModelInfo | undefined;
  private loading: Promise<ModelInfo> | undefined;
  private readonly status: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<ModelInfo | undefined>();
  readonly onDidChange = this.changed.event;
  /** the model chosen with Load Model: a path, '' for the demo, undefined to follow the setting */
  private chosenPath: string | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly engine: EngineClient,
  ) {
    this.status = vscode.window.createStatusBarItem('innerWorld.model', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Inner World model';
    this.status.command = 'innerWorld.loadModel';
    this.chosenPath = ctx.extension.globalState.get<string>(CHOSEN_KEY);
    this.render();
    this.status.show();
  }

  get info(): ModelInfo | undefined {
    return this.current;
  }

  /** The model to use: what the user chose last, else the setting, else the demo (undefined). */
  get targetPath(): string | undefined {
    if (this.chosenPath !== undefined) return this.chosenPath || undefined;
    return config.modelPath() || undefined;
  }

  /** models loaded before, newest first */
  get recent(): string[] {
    return this.ctx.extension.globalState.get<string[]>(RECENT_KEY, []);
  }

  isDemo(info: ModelInfo | undefined = this.current): boolean {
    return info !== undefined && info.path.endsWith('inner-world-demo.gguf');
  }

  /** The loaded model, loading the target model first when none is. */
  ensureLoaded(): Promise<ModelInfo> {
    if (this.current) return Promise.resolve(this.current);
    return this.loading ?? this.loadOrExplain(this.targetPath);
  }

  /**
   * Load a model the user picked (undefined: the demo). Only a model that loaded is remembered as
   * the chosen one; a failure leaves the choice as it was and is explained (see loadOrExplain).
   */
  async choose(path: string | undefined, displayName?: string): Promise<ModelInfo> {
    const info = await this.loadOrExplain(path, {}, displayName);
    await this.remember(path);
    return info;
  }

  /** The user's choice moved elsewhere (the setting changed): follow the setting again. */
  async forgetChoice(): Promise<void> {
    this.chosenPath = undefined;
    await this.ctx.extension.globalState.update(CHOSEN_KEY, undefined);
  }

  /**
   * Load, and when it fails: a model too big for the GPU is offered partly on the CPU; any other
   * failure is shown reason first with "Back to the demo model". The error is rethrown marked as
   * shown ('cancelled'), so callers stop without a second message.
   */
  async loadOrExplain(path: string | undefined, options: SessionOptions = {}, displayName?: string): Promise<ModelInfo> {
    try {
      return await this.load(path, options, displayName);
    } catch (e) {
      if (!isInnerWorldError(e) || e.code === 'cancelled' || !path) throw e;
      if (e.code === 'needs-partial-offload') {
        const pick = await vscode.window.showWarningMessage(`Inner World: ${e.message}`, { modal: true }, RUN_PARTLY);
        if (pick === RUN_PARTLY) return this.loadOrExplain(path, { ...options, gpuLayers: Number(e.detail) }, displayName);
      } else {
        this.ctx.output.warn(`loading ${path} failed: ${e.code}: ${e.message}${e.detail ? `\n${e.detail}` : ''}`);
        void vscode.window.showErrorMessage(`Inner World: ${reasonFirst(e.message, path, displayName)}`, BACK_TO_DEMO).then(async (pick) => {
          if (pick !== BACK_TO_DEMO) return;
          try {
            await this.choose(undefined);
          } catch (err) {
            this.ctx.output.error(`loading the demo model failed: ${String(err)}`);
          }
        });
      }
      // 'cancelled': already shown; the reason stays readable where the message is shown again (a view's "No model is loaded (…)")
      throw new InnerWorldError('cancelled', reasonFirst(e.message, path, displayName));
    }
  }

  /** `displayName`: what the user knows the file by (an Ollama model's name rather than its blob) */
  load(path: string | undefined, options: SessionOptions = {}, displayName?: string): Promise<ModelInfo> {
    const run = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Inner World', cancellable: false },
      async (progress) => {
        this.current = undefined;
        this.ctx.resetModelSubs();
        this.render('loading');
        progress.report({ message: path ? `Loading ${displayName ?? basename(path)}…` : 'Loading the demo model…' });
        try {
          const info = await this.engine.call(
            'open',
            { modelPath: path, options: { gpu: config.gpu(), ...options }, cacheDir: this.ctx.cacheDir, exactProjections: config.exactProjections(), inspectionBytes: config.inspectionMemoryBytes() },
            { onProgress: (message) => progress.report({ message }) },
          );
          this.current = info;
          this.ctx.output.info(`loaded ${info.name} (${info.path}) on ${info.backend}: ${info.nLayers} layers, d_model ${info.dModel}`);
          if (info.notice) void vscode.window.showWarningMessage(info.notice);
          return info;
        } finally {
          this.render();
          this.changed.fire(this.current);
        }
      },
    );
    this.loading = Promise.resolve(run).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Load the target model again (after the engine restarted or a setting changed), if one was loaded or loading. */
  async reload(): Promise<void> {
    if (!this.current && !this.loading) return this.render();
    await this.loading?.catch(() => undefined);
    this.current = undefined;
    await this.loadOrExplain(this.targetPath).catch(() => undefined);
  }

  async release(): Promise<void> {
    await this.engine.call('release', {});
    this.current = undefined;
    this.ctx.resetModelSubs();
    this.render();
    this.changed.fire(undefined);
  }

  /**
   * The engine restarted and opened the model again. If the file was replaced on disk since it
   * was loaded, the engine now runs the new file: show that model, mark what was read from the
   * old one stale (through `onDidChange`), and say so.
   */
  reopened(info: ModelInfo): void {
    const before = this.current;
    this.current = info;
    this.render();
    if (!before || sameModelFile(before, info)) return;
    this.ctx.output.warn(`${info.path} changed on disk since it was loaded; reopened as ${info.name}: ${info.nLayers} layers, d_model ${info.dModel}`);
    this.changed.fire(info);
    void vscode.window.showWarningMessage(
      `Inner World: ${basename(info.path)} changed on disk since it was loaded (now ${info.name}, ${info.nLayers} layers, d_model ${info.dModel}). The engine restarted and opened the new file; views of the old one are marked stale: re-inspect to read it.`,
    );
  }

  /** The engine process died: the model reopens on the next request; show it as such. */
  engineRestarted(): void {
    this.render();
  }

  private async remember(path: string | undefined): Promise<void> {
    this.chosenPath = path ?? '';
    await this.ctx.extension.globalState.update(CHOSEN_KEY, this.chosenPath);
    if (path) await this.ctx.extension.globalState.update(RECENT_KEY, [path, ...this.recent.filter((p) => p !== path)].slice(0, MAX_RECENT));
  }

  private render(state?: 'loading'): void {
    const info = this.current;
    if (state === 'loading') {
      this.status.text = '$(loading~spin) Inner World';
      this.status.tooltip = 'Loading a model…';
    } else if (info) {
      this.status.text = `$(telescope) ${info.name} · ${info.backend.split(' ')[0]}`;
      this.status.tooltip = new vscode.MarkdownString(
        `**${escapeMarkdown(info.name)}**${this.isDemo(info) ? ' (demo: fitted to a built-in grammar)' : ''}\n\n` +
          `${info.nLayers} layers · d_model ${info.dModel} · ${info.nHeads} heads (${info.nKvHeads} kv) · ${info.nVocab} tokens\n\n` +
          `Backend: ${escapeMarkdown(info.backend)}${info.gpuLayers ? ` (${info.gpuLayers} layers on the GPU)` : ''}\n\nClick to load another model.`,
      );
    } else {
      this.status.text = '$(telescope) Inner World';
      this.status.tooltip = 'No model loaded. Click to load one (the demo model loads on the first inspection).';
    }
  }

  dispose(): void {
    this.status.dispose();
    this.changed.dispose();
  }
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}
