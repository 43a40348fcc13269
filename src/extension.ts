// activate() only composes: lifetimes, the engine process, the model, the editor's inspected
// ranges, the views, commands and hovers.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { config } from './config';
import { inspectRange } from './commands/inspectSelection';
import type { Services } from './commands/services';
import { Ctx } from './ctx';
import { InspectedRanges } from './editor/inspectedRanges';
import { EngineClient } from './engine/worker/engineClient';
import { registerTokenHover } from './hovers/tokenHover';
import { ModelController } from './model/modelController';
import { ViewHost } from './panels/viewHost';
import { ModelTree } from './tree/modelTree';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  const c = ctx;
  const engine = new EngineClient({
    script: context.asAbsolutePath('dist/engineProcess.js'),
    onLog: (line) => c.output.debug(line),
    onCrash: (reason) => {
      c.output.error(`engine process stopped (${reason}); it restarts on the next request`);
      model.engineRestarted();
      views.markAllStale('The model engine restarted, so the inspection is gone: re-inspect to read it again.');
      void vscode.window.showWarningMessage(`Inner World: the model engine stopped (${reason}). It restarts and reloads the model on the next request.`);
    },
    onReopen: (info) => model.reopened(info),
  });
  const model = new ModelController(c, engine);
  const ranges = new InspectedRanges();
  ranges.setOverlay(config.surprisalOverlay());
  const views: ViewHost = new ViewHost({
    extensionUri: context.extensionUri,
    engine,
    ranges,
    isDemoModel: () => model.isDemo(),
    ensureModel: () => model.ensureLoaded(),
    loadedModel: () => model.info,
    inspect: (doc, range) => inspectRange(services, doc, range),
    log: (line) => c.output.info(line),
    reinspectAfterEdit: () => config.reinspectAfterEdit(),
  });
  const services: Services = { ctx: c, engine, model, ranges, views };
  const tree = new ModelTree(model, engine);
  c.pushExt(
    { dispose: () => engine.dispose() },
    model,
    ranges,
    views,
    tree,
    model.onDidChange((info) => views.modelChanged(info)),
    ...registerCommands(services),
    vscode.window.registerTreeDataProvider('innerWorld.model', tree),
    registerTokenHover(services),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // the backend is fixed for the life of an engine process: a new process takes the new one
      if (e.affectsConfiguration('innerWorld.gpu')) {
        c.output.info(`innerWorld.gpu is now ${config.gpu()}: restarting the engine`);
        engine.restart();
        ranges.clear();
        views.markAllStale('The engine restarted for the new GPU setting: re-inspect to read the text again.');
        void model.reload();
      } else if (e.affectsConfiguration('innerWorld.modelPath')) {
        // the setting is the user's latest word on which model to run
        ranges.clear();
        void model.forgetChoice().then(() => model.reload());
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (config.modelPath()) void model.forgetChoice().then(() => model.reload());
    }),
  );
  const ignored = config.modelPathIgnoredByTrust();
  if (ignored) {
    void vscode.window.showWarningMessage(
      `Inner World: this workspace sets innerWorld.modelPath ("${ignored}"), which is not loaded because the workspace is not trusted. Trust the workspace to use it, or load a model with "Inner World: Load Model...".`,
    );
  }
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
