// What commands, hovers and panels share; built once in activate().
import type { Ctx } from '../ctx';
import type { InspectedRanges } from '../editor/inspectedRanges';
import type { EngineClient } from '../engine/worker/engineClient';
import type { ModelController } from '../model/modelController';
import type { ViewHost } from '../panels/viewHost';

export interface Services {
  readonly ctx: Ctx;
  readonly engine: EngineClient;
  readonly model: ModelController;
  readonly ranges: InspectedRanges;
  readonly views: ViewHost;
}
