// Messages between the extension host and the engine process. The engine process owns the
// model, its activation caches and the dictionaries; only small, JSON-able results cross.
import type { ErrorCode } from '../errors';
import type { ModelInfo, SessionOptions } from '../llama/session';
import type { AnalysisName, AnalysisParams } from '../workbench/analyses';
import type { InspectionSummary } from '../workbench/inspections';

export type { InspectionSummary };

export interface InspectParams {
  readonly text: string;
  readonly overflow?: 'error' | 'truncate';
}

export interface OpenParams {
  /** a GGUF path; undefined = the built-in demo model */
  readonly modelPath: string | undefined;
  readonly options: SessionOptions;
  /** where the demo model and dictionary caches live */
  readonly cacheDir: string;
  /** lens products in the dictionaries' stored types; otherwise large dictionaries use a Q8_0
   * copy on a CPU (2 to 3 times faster, scores within about 0.1%) */
  readonly exactProjections?: boolean;
  /** bytes of captured activations the inspections may hold together */
  readonly inspectionBytes?: number;
}

/** One row of the analysis table, by name. */
export interface AnalysisRequest<N extends AnalysisName = AnalysisName> {
  readonly name: N;
  readonly params: AnalysisParams<N>;
}

/** Every method of the engine, with its parameters and result. */
export interface EngineMethods {
  open: { params: OpenParams; result: ModelInfo };
  release: { params: Record<string, never>; result: null };
  inspect: { params: InspectParams; result: InspectionSummary };
  analysis: { params: AnalysisRequest; result: unknown };
  forget: { params: { inspectionId: number }; result: null };
  /** test hook: crash the process natively (abort), to check the host survives */
  crash: { params: Record<string, never>; result: null };
  /** test hook: block the engine for `ms` as a long native call would (cancellation must still work) */
  hold: { params: { ms: number }; result: null };
}
export type EngineMethod = keyof EngineMethods;

export interface SerializedError {
  readonly code: ErrorCode | 'internal';
  readonly message: string;
  readonly detail?: string;
}

export type ToEngine =
  | { readonly kind: 'request'; readonly id: number; readonly method: EngineMethod; readonly params: unknown }
  | { readonly kind: 'cancel'; readonly id: number };

export type FromEngine =
  | { readonly kind: 'response'; readonly id: number; readonly result?: unknown; readonly error?: SerializedError }
  | { readonly kind: 'started'; readonly id: number }
  | { readonly kind: 'progress'; readonly id: number; readonly message: string; readonly fraction?: number }
  | { readonly kind: 'log'; readonly line: string }
  | { readonly kind: 'ready' };
