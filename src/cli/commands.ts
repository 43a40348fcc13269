// The CLI's subcommands: each parses its options, runs one analysis of src/engine/analysis and
// returns its JSON-able result. Weight views read the file only; prompt views run llama.cpp.
import { InnerWorldError } from '../engine/errors';
import { MATRIX_ROLES, type WeightRole } from '../engine/gguf/llamaModel';
import { cacheSizes, parameterTally, tensorTable } from '../engine/analysis/anatomy';
import { headPattern, lastQueryRow, previousTokenHeads, sinkMap } from '../engine/analysis/attention';
import { dictionaryByName, type Dictionary } from '../engine/analysis/dictionary';
import { dictionaryStats } from '../engine/analysis/dictStats';
import { headWordMap } from '../engine/analysis/headMap';
import { weightHeatmap } from '../engine/analysis/heatmap';
import { lens, noiseFloor, type LensOptions } from '../engine/analysis/lens';
import { MiddleDictionary } from '../engine/analysis/middle';
import { nearestNeighbours, similarityMatrix } from '../engine/analysis/similarity';
import { layerGapSimilarity, rmsAmplitudes, sameLayerSimilarity } from '../engine/analysis/states';
import { matrixTotals, STAT_ROLES, weightStats } from '../engine/analysis/weightStats';
import { referenceReducer } from '../engine/analysis/reference/reducer';
import type { CliContext } from './context';
import { flag, int, intList, list, oneOf, required, requiredInt, str, UsageError, type Values } from './options';

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

/**
 * A subcommand in two phases: `parse` reads and checks the options (usage errors, exit 1) before
 * anything touches the model; `run` does the work (bad input, exit 2).
 */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** the usage line after "inner-world <name> <model>" */
  readonly usage: string;
  readonly options: OptionSpec;
  parse(v: Values): unknown;
  run(ctx: CliContext, parsed: unknown): Promise<unknown>;
}

function command<T>(c: { name: string; summary: string; usage: string; options: OptionSpec; parse(v: Values): T; run(ctx: CliContext, o: T): Promise<unknown> }): Command {
  return c as Command;
}

const s = { type: 'string' } as const;
const b = { type: 'boolean' } as const;

const ROLES = MATRIX_ROLES as readonly WeightRole[];

function parseRole(r: string, name: string): WeightRole {
  const norm = r.startsWith('W_') ? r : `W_${r}`;
  const hit = ROLES.find((x) => x.toLowerCase() === norm.toLowerCase());
  if (!hit) throw new UsageError(`--${name} takes one of ${ROLES.join(', ')}, not "${r}"`);
  return hit;
}

function checkLayer(ctx: CliContext, layer: number | undefined): void {
  const n = ctx.file().hparams.nLayers;
  if (layer !== undefined && layer >= n) throw new InnerWorldError('bad-argument', `layer ${layer} is outside 0..${n - 1}`);
}

type DictName = 'input' | 'output' | 'middle';
const DICTS = ['input', 'output', 'middle'] as const;

interface MiddleOpts {
  middleWords: number | undefined;
  middleLayer: number | undefined;
}
const MIDDLE_OPTS: OptionSpec = { 'middle-words': s, 'middle-layer': s };
const parseMiddle = (v: Values): MiddleOpts => ({ middleWords: int(v, 'middle-words', { min: 0 }), middleLayer: int(v, 'middle-layer', { min: 1 }) });

async function dictionary(ctx: CliContext, which: DictName, m: MiddleOpts, extraTokens: readonly number[] = []): Promise<Dictionary> {
  if (which !== 'middle') return dictionaryByName(ctx.file(), which);
  const session = await ctx.session();
  return MiddleDictionary.open(session, { cacheDir: ctx.opts.cacheDir, words: m.middleWords, layer: m.middleLayer, extraTokens }).dictionary();
}

function parsePrompt(v: Values): string {
  const prompt = str(v, 'prompt'); // an empty prompt is bad input (exit 2), a missing one is usage (1)
  if (prompt === undefined) throw new UsageError('--prompt is required (the text to inspect)');
  return prompt;
}

/** Tokens of the prompt, with <s>, run once capturing what the prompt views need. */
async function inspect(ctx: CliContext, prompt: string, hooks: (n: string) => boolean) {
  const session = await ctx.session();
  const tokens = session.tokenize(prompt).tokens.map((t) => t.id);
  return { session, tokens, cache: session.run(tokens, { hooks }) };
}

type PosSpec = 'all' | 'last' | number[];

function parsePositions(v: Values): PosSpec {
  const p = str(v, 'pos') ?? 'last';
  if (p === 'all' || p === 'last') return p;
  const parts = p.split(',');
  if (parts.some((x) => !/^-?\d+$/.test(x))) throw new UsageError(`--pos takes token positions (0 is <s>, -1 the last), "last" or "all", not "${p}"`);
  return parts.map(Number);
}

function positionsOf(spec: PosSpec, n: number): number[] {
  if (spec === 'all') return Array.from({ length: n }, (_, i) => i);
  if (spec === 'last') return [n - 1];
  return spec.map((i) => {
    const at = i < 0 ? n + i : i;
    if (at < 0 || at >= n) throw new InnerWorldError('bad-argument', `position ${i} is outside the prompt's ${n} tokens (0..${n - 1})`);
    return at;
  });
}

const STATES_HOOKS = (n: string): boolean => /hook_resid_post$|^hook_embed$/.test(n);

export const COMMANDS: readonly Command[] = [
  command({
    name: 'info',
    summary: "hyperparameters, the article's parameter tally next to the file's, cache sizes",
    usage: '[--tokens N]',
    options: { tokens: s },
    parse: (v) => ({ tokens: int(v, 'tokens', { min: 1, def: 1000 })! }),
    async run(ctx, o) {
      const f = ctx.file();
      return { name: f.name, path: ctx.modelPath, fileBytes: f.file.fileSize, hparams: f.hparams, tiedEmbeddings: f.tiedEmbeddings, tally: parameterTally(f.hparams, f.file.tensors), cache: cacheSizes(f.hparams, o.tokens), noiseFloor: noiseFloor(f.hparams.dModel) };
    },
  }),
  command({
    name: 'tensors',
    summary: 'the tensor table: name, shape, type, parameters, bytes, by layer and role',
    usage: '[--layer L] [--role W_Q]',
    options: { layer: s, role: s },
    parse: (v) => ({ layer: int(v, 'layer', { min: 0 }), role: str(v, 'role') }),
    async run(ctx, o) {
      return tensorTable(ctx.file().file.tensors).filter((t) => (o.layer === undefined || t.layer === o.layer) && (o.role === undefined || t.role.toLowerCase() === o.role.toLowerCase()));
    },
  }),
  command({
    name: 'weight-stats',
    summary: 'sd / mean|w| per layer for each matrix, along d_model and across heads (streamed)',
    usage: '[--roles W_Q,W_K] [--layers 0,1]',
    options: { roles: s, layers: s },
    parse: (v) => ({ roles: (list(v, 'roles') ?? STAT_ROLES).map((r) => parseRole(r, 'roles')), layers: intList(v, 'layers') }),
    async run(ctx, o) {
      for (const l of o.layers ?? []) checkLayer(ctx, l);
      return weightStats(ctx.file(), ctx.opts.reference ? referenceReducer : await ctx.reducer(), { roles: o.roles, layers: o.layers });
    },
  }),
  command({
    name: 'head-map',
    summary: "the words each row of a head's W_K (or W_Q) looks for: |E_in M^T|",
    usage: '--layer L --head H [--matrix K|Q] [--fold-norm] [--top N]',
    options: { layer: s, head: s, matrix: s, 'fold-norm': b, top: s },
    parse: (v) => ({
      layer: requiredInt(v, 'layer', 'a layer index', 0),
      head: requiredInt(v, 'head', 'a head index', 0),
      matrix: oneOf(v, 'matrix', ['K', 'Q', 'W_K', 'W_Q'] as const, 'K').endsWith('Q') ? ('W_Q' as const) : ('W_K' as const),
      foldNorm: flag(v, 'fold-norm'),
      top: int(v, 'top', { min: 1, def: 1 }),
    }),
    async run(ctx, o) {
      const file = ctx.file();
      return headWordMap(await ctx.engine(), file, { ...o, tokenText: (id) => ctx.tokenText(id) });
    },
  }),
  command({
    name: 'heatmap',
    summary: '|W| in a zoom window and summed over d_head x d_head tiles',
    usage: '--matrix W_Q --layer L [--row0 R] [--col0 C] [--size 360] [--block B]',
    options: { matrix: s, layer: s, row0: s, col0: s, size: s, block: s },
    parse: (v) => ({
      role: parseRole(required(v, 'matrix', `one of ${ROLES.join(', ')}`), 'matrix'),
      layer: requiredInt(v, 'layer', 'a layer index', 0),
      window: { row0: int(v, 'row0', { min: 0 }), col0: int(v, 'col0', { min: 0 }), size: int(v, 'size', { min: 1 }), block: int(v, 'block', { min: 1 }) },
    }),
    async run(ctx, o) {
      checkLayer(ctx, o.layer);
      return weightHeatmap(ctx.file(), o.role, o.layer, o.window);
    },
  }),
  command({
    name: 'dict-stats',
    summary: 'input vs output dictionary statistics (seeded sample)',
    usage: '[--sample N] [--seed S] [--token-sample N] [--singular N]',
    options: { sample: s, seed: s, 'token-sample': s, singular: s },
    parse: (v) => ({ sample: int(v, 'sample', { min: 1 }), seed: int(v, 'seed'), tokenSample: int(v, 'token-sample', { min: 1 }), singularValues: int(v, 'singular', { min: 0 }) }),
    async run(ctx, o) {
      const f = ctx.file();
      const reducer = ctx.opts.reference ? referenceReducer : await ctx.reducer();
      return dictionaryStats(await ctx.engine(), dictionaryByName(f, 'input'), dictionaryByName(f, 'output'), {
        ...o,
        elementMoments: (d) => {
          if (d.source.kind !== 'tensor') throw new Error('element moments need a file tensor');
          return matrixTotals(reducer.reduce(f, d.source.tensor).rows);
        },
      });
    },
  }),
  command({
    name: 'neighbours',
    summary: 'nearest rows to a word, within a dictionary or across two',
    usage: '--word W [--from input|output|middle] [--to input|output|middle] [--k 10] [--norm cosine|article]',
    options: { word: s, from: s, to: s, k: s, norm: s, ...MIDDLE_OPTS },
    parse: (v) => {
      const from = oneOf(v, 'from', DICTS, 'input');
      return { word: required(v, 'word', 'a single-token word'), from, to: oneOf(v, 'to', DICTS, from), k: int(v, 'k', { min: 1, def: 10 }), normalization: oneOf(v, 'norm', ['cosine', 'article'] as const), middle: parseMiddle(v) };
    },
    async run(ctx, o) {
      const word = await ctx.resolveWord(o.word);
      const from = await dictionary(ctx, o.from, o.middle, [word.token]);
      const to = await dictionary(ctx, o.to, o.middle, [word.token]);
      return nearestNeighbours(await ctx.engine(), from, to, word, { k: o.k, normalization: o.normalization, tokenText: (id) => ctx.tokenText(id) });
    },
  }),
  command({
    name: 'similarity',
    summary: 'normalized inner products of chosen single-token words in one dictionary',
    usage: '--words red,blue,ball [--dict input|output]',
    options: { words: s, dict: s },
    parse: (v) => ({ words: list(v, 'words') ?? required(v, 'words', 'comma-separated single-token words').split(','), dict: oneOf(v, 'dict', ['input', 'output'] as const, 'input') }),
    async run(ctx, o) {
      const refs = [];
      for (const w of o.words) refs.push(await ctx.resolveWord(w));
      return similarityMatrix(dictionaryByName(ctx.file(), o.dict), refs);
    },
  }),
  command({
    name: 'lens',
    summary: "top words of a position's state vectors through a dictionary, layer by layer",
    usage: '--prompt TEXT [--pos N|last|all] [--dict input|output|middle] [--norm article|cosine|logit-lens] [--basis vocabulary|prompt] [--no-bos] [--every K | --layers 0,4] [--k 5]',
    options: { prompt: s, pos: s, dict: s, norm: s, basis: s, 'no-bos': b, every: s, layers: s, k: s, ...MIDDLE_OPTS },
    parse: (v) => {
      const every = int(v, 'every', { min: 1 });
      const layers = intList(v, 'layers');
      if (every !== undefined && layers) throw new UsageError('--every and --layers exclude each other');
      return {
        prompt: parsePrompt(v),
        positions: parsePositions(v),
        dict: oneOf(v, 'dict', DICTS, 'output'),
        normalization: oneOf(v, 'norm', ['article', 'cosine', 'logit-lens'] as const, 'article'),
        basis: oneOf(v, 'basis', ['vocabulary', 'prompt'] as const, 'vocabulary'),
        excludeBos: flag(v, 'no-bos'),
        layers: every !== undefined ? { every } : layers,
        k: int(v, 'k', { min: 1, def: 5 }),
        middle: parseMiddle(v),
      };
    },
    async run(ctx, o) {
      const { session, tokens, cache } = await inspect(ctx, o.prompt, STATES_HOOKS);
      const f = session.file;
      const opts: LensOptions = {
        positions: positionsOf(o.positions, tokens.length),
        nLayers: session.info.nLayers,
        layers: o.layers,
        k: o.k,
        normalization: o.normalization,
        basis: o.basis,
        excludeBos: o.excludeBos,
        bos: f.specialTokens.bos,
        lnFinal: o.normalization === 'logit-lens' ? f.full(f.lnFinal) : undefined,
        rmsEps: f.hparams.rmsEps,
        finalSoftcap: f.arch.finalSoftcap,
        tokenText: (id) => ctx.tokenText(id),
      };
      const result = lens(await ctx.engine(), await dictionary(ctx, o.dict, o.middle, tokens), cache, opts);
      return { tokens: tokens.map((t) => ctx.tokenText(t)), ...result };
    },
  }),
  command({
    name: 'attention',
    summary: "attention to the first token (heads x positions), last query row, one head's pattern",
    usage: '--prompt TEXT --layer L [--head H]',
    options: { prompt: s, layer: s, head: s },
    parse: (v) => ({ prompt: parsePrompt(v), layer: requiredInt(v, 'layer', 'a layer index', 0), head: int(v, 'head', { min: 0 }) }),
    async run(ctx, o) {
      checkLayer(ctx, o.layer);
      const { session, tokens, cache } = await inspect(ctx, o.prompt, (n) => n.endsWith('attn.hook_pattern'));
      const text = (id: number) => ctx.tokenText(id);
      const all = Array.from({ length: session.info.nLayers }, (_, l) => l);
      return {
        tokens: tokens.map(text),
        sink: sinkMap(cache, o.layer, text),
        lastQuery: lastQueryRow(cache, o.layer),
        pattern: o.head === undefined ? undefined : headPattern(cache, o.layer, o.head),
        previousTokenHeads: previousTokenHeads(cache, all, text).slice(0, 5),
      };
    },
  }),
  command({
    name: 'states',
    summary: 'state vectors: same token across layer gaps, neighbours within a layer, RMS amplitude',
    usage: '--prompt TEXT [--gaps 1,5,15] [--include-first]',
    options: { prompt: s, gaps: s, 'include-first': b },
    parse: (v) => ({ prompt: parsePrompt(v), gaps: intList(v, 'gaps') ?? [1, 5, 15], skipFirst: !flag(v, 'include-first') }),
    async run(ctx, o) {
      const L = ctx.file().hparams.nLayers;
      const gaps = o.gaps.filter((g) => g >= 1 && g <= L);
      if (gaps.length === 0) throw new InnerWorldError('bad-argument', `no gap in ${o.gaps.join(', ')} fits the model's ${L} layers`);
      const { session, tokens, cache } = await inspect(ctx, o.prompt, STATES_HOOKS);
      const opts = { skipFirst: o.skipFirst };
      return { tokens: tokens.map((t) => ctx.tokenText(t)), layerGaps: layerGapSimilarity(cache, L, gaps, opts), sameLayer: sameLayerSimilarity(cache, L, opts), amplitudes: rmsAmplitudes(cache, session.file, opts) };
    },
  }),
  command({
    name: 'middle',
    summary: 'build (or load) the cached middle dictionary',
    usage: '[--middle-words N] [--middle-layer L]',
    options: { ...MIDDLE_OPTS },
    parse: parseMiddle,
    async run(ctx, o) {
      const session = await ctx.session();
      const m = MiddleDictionary.open(session, { cacheDir: ctx.opts.cacheDir, words: o.middleWords, layer: o.middleLayer });
      return { key: m.key, recipe: m.recipe, rows: m.size, fromCache: m.fromCache, cacheDir: ctx.opts.cacheDir, words: m.tokenIds.slice(0, 50).map((t) => ctx.tokenText(t)) };
    },
  }),
];

export function findCommand(name: string): Command | undefined {
  const alias: Record<string, string> = { tally: 'info', neighbors: 'neighbours' };
  return COMMANDS.find((c) => c.name === (alias[name] ?? name));
}
