// What commands, hovers and panels share; built once in activate().
import type { Ctx } from '../ctx';
import type { EngineClient } from '../engine/worker/engineClient';
import type { InspectionStore } from '../inspections';
import type { ModelController } from '../model/modelController';
import type { LayersPanelDeps } from '../panels/layersPanel';

export interface Services {
  readonly ctx: Ctx;
  readonly engine: EngineClient;
  readonly model: ModelController;
  readonly inspections: InspectionStore;
  readonly panelDeps: LayersPanelDeps;
}
