// The views and the protocol between the host and every view's webview: one envelope for all of
// them (show, stale, token selection, progress) and one request table (analysis rows of the
// engine, editor links, export). No 'vscode' and no DOM here: both sides import it.
import type { AnalysisName, AnalysisParams, AnalysisResult } from '../../engine/workbench/analyses';
import type { TokenSurprise } from '../../engine/workbench/inspections';
import type { ModelInfo } from '../../engine/llama/session';

export type { AnalysisName, AnalysisParams, AnalysisResult };

export type ViewId = 'layers' | 'grid' | 'attention' | 'states' | 'anatomy' | 'weightStats' | 'heatmap' | 'headMap' | 'dictStats' | 'similarity' | 'neighbours';

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
  /** an inspection (a prompt) or the model file alone */
  readonly needs: 'inspection' | 'model';
}

export const VIEWS: Readonly<Record<ViewId, ViewSpec>> = {
  layers: {
    id: 'layers',
    viewType: 'innerWorld.layers',
    title: 'Inner World: Layers',
    command: 'innerWorld.showLayers',
    entry: 'layers',
    needs: 'inspection',
    explanation: 'One token\'s state vector read through a dictionary at every layer: the top words and their amplitude (inner product of the normalized state with each dictionary row). The article\'s Fig. 3 to 8.',
  },
  grid: {
    id: 'grid',
    viewType: 'innerWorld.grid',
    title: 'Inner World: Token × Layer Grid',
    command: 'innerWorld.showGrid',
    entry: 'grid',
    needs: 'inspection',
    explanation: 'Every token (rows) at every layer (columns): the top word of its state through the chosen dictionary, shaded by its value. The logit-lens picture, and the article\'s Fig. 3 for every token at once; click a cell to read that token in the Layers view.',
  },
  attention: {
    id: 'attention',
    viewType: 'innerWorld.attention',
    title: 'Inner World: Attention',
    command: 'innerWorld.showAttention',
    entry: 'attention',
    needs: 'inspection',
    explanation: 'Attention of one layer: how much each head attends to the first token (the attention sink) at each query position, one head\'s full pattern (query × key), and the last token\'s row across heads. The article\'s Fig. 10 and 11.',
  },
  states: {
    id: 'states',
    viewType: 'innerWorld.states',
    title: 'Inner World: State Vectors',
    command: 'innerWorld.showStates',
    entry: 'states',
    needs: 'inspection',
    explanation: 'How the state vectors change: cosine of one token\'s state with itself some layers later (dashed: the product of single-layer steps), cosine of neighbouring tokens within a layer, and the RMS amplitude per layer with the RMSNorm gains. The article\'s Fig. 12 to 15.',
  },
  anatomy: {
    id: 'anatomy',
    viewType: 'innerWorld.anatomy',
    title: 'Inner World: Model Anatomy',
    command: 'innerWorld.showAnatomy',
    entry: 'anatomy',
    needs: 'model',
    explanation: 'What the matrices are (article section 1): every tensor of the file by layer and role, the article\'s parameter tally computed from the shapes beside the file\'s own count, and the memory the state vectors and the KV cache take for a prompt length you set.',
  },
  weightStats: {
    id: 'weightStats',
    viewType: 'innerWorld.weightStats',
    title: 'Inner World: Weight Statistics',
    command: 'innerWorld.showWeightStats',
    entry: 'weightStats',
    needs: 'model',
    explanation: 'Deep versus shallow layers (the article\'s "sigma over mean" figure): for each matrix and layer, the mean over vectors of sd(v) / mean(|v|), along d_model and across heads. A Gaussian gives 1.2533 (dashed); fat tails sit above it.',
  },
  heatmap: {
    id: 'heatmap',
    viewType: 'innerWorld.heatmap',
    title: 'Inner World: Weight Heatmap',
    command: 'innerWorld.showHeatmap',
    entry: 'heatmap',
    needs: 'model',
    explanation: '|W| of one matrix (companion page "Weight-matrix-heatmap", the article\'s Fig. of W_q in layer 4): summed over d_head × d_head tiles, where loud and quiet heads show as stripes, and a zoom window down to single elements (drag on the tiles to zoom).',
  },
  headMap: {
    id: 'headMap',
    viewType: 'innerWorld.headMap',
    title: 'Inner World: Head Word Maps',
    command: 'innerWorld.showHeadMap',
    entry: 'headMap',
    needs: 'model',
    explanation: 'What an attention head looks for (article section 3): each row of the head\'s W_K or W_Q slice read through the input dictionary, |E_in · M^T|: its top words and value, rows sorted by value, as the article\'s layer 0 head 0 table.',
  },
  dictStats: {
    id: 'dictStats',
    viewType: 'innerWorld.dictStats',
    title: 'Inner World: Dictionary Statistics',
    command: 'innerWorld.showDictStats',
    entry: 'dictStats',
    needs: 'model',
    explanation: 'The input and output dictionaries compared (companion page "input vs output"): every figure for this model beside the article\'s Llama-2-7B value, and the leading singular values of each dictionary (the article\'s SVD figure).',
  },
  similarity: {
    id: 'similarity',
    viewType: 'innerWorld.similarity',
    title: 'Inner World: Word Similarity',
    command: 'innerWorld.showSimilarity',
    entry: 'similarity',
    needs: 'model',
    explanation: 'Word association in a dictionary (the article\'s Fig. 2): the normalized inner products <v1|v2> / sqrt(<v1|v1><v2|v2>) of the rows of the words you type.',
  },
  neighbours: {
    id: 'neighbours',
    viewType: 'innerWorld.neighbours',
    title: 'Inner World: Nearest Words',
    command: 'innerWorld.showNeighbours',
    entry: 'neighbours',
    needs: 'model',
    explanation: 'A word\'s nearest rows within a dictionary and across the two (article section 2.A): the input row of "play" read in the output dictionary gives word completions such as "ground" and "offs".',
  },
};

/** The loaded model, as every view shows it. */
export type ViewModel = ModelInfo & { readonly isDemoModel: boolean };

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
  | { readonly type: 'show'; readonly model: ViewModel; readonly inspection: ViewInspection | undefined; readonly state: ViewState }
  | { readonly type: 'noModel'; readonly message: string }
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
  /** open another view (on this view's inspection, at a token, with some of its controls set) */
  openView: { params: { view: ViewId; pos?: number; controls?: ViewState['controls'] }; result: null };
  /** png: base64 of the image; csv, json: the text */
  export: { params: { format: ExportFormat; suggestedName: string; content: string }; result: { saved: string | undefined } };
  reinspect: { params: Record<string, never>; result: null };
}
