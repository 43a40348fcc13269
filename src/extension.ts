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
  );
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
