// The views and the protocol between the host and every view's webview: one envelope for all of
// them (show, stale, token selection, progress) and one request table (analysis rows of the
// engine, editor links, export). No 'vscode' and no DOM here: both sides import it.
import type { AnalysisName, AnalysisParams, AnalysisResult } from '../../engine/workbench/analyses';
import type { TokenSurprise } from '../../engine/workbench/inspections';

export type { AnalysisName, AnalysisParams, AnalysisResult };

export type ViewId = 'layers' | 'grid' | 'attention' | 'states';

/** What a view is: its panel type, title, command, webview bundle, and one line on how to read it. */
export interface ViewSpec {
  readonly id: ViewId;
  readonly viewType: string;
  readonly title: string;
  readonly command: string;
  /** media/dist/<entry>.js */
  readonly entry: string;
  /** what is plotted and how to read it, with the article's figure */
  readonly explanation: string;
}

export const VIEWS: Readonly<Record<ViewId, ViewSpec>> = {
  layers: {
    id: 'layers',
    viewType: 'innerWorld.layers',
    title: 'Inner World: Layers',
    command: 'innerWorld.showLayers',
    entry: 'layers',
    explanation: 'One token\'s state vector read through a dictionary at every layer: the top words and their amplitude (inner product of the normalized state with each dictionary row). The article\'s Fig. 3 to 8.',
  },
  grid: {
    id: 'grid',
    viewType: 'innerWorld.grid',
    title: 'Inner World: Token × Layer Grid',
    command: 'innerWorld.showGrid',
    entry: 'grid',
    explanation: 'Every token (rows) at every layer (columns): the top word of its state through the chosen dictionary, shaded by its value. The logit-lens picture, and the article\'s Fig. 3 for every token at once; click a cell to read that token in the Layers view.',
  },
  attention: {
    id: 'attention',
    viewType: 'innerWorld.attention',
    title: 'Inner World: Attention',
    command: 'innerWorld.showAttention',
    entry: 'attention',
    explanation: 'Attention of one layer: how much each head attends to the first token (the attention sink) at each query position, one head\'s full pattern (query × key), and the last token\'s row across heads. The article\'s Fig. 10 and 11.',
  },
  states: {
    id: 'states',
    viewType: 'innerWorld.states',
    title: 'Inner World: State Vectors',
    command: 'innerWorld.showStates',
    entry: 'states',
    explanation: 'How the state vectors change: cosine of one token\'s state with itself some layers later (dashed: the product of single-layer steps), cosine of neighbouring tokens within a layer, and the RMS amplitude per layer with the RMSNorm gains. The article\'s Fig. 12 to 15.',
  },
};

/** A token of the inspected prompt, as the views show it. */
export interface ViewToken {
  readonly pos: number;
  readonly id: number;
  /** vocabulary spelling ("▁like") */
  readonly text: string;
  readonly special: boolean;
  readonly surprise: TokenSurprise;
}

/** The inspection every inspection view reads. */
export interface ViewInspection {
  readonly inspectionId: number;
  readonly modelName: string;
  readonly isDemoModel: boolean;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly tokens: readonly ViewToken[];
  /** the inspected text and where it came from, so a reloaded view can inspect it again */
  readonly text: string;
  readonly documentUri: string;
  readonly nextToken: string | undefined;
}

/** What a webview keeps with setState: where it is (position, controls) and the text it shows. */
export interface ViewState {
  readonly pos?: number;
  readonly text?: string;
  readonly documentUri?: string;
  readonly controls?: Readonly<Record<string, string | number | boolean>>;
}

/** Host -> webview. */
export type HostToView =
  | { readonly type: 'show'; readonly inspection: ViewInspection; readonly state: ViewState }
  | { readonly type: 'selectToken'; readonly pos: number }
  | { readonly type: 'stale'; readonly reason: string }
  | { readonly type: 'busy'; readonly message: string }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'progress'; readonly requestId: number; readonly message: string; readonly fraction?: number };

/** Webview -> host notifications (requests go through rpc.ts). */
export type ViewToHost =
  | { readonly type: 'ready'; readonly state: ViewState | undefined }
  | { readonly type: 'viewState'; readonly state: ViewState }
  | { readonly type: 'cancel'; readonly requestId: number };

export type ExportFormat = 'png' | 'csv' | 'json';

/** Webview -> host requests. */
export interface ViewRequests {
  analysis: { params: { name: AnalysisName; params: unknown }; result: unknown };
  revealToken: { params: { inspectionId: number; pos: number }; result: null };
  openView: { params: { view: ViewId; pos?: number }; result: null };
  /** png: base64 of the image; csv, json: the text */
  export: { params: { format: ExportFormat; suggestedName: string; content: string }; result: { saved: string | undefined } };
  reinspect: { params: Record<string, never>; result: null };
}
