// Lifetimes, as in rust-analyzer's client: what lives as long as the extension, and what lives as
// long as the loaded model (released and rebuilt when the user loads another one).
import * as vscode from 'vscode';

export class Ctx implements vscode.Disposable {
  readonly output: vscode.LogOutputChannel;
  /** disposed on deactivate */
  private readonly extensionSubs: vscode.Disposable[] = [];
  /** disposed whenever the model changes */
  private modelSubs: vscode.Disposable[] = [];

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Inner World', { log: true });
    this.pushExt(this.output);
  }

  pushExt(...d: vscode.Disposable[]): void {
    this.extensionSubs.push(...d);
  }

  pushModel(...d: vscode.Disposable[]): void {
    this.modelSubs.push(...d);
  }

  resetModelSubs(): void {
    for (const d of this.modelSubs.splice(0)) d.dispose();
  }

  /** where the demo model and dictionary caches are written */
  get cacheDir(): string {
    return process.env['INNER_WORLD_CACHE'] ?? this.extension.globalStorageUri.fsPath;
  }

  asAbsolutePath(rel: string): string {
    return this.extension.asAbsolutePath(rel);
  }

  dispose(): void {
    this.resetModelSubs();
    for (const d of this.extensionSubs.splice(0).reverse()) d.dispose();
  }
}
