// THE analysis table: every analysis the project offers, by name, with what it needs (the file,
// a loaded session, or an inspection and the hooks it reads), how it runs on a Workbench, and how
// the command line spells its options. The CLI's subcommands, the engine process's `analysis`
// request and every panel read this table; nothing else lists the analyses.
import { MATRIX_ROLES, type WeightRole } from '../gguf/llamaModel';
import { InnerWorldError } from '../errors';
import { cacheSizes, parameterTally, TENSOR_ROLES, tensorTable, type TensorRole } from '../analysis/anatomy';
import { headPattern, lastQueryRow, previousTokenHeads, sinkMap } from '../analysis/attention';
import { dictionaryByName, type DictionaryName } from '../analysis/dictionary';
import { dictionaryStats } from '../analysis/dictStats';
import { headWordMap } from '../analysis/headMap';
import { weightHeatmap } from '../analysis/heatmap';
import { lens, noiseFloor, type LensBasis, type LensNormalization } from '../analysis/lens';
import type { MiddleRecipe } from '../analysis/middle';
import { nearestNeighbours, similarityMatrix } from '../analysis/similarity';
import { layerGapSimilarity, rmsAmplitudes, sameLayerSimilarity } from '../analysis/states';
import { matrixTotals, weightStats } from '../analysis/weightStats';
import { patternHook, stateHook, type HookName } from '../hookNames';
import type { Inspection, Progress } from './inspections';
import { flag, int, intList, list, oneOf, required, requiredInt, str, UsageError, type Values } from './options';
import type { Workbench } from './workbench';

export type Needs = 'file' | 'session' | 'inspection';

export interface RunContext {
  readonly progress: Progress;
  /** set when the analysis needs an inspection: it holds the hooks the row asked for */
  readonly inspection?: Inspection;
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

/** How the CLI spells a row: options parsed and checked before the model is touched (usage errors, exit 1). */
export interface CliSpec<P> {
  readonly usage: string;
  readonly options: OptionSpec;
  /** inspection rows return their params without inspectionId and with the prompt */
  parse(v: Values): CliParams<P>;
}

export type CliParams<P> = P extends { inspectionId: number } ? Omit<P, 'inspectionId'> & { prompt: string } : P;

export interface Analysis<P, R> {
  readonly name: string;
  readonly summary: string;
  readonly needs: Needs;
  /** inspection rows: the hooks they read (captured on demand) */
  hooks?(p: P, nLayers: number): HookName[];
  run(wb: Workbench, p: P, ctx: RunContext): Promise<R>;
  /** absent: not a CLI subcommand (a view's slice of a larger analysis) */
  readonly cli?: CliSpec<P>;
}

function analysis<P, R>(a: Analysis<P, R>): Analysis<P, R> {
  return a;
}

const s = { type: 'string' } as const;
const b = { type: 'boolean' } as const;

const DICTS = ['input', 'output', 'middle'] as const;
/** the seven matrices, and a mixture of experts' router */
const ROLES = [...MATRIX_ROLES, 'W_gate_inp'] as readonly WeightRole[];

function parseRole(r: string, name: string): WeightRole {
  const norm = r.startsWith('W_') ? r : `W_${r}`;
  const hit = ROLES.find((x) => x.toLowerCase() === norm.toLowerCase());
  if (!hit) throw new UsageError(`--${name} takes one of ${ROLES.join(', ')}, not "${r}"`);
  return hit;
}

const MIDDLE_OPTS: OptionSpec = { 'middle-words': s, 'middle-layer': s };
const parseMiddle = (v: Values): Partial<MiddleRecipe> => ({ words: int(v, 'middle-words', { min: 0 }), layer: int(v, 'middle-layer', { min: 1 }) });

function parsePrompt(v: Values): string {
  const prompt = str(v, 'prompt'); // an empty prompt is bad input (exit 2), a missing one is usage (1)
  if (prompt === undefined) throw new UsageError('--prompt is required (the text to inspect)');
  return prompt;
}

/** Token positions: numbers (negative from the end), the last, or all. */
export type Positions = 'all' | 'last' | readonly number[];

function parsePositions(v: Values): Positions {
  const p = str(v, 'pos') ?? 'last';
  if (p === 'all' || p === 'last') return p;
  const parts = p.split(',');
  if (parts.some((x) => !/^-?\d+$/.test(x))) throw new UsageError(`--pos takes token positions (0 is <s>, -1 the last), "last" or "all", not "${p}"`);
  return parts.map(Number);
}

export function resolvePositions(spec: Positions, n: number): number[] {
  if (spec === 'all') return Array.from({ length: n }, (_, i) => i);
  if (spec === 'last') return [n - 1];
  return spec.map((i) => {
    const at = i < 0 ? n + i : i;
    if (!Number.isInteger(at) || at < 0 || at >= n) throw new InnerWorldError('bad-argument', `position ${i} is outside the prompt's ${n} tokens (0..${n - 1})`);
    return at;
  });
}

const states = (nLayers: number): HookName[] => Array.from({ length: nLayers + 1 }, (_, l) => stateHook(l));

function tokensOf(wb: Workbench, insp: Inspection): string[] {
  return insp.ids.map((t) => wb.tokenText(t));
}

function inspectionOf(ctx: RunContext): Inspection {
  if (!ctx.inspection) throw new InnerWorldError('bad-argument', 'this analysis reads an inspection: inspect a prompt first');
  return ctx.inspection;
}

function checkHead(wb: Workbench, head: number): void {
  const n = wb.file().hparams.nHeads;
  if (head < 0 || head >= n) throw new InnerWorldError('bad-argument', `head ${head} is outside 0..${n - 1}`);
}

export interface LensParams {
  inspectionId: number;
  positions: Positions;
  dictionary: DictionaryName;
  normalization: LensNormalization;
  basis?: LensBasis;
  excludeBos?: boolean;
  layers?: readonly number[] | { every: number };
  k?: number;
  middle?: Partial<MiddleRecipe>;
}

export interface HeadPatternParams {
  inspectionId: number;
  layer: number;
  head: number;
  /** a window of the [query, key] pattern, max-pooled to at most `size` x `size` cells */
  q0?: number;
  k0?: number;
  span?: number;
  size?: number;
}

export const ANALYSES = {
  info: analysis({
    name: 'info',
    summary: "hyperparameters, the article's parameter tally next to the file's, cache sizes",
    needs: 'file',
    async run(wb, o: { tokens: number }) {
      const f = wb.file();
      return { name: f.name, path: wb.modelPath, fileBytes: f.file.fileSize, hparams: f.hparams, tiedEmbeddings: f.tiedEmbeddings, tally: parameterTally(f.hparams, f.file.tensors), cache: cacheSizes(f.hparams, o.tokens), noiseFloor: noiseFloor(f.hparams.dModel) };
    },
    cli: { usage: '[--tokens N]', options: { tokens: s }, parse: (v) => ({ tokens: int(v, 'tokens', { min: 1, def: 1000 })! }) },
  }),
  tensors: analysis({
    name: 'tensors',
    summary: 'the tensor table: name, shape, type, parameters, bytes, by layer and role',
    needs: 'file',
    async run(wb, o: { layer?: number; role?: TensorRole }) {
      wb.checkLayer(o.layer);
      return tensorTable(wb.file().file.tensors).filter((t) => (o.layer === undefined || t.layer === o.layer) && (o.role === undefined || t.role === o.role));
    },
    cli: {
      usage: '[--layer L] [--role W_Q]',
      options: { layer: s, role: s },
      parse: (v) => {
        const role = str(v, 'role');
        const hit = role === undefined ? undefined : TENSOR_ROLES.find((x) => x.toLowerCase() === role.toLowerCase());
        if (role !== undefined && !hit) throw new UsageError(`--role takes one of ${TENSOR_ROLES.join(', ')}, not "${role}"`);
        return { layer: int(v, 'layer', { min: 0 }), role: hit };
      },
    },
  }),
  'weight-stats': analysis({
    name: 'weight-stats',
    summary: 'sd / mean|w| per layer for each matrix, along d_model and across heads (streamed)',
    needs: 'file',
    async run(wb, o: { roles?: readonly WeightRole[]; layers?: readonly number[] }) {
      for (const l of o.layers ?? []) wb.checkLayer(l);
      // default: every matrix (a mixture of experts: each expert's, and the router)
      return weightStats(wb.file(), await wb.reducer(), { roles: o.roles, layers: o.layers, cache: wb.weightStatsCache() });
    },
    cli: {
      usage: '[--roles W_Q,W_K] [--layers 0,1]',
      options: { roles: s, layers: s },
      parse: (v) => ({ roles: list(v, 'roles')?.map((r) => parseRole(r, 'roles')), layers: intList(v, 'layers') }),
    },
  }),
  'head-map': analysis({
    name: 'head-map',
    summary: "the words each row of a head's W_K (or W_Q) looks for: |E_in M^T|",
    needs: 'file',
    async run(wb, o: { layer: number; head: number; matrix: 'W_K' | 'W_Q'; foldNorm: boolean; top?: number }) {
      wb.checkLayer(o.layer);
      checkHead(wb, o.head);
      return headWordMap(await wb.engine(), wb.file(), { ...o, tokenText: (id) => wb.tokenText(id) });
    },
    cli: {
      usage: '--layer L --head H [--matrix K|Q] [--fold-norm] [--top N]',
      options: { layer: s, head: s, matrix: s, 'fold-norm': b, top: s },
      parse: (v) => ({
        layer: requiredInt(v, 'layer', 'a layer index', 0),
        head: requiredInt(v, 'head', 'a head index', 0),
        matrix: oneOf(v, 'matrix', ['K', 'Q', 'W_K', 'W_Q'] as const, 'K').endsWith('Q') ? ('W_Q' as const) : ('W_K' as const),
        foldNorm: flag(v, 'fold-norm'),
        top: int(v, 'top', { min: 1, def: 1 }),
      }),
    },
  }),
  heatmap: analysis({
    name: 'heatmap',
    summary: '|W| in a zoom window and summed over d_head x d_head tiles',
    needs: 'file',
    async run(wb, o: { role: WeightRole; layer: number; expert?: number; window: { row0?: number; col0?: number; size?: number; block?: number } }) {
      wb.checkLayer(o.layer);
      return weightHeatmap(wb.file(), o.role, o.layer, { ...o.window, expert: o.expert });
    },
    cli: {
      usage: '--matrix W_Q --layer L [--expert E] [--row0 R] [--col0 C] [--size 360] [--block B]',
      options: { matrix: s, layer: s, expert: s, row0: s, col0: s, size: s, block: s },
      parse: (v) => ({
        role: parseRole(required(v, 'matrix', `one of ${ROLES.join(', ')}`), 'matrix'),
        layer: requiredInt(v, 'layer', 'a layer index', 0),
        expert: int(v, 'expert', { min: 0 }),
        window: { row0: int(v, 'row0', { min: 0 }), col0: int(v, 'col0', { min: 0 }), size: int(v, 'size', { min: 1 }), block: int(v, 'block', { min: 1 }) },
      }),
    },
  }),
  'dict-stats': analysis({
    name: 'dict-stats',
    summary: 'input vs output dictionary statistics (seeded sample)',
    needs: 'file',
    async run(wb, o: { sample?: number; seed?: number; tokenSample?: number; singularValues?: number }) {
      const f = wb.file();
      const reducer = await wb.reducer();
      return dictionaryStats(await wb.engine(), dictionaryByName(f, 'input'), dictionaryByName(f, 'output'), {
        ...o,
        elementMoments: (d) => {
          if (d.source.kind !== 'tensor') throw new Error('element moments need a file tensor');
          return matrixTotals(reducer.reduce(f, d.source.tensor).rows);
        },
      });
    },
    cli: {
      usage: '[--sample N] [--seed S] [--token-sample N] [--singular N]',
      options: { sample: s, seed: s, 'token-sample': s, singular: s },
      parse: (v) => ({ sample: int(v, 'sample', { min: 1 }), seed: int(v, 'seed'), tokenSample: int(v, 'token-sample', { min: 1 }), singularValues: int(v, 'singular', { min: 0 }) }),
    },
  }),
  neighbours: analysis({
    name: 'neighbours',
    summary: 'nearest rows to a word, within a dictionary or across two',
    needs: 'file',
    async run(wb, o: { word: string; from: DictionaryName; to: DictionaryName; k?: number; normalization?: 'cosine' | 'article'; middle?: Partial<MiddleRecipe> }) {
      const word = await wb.resolveWord(o.word);
      const from = await wb.dictionary(o.from, { recipe: o.middle, extraTokens: [word.token] });
      const to = await wb.dictionary(o.to, { recipe: o.middle, extraTokens: [word.token] });
      return nearestNeighbours(await wb.engine(), from, to, word, { k: o.k ?? 10, normalization: o.normalization, tokenText: (id) => wb.tokenText(id) });
    },
    cli: {
      usage: '--word W [--from input|output|middle] [--to input|output|middle] [--k 10] [--norm cosine|article]',
      options: { word: s, from: s, to: s, k: s, norm: s, ...MIDDLE_OPTS },
      parse: (v) => {
        const from = oneOf(v, 'from', DICTS, 'input');
        return { word: required(v, 'word', 'a single-token word'), from, to: oneOf(v, 'to', DICTS, from), k: int(v, 'k', { min: 1, def: 10 }), normalization: oneOf(v, 'norm', ['cosine', 'article'] as const), middle: parseMiddle(v) };
      },
    },
  }),
  similarity: analysis({
    name: 'similarity',
    summary: 'normalized inner products of chosen single-token words in one dictionary',
    needs: 'file',
    /** splitWords: a word of several tokens enters as its pieces (the views), else it is refused (the CLI) */
    async run(wb, o: { words: readonly string[]; dictionary: 'input' | 'output'; splitWords?: boolean }) {
      const refs: Array<{ token: number; text: string }> = [];
      const split: Array<{ word: string; pieces: string[] }> = [];
      for (const w of o.words) {
        const ids = o.splitWords && !/^#\d+$/.test(w) && !w.includes('▁') ? (await wb.tokenizer()).ids(w, false) : [];
        if (ids.length > 1) {
          split.push({ word: w, pieces: ids.map((id) => wb.tokenText(id)) });
          for (const id of ids) refs.push({ token: id, text: wb.tokenText(id) });
        } else {
          refs.push(await wb.resolveWord(w));
        }
      }
      return { ...similarityMatrix(dictionaryByName(wb.file(), o.dictionary), refs), split };
    },
    cli: {
      usage: '--words red,blue,ball [--dict input|output]',
      options: { words: s, dict: s },
      parse: (v) => ({ words: list(v, 'words') ?? required(v, 'words', 'comma-separated single-token words').split(','), dictionary: oneOf(v, 'dict', ['input', 'output'] as const, 'input') }),
    },
  }),
  lens: analysis({
    name: 'lens',
    summary: "top words of a position's state vectors through a dictionary, layer by layer",
    needs: 'inspection',
    hooks: (_p: LensParams, nLayers) => states(nLayers),
    async run(wb, o: LensParams, ctx) {
      const insp = inspectionOf(ctx);
      const session = await wb.session();
      const f = session.file;
      const logitLens = o.normalization === 'logit-lens';
      // the logit lens reads through the output dictionary by definition
      const dictionary: DictionaryName = logitLens ? 'output' : o.dictionary;
      const dict = await wb.dictionary(dictionary, { recipe: o.middle, extraTokens: insp.ids, progress: ctx.progress });
      const result = lens(await wb.engine(), dict, insp.cache, {
        positions: resolvePositions(o.positions, insp.ids.length),
        nLayers: session.info.nLayers,
        layers: o.layers,
        k: o.k ?? 5,
        normalization: o.normalization,
        basis: o.basis,
        excludeBos: o.excludeBos,
        bos: f.specialTokens.bos,
        lnFinal: logitLens ? f.full(f.lnFinal) : undefined,
        rmsEps: f.hparams.rmsEps,
        finalSoftcap: f.arch.finalSoftcap,
        tokenText: (id) => wb.tokenText(id),
      });
      return { tokens: tokensOf(wb, insp), ...result };
    },
    cli: {
      usage: '--prompt TEXT [--pos N|last|all] [--dict input|output|middle] [--norm article|cosine|logit-lens] [--basis vocabulary|prompt] [--no-bos] [--every K | --layers 0,4] [--k 5]',
      options: { prompt: s, pos: s, dict: s, norm: s, basis: s, 'no-bos': b, every: s, layers: s, k: s, ...MIDDLE_OPTS },
      parse: (v) => {
        const every = int(v, 'every', { min: 1 });
        const layers = intList(v, 'layers');
        if (every !== undefined && layers) throw new UsageError('--every and --layers exclude each other');
        return {
          prompt: parsePrompt(v),
          positions: parsePositions(v),
          dictionary: oneOf(v, 'dict', DICTS, 'output'),
          normalization: oneOf(v, 'norm', ['article', 'cosine', 'logit-lens'] as const, 'article'),
          basis: oneOf(v, 'basis', ['vocabulary', 'prompt'] as const, 'vocabulary'),
          excludeBos: flag(v, 'no-bos'),
          layers: every !== undefined ? { every } : layers,
          k: int(v, 'k', { min: 1, def: 5 }),
          middle: parseMiddle(v),
        };
      },
    },
  }),
  attention: analysis({
    name: 'attention',
    summary: "attention to the first token (heads x positions), last query row, one head's pattern",
    needs: 'inspection',
    // every layer: the previous-token heads are ranked across the model (the CLI's one-shot run)
    hooks: (_p: { inspectionId: number; layer: number; head?: number }, nLayers) => Array.from({ length: nLayers }, (_, l) => patternHook(l)),
    async run(wb, o: { inspectionId: number; layer: number; head?: number }, ctx) {
      wb.checkLayer(o.layer);
      if (o.head !== undefined) checkHead(wb, o.head);
      const insp = inspectionOf(ctx);
      const cache = insp.cache;
      const text = (id: number): string => wb.tokenText(id);
      const all = Array.from({ length: wb.file().hparams.nLayers }, (_, l) => l);
      return {
        tokens: tokensOf(wb, insp),
        sink: sinkMap(cache, o.layer, text),
        lastQuery: lastQueryRow(cache, o.layer),
        pattern: o.head === undefined ? undefined : headPattern(cache, o.layer, o.head),
        previousTokenHeads: previousTokenHeads(cache, all, text).slice(0, 5),
      };
    },
    cli: {
      usage: '--prompt TEXT --layer L [--head H]',
      options: { prompt: s, layer: s, head: s },
      parse: (v) => ({ prompt: parsePrompt(v), layer: requiredInt(v, 'layer', 'a layer index', 0), head: int(v, 'head', { min: 0 }) }),
    },
  }),
  /** One layer's sink map and last query row: what the attention view draws for a layer. */
  'attention-layer': analysis({
    name: 'attention-layer',
    summary: 'attention to the first token and the last query row of one layer',
    needs: 'inspection',
    hooks: (p: { inspectionId: number; layer: number }) => [patternHook(p.layer)],
    async run(wb, o: { inspectionId: number; layer: number }, ctx) {
      wb.checkLayer(o.layer);
      const cache = inspectionOf(ctx).cache;
      return { sink: sinkMap(cache, o.layer, (id) => wb.tokenText(id)), lastQuery: lastQueryRow(cache, o.layer) };
    },
  }),
  /** One head's pattern, or a window of it max-pooled to at most size x size cells. */
  'head-pattern': analysis({
    name: 'head-pattern',
    summary: "one head's attention pattern (query x key), windowed",
    needs: 'inspection',
    hooks: (p: HeadPatternParams) => [patternHook(p.layer)],
    async run(wb, o: HeadPatternParams, ctx) {
      wb.checkLayer(o.layer);
      checkHead(wb, o.head);
      return pooledPattern(headPattern(inspectionOf(ctx).cache, o.layer, o.head), o);
    },
  }),
  states: analysis({
    name: 'states',
    summary: 'state vectors: same token across layer gaps, neighbours within a layer, RMS amplitude',
    needs: 'inspection',
    hooks: (_p: { inspectionId: number; gaps: readonly number[]; skipFirst: boolean }, nLayers) => states(nLayers),
    async run(wb, o: { inspectionId: number; gaps: readonly number[]; skipFirst: boolean }, ctx) {
      const L = wb.file().hparams.nLayers;
      const gaps = o.gaps.filter((g) => g >= 1 && g <= L);
      if (gaps.length === 0) throw new InnerWorldError('bad-argument', `no gap in ${o.gaps.join(', ')} fits the model's ${L} layers`);
      const insp = inspectionOf(ctx);
      const opts = { skipFirst: o.skipFirst };
      return { tokens: tokensOf(wb, insp), layerGaps: layerGapSimilarity(insp.cache, L, gaps, opts), sameLayer: sameLayerSimilarity(insp.cache, L, opts), amplitudes: rmsAmplitudes(insp.cache, wb.file(), opts) };
    },
    cli: {
      usage: '--prompt TEXT [--gaps 1,5,15] [--include-first]',
      options: { prompt: s, gaps: s, 'include-first': b },
      parse: (v) => ({ prompt: parsePrompt(v), gaps: intList(v, 'gaps') ?? [1, 5, 15], skipFirst: !flag(v, 'include-first') }),
    },
  }),
  middle: analysis({
    name: 'middle',
    summary: 'build (or load) the cached middle dictionary',
    needs: 'session',
    async run(wb, o: Partial<MiddleRecipe>, ctx) {
      const m = await wb.middle(o, ctx.progress);
      return { key: m.key, recipe: m.recipe, rows: m.size, fromCache: m.fromCache, cacheDir: wb.opts.cacheDir, words: m.tokenIds.slice(0, 50).map((t) => wb.tokenText(t)) };
    },
    cli: { usage: '[--middle-words N] [--middle-layer L]', options: { ...MIDDLE_OPTS }, parse: parseMiddle },
  }),
};

export type AnalysisTable = typeof ANALYSES;
export type AnalysisName = keyof AnalysisTable;
export type AnalysisParams<N extends AnalysisName> = Parameters<AnalysisTable[N]['run']>[1];
export type AnalysisResult<N extends AnalysisName> = Awaited<ReturnType<AnalysisTable[N]['run']>>;
export type AnyAnalysis = Analysis<never, unknown>;

export function findAnalysis(name: string): AnyAnalysis | undefined {
  return Object.hasOwn(ANALYSES, name) ? (ANALYSES[name as AnalysisName] as unknown as AnyAnalysis) : undefined;
}

/** Run a row of the table: an inspection row first gets the hooks it reads captured. */
export async function runAnalysis<N extends AnalysisName>(wb: Workbench, name: N, params: AnalysisParams<N>, progress: Progress = () => {}): Promise<AnalysisResult<N>> {
  const a = findAnalysis(name);
  if (!a) throw new InnerWorldError('bad-argument', `unknown analysis "${name}"`);
  let inspection: Inspection | undefined;
  if (a.needs === 'inspection') {
    const id = (params as { inspectionId?: unknown }).inspectionId;
    if (typeof id !== 'number') throw new InnerWorldError('bad-argument', `${name} reads an inspection: inspectionId is missing`);
    const nLayers = (await wb.session()).info.nLayers;
    inspection = await wb.inspections.withHooks(id, a.hooks?.(params as never, nLayers) ?? [], progress);
  } else if (a.needs === 'session') {
    await wb.session();
  }
  return (await a.run(wb, params as never, { progress, inspection })) as AnalysisResult<N>;
}

export interface PooledPattern {
  layer: number;
  head: number;
  nPos: number;
  /** the window, in token positions */
  q0: number;
  k0: number;
  span: number;
  /** positions per cell (1: every cell is one query/key pair) */
  stride: number;
  /** cells per side */
  cells: number;
  /** [cells * cells], max over the positions each cell covers; NaN above the diagonal */
  values: number[];
}

/** A square window of a pattern, max-pooled: the largest weight in a cell stays visible when zoomed out. */
export function pooledPattern(p: { layer: number; head: number; nPos: number; values: ArrayLike<number> }, o: { q0?: number; k0?: number; span?: number; size?: number }): PooledPattern {
  const n = p.nPos;
  const span = Math.max(1, Math.min(n, o.span ?? n));
  const q0 = Math.max(0, Math.min(n - span, o.q0 ?? 0));
  const k0 = Math.max(0, Math.min(n - span, o.k0 ?? 0));
  const stride = Math.max(1, Math.ceil(span / Math.max(1, o.size ?? 256)));
  const cells = Math.ceil(span / stride);
  const values = new Array<number>(cells * cells).fill(NaN);
  for (let i = 0; i < cells; i++) {
    for (let j = 0; j < cells; j++) {
      let m = NaN;
      for (let q = q0 + i * stride; q < Math.min(q0 + span, q0 + (i + 1) * stride); q++) {
        for (let k = k0 + j * stride; k < Math.min(k0 + span, k0 + (j + 1) * stride); k++) {
          if (k > q) continue;
          const v = p.values[q * n + k]!;
          if (!(m >= v)) m = v;
        }
      }
      values[i * cells + j] = m;
    }
  }
  return { layer: p.layer, head: p.head, nPos: n, q0, k0, span, stride, cells, values };
}
