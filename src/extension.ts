// activate() only composes: lifetimes, the engine process, the model, commands, hovers, panels.
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { runInspection, toPanelInspection } from './commands/inspectSelection';
import type { Services } from './commands/services';
import { Ctx } from './ctx';
import { EngineClient } from './engine/worker/engineClient';
import { registerTokenHover } from './hovers/tokenHover';
import { InspectionStore } from './inspections';
import { ModelController } from './model/modelController';
import { LayersPanel, type LayersPanelDeps } from './panels/layersPanel';

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
      void vscode.window.showWarningMessage(`Inner World: the model engine stopped (${reason}). It restarts and reloads the model on the next request.`);
    },
  });
  const model = new ModelController(c, engine);
  const inspections = new InspectionStore();
  const services: Services = {
    ctx: c,
    engine,
    model,
    inspections,
    get panelDeps(): LayersPanelDeps {
      return panelDeps;
    },
  };
  const panelDeps: LayersPanelDeps = {
    extensionUri: context.extensionUri,
    engine,
    model,
    inspections,
    log: (line) => c.output.info(line),
    reinspect: async (text, documentUri) => toPanelInspection(services, await runInspection(services, text), text, documentUri),
  };
  c.pushExt(
    { dispose: () => engine.dispose() },
    model,
    inspections,
    ...registerCommands(services),
    registerTokenHover(services),
    LayersPanel.registerSerializer(panelDeps),
  );
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
