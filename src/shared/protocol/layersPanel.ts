// Host <-> webview protocol of the layer-decoding panel.
import type { DictionaryKind, LensNormalization, LensResult } from '../../engine/worker/protocol';

export type { DictionaryKind, LensNormalization, LensResult };

/** A token of the inspected prompt, as the panel shows it. */
export interface TokenChip {
  readonly pos: number;
  readonly id: number;
  /** vocabulary spelling ("▁like") */
  readonly text: string;
  readonly special: boolean;
}

export interface PanelInspection {
  readonly inspectionId: number;
  readonly modelName: string;
  readonly isDemoModel: boolean;
  readonly nLayers: number;
  readonly tokens: readonly TokenChip[];
  /** the inspected text and where it came from, so a reloaded panel can inspect it again */
  readonly text: string;
  readonly documentUri: string;
  readonly nextToken: string | undefined;
}

/** What the webview keeps with setState (view state only; the data is asked for again). */
export interface LayersViewState {
  readonly pos: number;
  readonly dictionary: DictionaryKind;
  readonly normalization: LensNormalization;
  readonly text?: string;
  readonly documentUri?: string;
}

/** Host -> webview pushes. */
export type HostToLayers =
  | { readonly type: 'show'; readonly inspection: PanelInspection; readonly view: LayersViewState }
  | { readonly type: 'busy'; readonly message: string }
  | { readonly type: 'failed'; readonly message: string };

/** Webview -> host requests (answered through rpc.ts). */
export interface LayersRequests {
  lens: {
    params: { inspectionId: number; pos: number; dictionary: DictionaryKind; normalization: LensNormalization; topK?: number };
    result: LensResult;
  };
  revealToken: { params: { inspectionId: number; pos: number }; result: null };
}

/** Webview -> host notifications. */
export type LayersToHost = { readonly type: 'ready'; readonly state: LayersViewState | undefined } | { readonly type: 'viewState'; readonly state: LayersViewState };

export { displayToken } from '../format';
