// The extension's default model, built in seconds on the user's machine: a Llama-architecture
// GGUF with the real Llama-2 vocabulary whose dictionaries are fitted to the built-in grammar
// (./grammar.ts) and whose circuits are constructed (./weights.ts, ./plan.ts): previous-token
// heads, attention sinks, an induction head, FFNs that grow the state along a depth plan. What the
// views show about it can be checked. Deterministic: the same seed gives the same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { extractFromLlamaCppBundle, projectCacheDir } from '../assets';
import { GgufFile } from '../gguf/reader';
import { readTokenizerMetadata, writeLlamaGguf, type LlamaShape } from '../gguf/llamaWriter';
import { checksumMatches, writeChecksum } from '../util/cacheFile';
import { gguf } from '../gguf/values';
import { openTokenizer } from '../llama/tokens';
import { Rng } from '../util/random';
import { checkSpelling, countCorpus, spellGrammar, type GrammarSpelling } from './corpus';
import { bigramTable, contexts, type BigramTable, factorize, fitOutputRows, LOG_FLOOR, refineBigram, scoreBigram, usedLogits } from './fit';
import { demoWords } from './grammar';
import { mat, type Mat } from './linalg';
import { buildPrevTokenHead, prevTokenWeights } from './prevTokenHead';
import { fitHead, headLogits, trigramCrossEntropy, trigramEntropy, trigramTable } from './trigram';
import { DEMO_PLAN } from './plan';
import { demoTensors, identityCodes, type DemoLayout, type HeadScores } from './weights';

/** Bump when the recipe changes: ensureDemoModel rebuilds files of older versions. */
export const DEMO_BUILDER_VERSION = 2;
export const DEMO_MODEL_FILE = 'inner-world-demo.gguf';
export const DEMO_DEFAULT_SEED = 2023;
export const DEMO_NAME = 'Inner World demo (grammar)';
/** Metadata keys this builder adds. */
export const DEMO_KEYS = { version: 'innerworld.demo.version', seed: 'innerworld.demo.seed', report: 'innerworld.demo.report' } as const;
/** The constructed previous-token heads: layer 0 head 0 (the previous token's trigram code) and
 * layer 2 head 0 (its direction and identity, which the middle dictionary and the induction head read). */
export const DEMO_PREV_TOKEN_HEAD = { layer: 0, head: 0 } as const;
export const DEMO_LATE_PREV_TOKEN_HEAD = { layer: DEMO_PLAN.prevBlock, head: 0 } as const;
/** The constructed induction head. */
export const DEMO_INDUCTION_HEAD = { layer: DEMO_PLAN.inductionBlock, head: 0 } as const;
/** Layers from which every other head is an attention sink. */
export const DEMO_FIRST_SINK_LAYER = 2;

export const DEMO_SHAPE: LlamaShape = { nVocab: 32000, dModel: 320, nLayers: 8, nHeads: 5, nKvHeads: 5, dFf: 192, nCtxTrain: 2048, rmsEps: 1e-5, ropeFreqBase: 10000 };
const LAYOUT: DemoLayout = {
  dirDims: 64,
  codeDims: 24,
  idDims: 24,
  prevDirDims: 40,
  dirLength: Math.sqrt(0.72),
  biasValue: Math.sqrt(0.05),
  codeLength: Math.sqrt(0.13),
  idLength: Math.sqrt(0.1),
  sinkValue: 0.25,
};
const SCORES: HeadScores = { sinkMin: 6, sinkMax: 10, inductionMatch: 9, inductionSink: 6, inductionGain: 8 };
const SENTENCES = 200_000;
/** share of positions above which a token's identity code is weakened (see weakenFrequentIdentities) */
const FREQUENT = 0.005;
/** unseen tokens sit this far below the lowest grammar logit */
const OUTSIDE_GAP = 8;

export interface DemoReport {
  readonly builderVersion: number;
  readonly seed: number;
  /** words of the grammar, and the distinct Llama-2 tokens they use (BOS included) */
  readonly words: number;
  readonly usedTokens: number;
  readonly sentences: number;
  readonly documents: number;
  /** predicted positions counted */
  readonly positions: number;
  readonly rank: number;
  readonly codeDims: number;
  readonly bigram: {
    /** the counted table's conditional entropy: the best any bigram model can do (nats/token) */
    readonly tableCe: number;
    /** the model's direct path (embedding -> final norm -> output dictionary), whole vocabulary */
    readonly modelCe: number;
    /** share of positions whose most likely next token is the table's */
    readonly top1Agreement: number;
  };
  readonly trigram: {
    readonly tableCe: number;
    /** = bigram.modelCe: the model without its previous-token head */
    readonly withoutHeadCe: number;
    /** with the head attending only to the previous token */
    readonly withHeadCe: number;
  };
  readonly head: {
    readonly layer: number;
    readonly head: number;
    /** attention on key q-1 over queries 1..context length, computed from the weights */
    readonly prevWeightMin: number;
    readonly prevWeightMean: number;
    readonly scoreMargin: number;
  };
  /** largest probability the direct path leaves to tokens outside the grammar */
  readonly outsideMassMax: number;
  /** the depth plan's expectations for a grammar token, states 0..n_layers (./plan.ts) */
  readonly depth: {
    readonly norm: number[];
    /** the token's own input-dictionary amplitude */
    readonly amplitude: number[];
    /** the logit lens's bigram logit scale, relative to the final */
    readonly lensScale: number[];
    /** cosine of neighbouring states (l, l + 1) */
    readonly gapCosine: number[];
  };
  readonly circuits: {
    readonly prevTokenHeads: ReadonlyArray<{ layer: number; head: number }>;
    readonly inductionHead: { layer: number; head: number };
    readonly firstSinkLayer: number;
    /** largest |cosine| between two grammar tokens' identity codes */
    readonly idMaxOverlap: number;
    /** the frequent tokens whose identity codes are weakened (token ids): the induction head barely acts on them */
    readonly weakIdentityTokens: number[];
  } & HeadScores;
  readonly params: number;
  readonly fileBytes: number;
  readonly buildSeconds: number;
}

export interface DemoBuildOptions {
  seed?: number;
  /** the Llama-2 vocabulary GGUF (default: extracted into the project's cache) */
  vocabPath?: string;
  /** stage names as the build goes, for a progress notification */
  onProgress?: (stage: string) => void;
}

export async function buildDemoModel(outPath: string, opts: DemoBuildOptions = {}): Promise<DemoReport> {
  const started = performance.now();
  const seed = opts.seed ?? DEMO_DEFAULT_SEED;
  const progress = opts.onProgress ?? (() => {});
  const vocabPath = opts.vocabPath ?? extractFromLlamaCppBundle(path.join(projectCacheDir(), 'llama.cpp'))[0]!;
  const { tokenizer, dispose } = await openTokenizer(vocabPath);
  let spelling: GrammarSpelling;
  try {
    spelling = spellGrammar(tokenizer);
    checkSpelling(tokenizer, spelling, new Rng(seed + 1), 300);
  } finally {
    dispose();
  }

  progress('sampling sentences');
  const counts = countCorpus(spelling, new Rng(seed), SENTENCES);
  const table = bigramTable(counts);
  const n = counts.n;
  const missing = counts.tokenIds.filter((_, a) => table.contextCount[a] === 0);
  if (missing.length) throw new Error(`grammar tokens ${missing.join(', ')} are never followed by anything; every token needs a continuation`);

  progress('fitting the dictionaries');
  const L = LAYOUT;
  const w = L.dirDims + 1;
  const { design, theta } = fitDictionaries(table, L);
  const bigram = bigramLogits(table, design, theta);
  // everything outside the grammar gets one logit, OUTSIDE_GAP below the lowest grammar logit
  let lowest = Infinity;
  for (let b = 0; b < n; b++) for (const x of table.outputs) lowest = Math.min(lowest, bigram[b * n + x]!);
  const outsideLogit = lowest - OUTSIDE_GAP;
  const outsideLogMass = new Float64Array(n).fill(outsideLogit + Math.log(DEMO_SHAPE.nVocab - table.outputs.length));
  const score = scoreBigram(table, (a, out) => out.set(bigram.subarray(a * n, (a + 1) * n)), (a) => outsideLogMass[a]!);

  progress('fitting the previous-token head');
  const tri = trigramTable(counts);
  // a token's code starts as the leading components of its direction (what it predicts most)
  const codeInit = mat(n, L.codeDims);
  for (let a = 0; a < n; a++) for (let k = 0; k < L.codeDims; k++) codeInit.data[a * L.codeDims + k] = design.data[a * w + k]!;
  const headFit = fitHead(tri, bigram, table.outputs, codeInit, 40, 0.1);
  const trigram = {
    tableCe: trigramEntropy(tri),
    withoutHeadCe: trigramCrossEntropy(tri, bigram, outsideLogMass),
    withHeadCe: trigramCrossEntropy(tri, bigram, outsideLogMass, headLogits(headFit)),
  };
  const dHead = DEMO_SHAPE.dModel / DEMO_SHAPE.nHeads;
  const head = buildPrevTokenHead(dHead, DEMO_SHAPE.ropeFreqBase, DEMO_SHAPE.nCtxTrain, 40);
  const prevWeights = prevTokenWeights(head, dHead, DEMO_SHAPE.ropeFreqBase, DEMO_SHAPE.nCtxTrain);

  progress('building the circuits');
  const ids = identityCodes(n, L.idDims, new Rng(seed ^ 0x1d));
  const idMaxOverlap = maxOverlap(ids);
  const weakIdentityTokens = weakenFrequentIdentities(ids, table.contextCount).map((a) => counts.tokenIds[a]!);

  progress('writing the model');
  const weights = demoTensors({
    shape: DEMO_SHAPE,
    layout: L,
    plan: DEMO_PLAN,
    scores: SCORES,
    ids,
    tokenIds: counts.tokenIds,
    design,
    theta,
    code: headFit.code,
    phi: headFit.phi,
    outsideLogit,
    prevHead: head,
    latePrevHead: buildPrevTokenHead(dHead, DEMO_SHAPE.ropeFreqBase, DEMO_SHAPE.nCtxTrain, 24),
    rng: new Rng(seed ^ 0x5bd1e995),
  });
  const fit = {
    builderVersion: DEMO_BUILDER_VERSION,
    seed,
    words: demoWords().length,
    usedTokens: n,
    sentences: counts.sentences,
    documents: counts.documents,
    positions: counts.positions,
    rank: L.dirDims,
    codeDims: L.codeDims,
    bigram: { tableCe: score.tableCe, modelCe: score.modelCe, top1Agreement: score.top1 },
    trigram,
    head: {
      ...DEMO_PREV_TOKEN_HEAD,
      prevWeightMin: prevWeights.reduce((m, v) => Math.min(m, v), 1),
      prevWeightMean: prevWeights.reduce((s, v) => s + v, 0) / prevWeights.length,
      scoreMargin: head.margin,
    },
    outsideMassMax: outsideMassMax(table, bigram, outsideLogMass),
    depth: {
      norm: rounded(weights.norms.norm),
      amplitude: rounded(weights.norms.amplitude),
      lensScale: rounded(weights.norms.lensScale),
      gapCosine: rounded(weights.norms.gapCosine),
    },
    circuits: {
      prevTokenHeads: [DEMO_PREV_TOKEN_HEAD, DEMO_LATE_PREV_TOKEN_HEAD],
      inductionHead: DEMO_INDUCTION_HEAD,
      firstSinkLayer: DEMO_FIRST_SINK_LAYER,
      idMaxOverlap: Number(idMaxOverlap.toFixed(4)),
      weakIdentityTokens,
      ...SCORES,
    },
    params: weights.tensors.reduce((s, t) => s + t.dims.reduce((x, y) => x * y, 1), 0),
  };
  fs.mkdirSync(path.dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  try {
    writeLlamaGguf(tmp, {
      shape: DEMO_SHAPE,
      name: DEMO_NAME,
      description:
        `Synthetic demo model of LLM Inner World, built on this machine in seconds, not trained: its dictionaries are fitted ` +
        `to a small built-in English grammar (${fit.words} words); its circuits are constructed by hand (previous-token heads ` +
        `in layers 0 and ${DEMO_LATE_PREV_TOKEN_HEAD.layer}, attention sinks from layer ${DEMO_FIRST_SINK_LAYER}, an induction head in layer ` +
        `${DEMO_INDUCTION_HEAD.layer}, FFNs that grow the state along a fixed plan); its weight statistics are synthetic. ` +
        `It knows nothing beyond that grammar. Load a real model for real findings.`,
      tokenizer: readTokenizerMetadata(vocabPath),
      tensors: weights.tensors,
      extraMetadata: [
        [DEMO_KEYS.version, gguf.u32(DEMO_BUILDER_VERSION)],
        [DEMO_KEYS.seed, gguf.u32(seed)],
        // the fit numbers travel with the file (nothing machine-dependent, so the bytes stay reproducible)
        [DEMO_KEYS.report, gguf.str(JSON.stringify(fit))],
      ],
    });
    fs.renameSync(tmp, outPath);
    writeChecksum(outPath); // after the rename: a file without a matching checksum is rebuilt
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return { ...fit, fileBytes: fs.statSync(outPath).size, buildSeconds: (performance.now() - started) / 1000 };
}

/**
 * Input rows and output rows ([n, dirDims + 1], logit units) of the grammar's tokens: the rank-k
 * factorization gives the directions, least squares the first output rows, Adam on the
 * cross-entropy the rest (see ./fit.ts).
 */
function fitDictionaries(table: BigramTable, l: DemoLayout): { design: Mat; theta: Mat } {
  const n = table.n;
  const w = l.dirDims + 1;
  const f = factorize(table, l.dirDims);
  const design0 = mat(n, w);
  for (const a of contexts(table)) {
    let norm = 0;
    for (let k = 0; k < l.dirDims; k++) norm += f.a.data[a * l.dirDims + k]! ** 2;
    norm = Math.sqrt(norm);
    for (let k = 0; k < l.dirDims; k++) design0.data[a * w + k] = (l.dirLength * f.a.data[a * l.dirDims + k]!) / norm;
    design0.data[a * w + l.dirDims] = l.biasValue;
  }
  const logP = (a: number, x: number): number => Math.max(LOG_FLOOR, Math.log(table.p[a * n + x]!));
  const theta0 = fitOutputRows(table, design0, logP, table.contextCount, 1e-6);
  const refined = refineBigram(table, design0, theta0, { iterations: 40, lrOut: 0.3, lrIn: 0.01, dirDims: l.dirDims, dirLength: l.dirLength });
  centreLogits(table, refined.design, refined.theta, l);
  return refined;
}

/** Numbers for the report: 4 decimals. */
function rounded(v: readonly number[]): number[] {
  return v.map((x) => Number(x.toFixed(4)));
}

/**
 * Frequent tokens (the, to, ".") carry less identity: their codes are scaled by
 * sqrt(FREQUENT / share) when their share of the positions is above FREQUENT. In the grammar's
 * documents a repeated word says nothing about what follows it, so an induction head that acted on
 * every repeated "the" would only cost the model its grammar; acting on rarer tokens, it costs
 * little there and still completes repeated random text (test/integration/demoModel.test.ts).
 */
function weakenFrequentIdentities(ids: Mat, contextCount: Float64Array): number[] {
  const total = contextCount.reduce((a, b) => a + b, 0);
  const weakened: number[] = [];
  for (let a = 1; a < ids.rows; a++) {
    const share = contextCount[a]! / total;
    if (share <= FREQUENT) continue;
    const r = Math.sqrt(FREQUENT / share);
    for (let k = 0; k < ids.cols; k++) ids.data[a * ids.cols + k]! *= r;
    weakened.push(a);
  }
  return weakened;
}

/** The largest |cosine| between two distinct non-zero rows. */
function maxOverlap(m: Mat): number {
  let worst = 0;
  for (let a = 0; a < m.rows; a++) {
    for (let b = a + 1; b < m.rows; b++) {
      let s = 0;
      for (let k = 0; k < m.cols; k++) s += m.data[a * m.cols + k]! * m.data[b * m.cols + k]!;
      worst = Math.max(worst, Math.abs(s));
    }
  }
  return worst;
}

/** [n, n] logits of the direct path (-Infinity for tokens never predicted). */
function bigramLogits(table: BigramTable, design: Mat, theta: Mat): Float64Array {
  const n = table.n;
  const out = new Float64Array(n * n);
  const row = new Float64Array(n);
  for (let b = 0; b < n; b++) out.set(usedLogits(table, design, theta, b, row), b * n);
  return out;
}

/** The largest probability any grammar context leaves to the rest of the vocabulary. */
function outsideMassMax(table: BigramTable, bigram: Float64Array, outsideLogMass: Float64Array): number {
  const n = table.n;
  let worst = 0;
  for (const a of contexts(table)) {
    let max = -Infinity;
    for (const x of table.outputs) max = Math.max(max, bigram[a * n + x]!);
    let sum = Math.exp(outsideLogMass[a]! - max);
    for (const x of table.outputs) sum += Math.exp(bigram[a * n + x]! - max);
    worst = Math.max(worst, Math.exp(outsideLogMass[a]! - max) / sum);
  }
  return worst;
}

/**
 * Shift every output row's bias entry so that the mean grammar logit is 0. A shift shared by all
 * tokens changes no probability, but it makes the dictionaries read naturally: through the output
 * dictionary, a word's likely continuations get positive amplitudes and unlikely ones negative.
 */
function centreLogits(table: BigramTable, design: Mat, theta: Mat, l: DemoLayout): void {
  const w = l.dirDims + 1;
  const row = new Float64Array(table.n);
  let sum = 0;
  let count = 0;
  for (const a of contexts(table)) {
    usedLogits(table, design, theta, a, row);
    for (const x of table.outputs) {
      sum += row[x]!;
      count++;
    }
  }
  const shift = sum / count / l.biasValue;
  for (const x of table.outputs) theta.data[x * w + l.dirDims]! -= shift;
}

/** The builder version a demo file was made by (undefined: not a demo file, or unreadable). */
export function demoModelVersion(file: string): number | undefined {
  try {
    const f = GgufFile.open(file);
    try {
      const v = f.get(DEMO_KEYS.version);
      return typeof v === 'number' ? v : undefined;
    } finally {
      f.close();
    }
  } catch {
    return undefined;
  }
}

/** The fit numbers stored in a demo file (without build time and size). */
export function readDemoReport(file: string): Omit<DemoReport, 'fileBytes' | 'buildSeconds'> | undefined {
  const f = GgufFile.open(file);
  try {
    const v = f.get(DEMO_KEYS.report);
    return typeof v === 'string' ? (JSON.parse(v) as Omit<DemoReport, 'fileBytes' | 'buildSeconds'>) : undefined;
  } finally {
    f.close();
  }
}

export function demoModelPath(cacheDir: string): string {
  return path.join(cacheDir, 'models', DEMO_MODEL_FILE);
}

/** A demo model file usable as it is: this builder's version, and intact (a truncated or damaged file's checksum no longer matches). */
export function demoModelIsCurrent(file: string): boolean {
  return fs.existsSync(file) && demoModelVersion(file) === DEMO_BUILDER_VERSION && checksumMatches(file);
}

/**
 * `<cacheDir>/models/inner-world-demo.gguf`, built first when missing or made by an older builder.
 * The Llama-2 vocabulary is extracted into `<cacheDir>/llama.cpp` (once).
 */
export async function ensureDemoModel(cacheDir: string, opts: EnsureDemoOptions = {}): Promise<string> {
  const file = demoModelPath(cacheDir);
  if (!opts.force && demoModelIsCurrent(file)) return file;
  const vocabPath = extractFromLlamaCppBundle(path.join(cacheDir, 'llama.cpp'))[0]!;
  const report = await buildDemoModel(file, { seed: opts.seed, onProgress: opts.onProgress, vocabPath });
  opts.onBuilt?.(report);
  return file;
}

export interface EnsureDemoOptions extends Omit<DemoBuildOptions, 'vocabPath'> {
  /** rebuild even when the file is current */
  force?: boolean;
  /** called with the report when a build happened */
  onBuilt?: (report: DemoReport) => void;
}
