// What the engine process does, as a plain class: usable in-process by tests, and behind the
// process boundary by the extension (engineProcess.ts). It holds one Workbench: the open model,
// its inspections and dictionaries; every analysis is a row of the analysis table.
import { InnerWorldError } from '../errors';
import type { ModelInfo } from '../llama/session';
import { runAnalysis, type AnalysisName, type AnalysisParams, type AnalysisResult } from '../workbench/analyses';
import { stateHook } from '../hookNames';
import type { Progress } from '../workbench/inspections';
import { Workbench } from '../workbench/workbench';
import type { InspectionSummary, InspectParams, OpenParams } from './protocol';

export type { Progress };

export class EngineService {
  private wb: Workbench | undefined;

  get info(): ModelInfo | undefined {
    return this.wb?.loadedSession?.info;
  }

  async open(p: OpenParams, progress: Progress = () => {}): Promise<ModelInfo> {
    this.release();
    const path = p.modelPath || (await this.demoModel(p.cacheDir, progress));
    progress(`Loading ${path.split(/[\\/]/).pop()}`);
    const wb = new Workbench(path, {
      gpu: p.options.gpu,
      threads: p.options.threads,
      session: p.options,
      exact: p.exactProjections,
      cacheDir: p.cacheDir,
      inspectionBytes: p.inspectionBytes,
    });
    try {
      await wb.session();
    } catch (e) {
      wb.dispose();
      throw e;
    }
    this.wb = wb;
    return wb.loadedSession!.info;
  }

  release(): null {
    this.wb?.dispose();
    this.wb = undefined;
    return null;
  }

  /** Decode the text once, capturing the state vectors the lenses read; other hooks come on demand. */
  async inspect(p: InspectParams): Promise<InspectionSummary> {
    const wb = this.requireWorkbench();
    const nLayers = (await wb.session()).info.nLayers;
    const hooks = Array.from({ length: nLayers + 1 }, (_, l) => stateHook(l));
    return (await wb.inspections.inspect(p.text, { hooks, overflow: p.overflow })).summary;
  }

  analysis<N extends AnalysisName>(name: N, params: AnalysisParams<N>, progress: Progress = () => {}): Promise<AnalysisResult<N>> {
    return runAnalysis(this.requireWorkbench(), name, params, progress);
  }

  forget(id: number): null {
    this.wb?.inspections.forget(id);
    return null;
  }

  private requireWorkbench(): Workbench {
    if (!this.wb?.loadedSession) throw new InnerWorldError('no-model', 'No model is loaded. Run "Inner World: Load Model..." first.');
    return this.wb;
  }

  private async demoModel(cacheDir: string, progress: Progress): Promise<string> {
    const { ensureDemoModel } = await import('../demo/builder');
    return ensureDemoModel(cacheDir, { onProgress: (m: string) => progress(m) });
  }
}
