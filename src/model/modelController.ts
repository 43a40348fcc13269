// The loaded model as the UI sees it: loading (with progress), releasing, the status bar item,
// and an event when it changes. The model itself lives in the engine process.
import * as vscode from 'vscode';
import { config } from '../config';
import type { Ctx } from '../ctx';
import type { ModelInfo } from '../engine/llama/session';
import type { EngineClient } from '../engine/worker/engineClient';
import { escapeMarkdown } from '../shared/format';

export class ModelController implements vscode.Disposable {
  private current: ModelInfo | undefined;
  private loading: Promise<ModelInfo> | undefined;
  private readonly status: vscode.StatusBarItem;
  private readonly changed = new vscode.EventEmitter<ModelInfo | undefined>();
  readonly onDidChange = this.changed.event;
  /** the model chosen with Load Model; undefined = the setting, or the demo */
  private chosenPath: string | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly engine: EngineClient,
  ) {
    this.status = vscode.window.createStatusBarItem('innerWorld.model', vscode.StatusBarAlignment.Right, 100);
    this.status.name = 'Inner World model';
    this.status.command = 'innerWorld.loadModel';
    this.chosenPath = ctx.extension.globalState.get<string>('innerWorld.chosenModel');
    this.render();
    this.status.show();
  }

  get info(): ModelInfo | undefined {
    return this.current;
  }

  /** The model to use: what the user chose last, else the setting, else the demo (undefined). */
  get targetPath(): string | undefined {
    return this.chosenPath || config.modelPath() || undefined;
  }

  isDemo(info: ModelInfo | undefined = this.current): boolean {
    return info !== undefined && info.path.endsWith('inner-world-demo.gguf');
  }

  /** The loaded model, loading the target model first when none is. */
  ensureLoaded(): Promise<ModelInfo> {
    if (this.current) return Promise.resolve(this.current);
    return this.loading ?? this.load(this.targetPath);
  }

  async choose(path: string | undefined): Promise<ModelInfo> {
    this.chosenPath = path;
    await this.ctx.extension.globalState.update('innerWorld.chosenModel', path);
    return this.load(path);
  }

  load(path: string | undefined): Promise<ModelInfo> {
    const run = vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Inner World', cancellable: false },
      async (progress) => {
        this.current = undefined;
        this.ctx.resetModelSubs();
        this.render('loading');
        progress.report({ message: path ? `Loading ${basename(path)}…` : 'Loading the demo model…' });
        try {
          const info = await this.engine.call(
            'open',
            { modelPath: path, options: { gpu: config.gpu() }, cacheDir: this.ctx.cacheDir, exactProjections: config.exactProjections(), inspectionBytes: config.inspectionMemoryBytes() },
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

  async release(): Promise<void> {
    await this.engine.call('release', {});
    this.current = undefined;
    this.ctx.resetModelSubs();
    this.render();
    this.changed.fire(undefined);
  }

  /** The engine process died: the model reopens on the next request; show it as such. */
  engineRestarted(): void {
    this.render();
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
