// Messages between the extension host and the engine process. The engine process owns the
// model, its activation caches and the dictionaries; only small, JSON-able results cross.
import type { ErrorCode } from '../errors';
import type { TokenSpan } from '../llama/tokens';
import type { ModelInfo, SessionOptions } from '../llama/session';

export type DictionaryKind = 'input' | 'output' | 'middle';
export type LensNormalization = 'article' | 'cosine' | 'logit-lens';

export interface LensWord {
  readonly id: number;
  /** the vocabulary's spelling ("▁like") */
  readonly text: string;
  /** amplitude (article, cosine) or probability (logit lens) */
  readonly value: number;
}

export interface LensLayer {
  /** state index: 0 = embedding, l = output of block l-1 */
  readonly layer: number;
  /** sorted by value, largest first */
  readonly words: readonly LensWord[];
}

export interface LensResult {
  readonly inspectionId: number;
  readonly pos: number;
  readonly dictionary: DictionaryKind;
  readonly normalization: LensNormalization;
  readonly layers: readonly LensLayer[];
  /** the amplitude noise alone reaches (article section 6), when it applies */
  readonly noiseFloor: number | undefined;
  readonly valueLabel: string;
}

export interface InspectParams {
  readonly text: string;
  readonly overflow?: 'error' | 'truncate';
}

export interface InspectionSummary {
  readonly id: number;
  readonly tokens: readonly TokenSpan[];
  readonly truncated: boolean;
  readonly totalTokens: number;
  readonly nLayers: number;
  readonly modelName: string;
  /** the model's next-token guess after the last token */
  readonly nextToken: { readonly id: number; readonly text: string; readonly probability: number } | undefined;
  readonly millis: number;
}

export interface LensParams {
  readonly inspectionId: number;
  readonly pos: number;
  readonly dictionary: DictionaryKind;
  readonly normalization?: LensNormalization;
  readonly topK?: number;
  /** state indices to read (default: all) */
  readonly layers?: readonly number[];
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
}

/** Every method of the engine, with its parameters and result. */
export interface EngineMethods {
  open: { params: OpenParams; result: ModelInfo };
  release: { params: Record<string, never>; result: null };
  inspect: { params: InspectParams; result: InspectionSummary };
  lens: { params: LensParams; result: LensResult };
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
