// Inspections: a prompt's tokens and the activations captured for it, filled on demand as
// TransformerLens' names_filter would be. The first view asks for the states, the attention view
// for one layer's pattern; what is missing is captured by decoding the prompt again. Together the
// inspections hold at most a byte budget; the least recently used go first, and an inspection
// keeps the patterns of few layers at once (one layer of a 2,000-token, 32-head prompt is 512 MB).
// Where the inspection holds a layer's resid_pre and the model's attention allows, the layer's
// queries and keys are computed from it instead (compute/attentionPatterns.ts: seconds, not a second
// decode) and its patterns made head by head when a view reads them.
import { ActivationCache, heldBytes, type HeadPatterns, type HeldTensor, type Tensor } from '../activations';
import { InnerWorldError } from '../errors';
import { residPreSource, type HookName } from '../hookNames';
import type { ModelSession } from '../llama/session';
import type { TokenSpan } from '../llama/tokens';

export type Progress = (message: string, fraction?: number) => void;

/**
 * A layer's patterns, made head by head, from its resid_pre ([pos, d_model]), or undefined when
 * this model's attention is not computed that way (the prompt is then decoded again).
 */
export type PatternsFromStates = (layer: number, residPre: Tensor, progress?: Progress) => Promise<HeadPatterns | undefined>;

/** How the model saw each token: surprisal of the token given the ones before, entropy and rank. */
export interface TokenSurprise {
  /** -ln p(token | previous tokens), in nats; undefined for the first token */
  readonly surprisal: number | undefined;
  /** entropy (nats) of the model's next-token distribution before this token */
  readonly entropy: number | undefined;
  /** 1 = the model's top guess */
  readonly rank: number | undefined;
}

export interface InspectionSummary {
  readonly id: number;
  readonly tokens: readonly TokenSpan[];
  readonly truncated: boolean;
  readonly totalTokens: number;
  readonly nLayers: number;
  readonly nHeads: number;
  readonly modelName: string;
  /** the model's next-token guess after the last token */
  readonly nextToken: { readonly id: number; readonly text: string; readonly probability: number } | undefined;
  /** per token, from the logits of the same decode */
  readonly surprise: readonly TokenSurprise[];
  readonly millis: number;
}

export class Inspection {
  /** hook -> captured tensor; patterns of at most MAX_PATTERN_LAYERS layers */
  private readonly store = new Map<HookName, HeldTensor>();
  /** layer -> its patterns made head by head from its queries and keys (counted with the captured patterns) */
  private readonly heads = new Map<number, HeadPatterns>();
  /** layer -> when its patterns came (a counter), for dropping the oldest first */
  private readonly added = new Map<number, number>();
  private clock = 0;
  lastUsed = 0;

  constructor(
    readonly summary: InspectionSummary,
    /** token ids, BOS included */
    readonly ids: readonly number[],
    /** [d_vocab] logits after the last token */
    readonly lastLogits: Float32Array,
  ) {}

  get bytes(): number {
    let b = this.lastLogits.byteLength;
    for (const t of this.store.values()) b += heldBytes(t);
    for (const a of this.heads.values()) b += a.bytes;
    return b;
  }

  missing(hooks: readonly HookName[]): HookName[] {
    const cache = this.cache;
    return hooks.filter((h) => !cache.has(h) && !this.heads.has(patternLayer(h) ?? -1));
  }

  add(captured: ActivationCache, hooks: readonly HookName[]): void {
    for (const h of hooks) {
      if (!captured.has(h)) continue;
      this.store.set(h, captured.held(h));
      const l = patternLayer(h);
      if (l !== undefined) this.added.set(l, ++this.clock);
    }
  }

  /** Keep a layer's patterns made head by head from what the inspection holds. */
  setHeads(layer: number, heads: HeadPatterns): void {
    this.heads.set(layer, heads);
    this.added.set(layer, ++this.clock);
  }

  /** Drop patterns of layers other than `keep` (captured or made head by head), oldest first, down to `max` layers. */
  trimPatterns(keep: readonly HookName[], max: number): void {
    const keptLayers = new Set(keep.map(patternLayer));
    const captured = [...this.store.keys()].map(patternLayer).filter((l): l is number => l !== undefined);
    const layers = [...new Set([...captured, ...this.heads.keys()])].sort((a, b) => this.added.get(a)! - this.added.get(b)!).filter((l) => !keptLayers.has(l));
    while (layers.length > Math.max(0, max - keep.length)) {
      const l = layers.shift()!;
      this.store.delete(`blocks.${l}.attn.hook_pattern`);
      this.heads.delete(l);
    }
  }

  /** A read-only view of what was captured, as the analyses take it. */
  get cache(): ActivationCache {
    return new ActivationCache(this.ids, this.store, undefined, this.heads);
  }
}

const DEFAULT_BYTES = 2 * 1024 ** 3;
const MAX_PATTERN_LAYERS = 2;

export class InspectionStore {
  private readonly byId = new Map<number, Inspection>();
  private nextId = 1;
  private clock = 0;

  constructor(
    private readonly session: () => Promise<ModelSession>,
    /** bytes all inspections may hold together */
    private readonly budget = DEFAULT_BYTES,
    private readonly patternsFromStates?: PatternsFromStates,
  ) {}

  /** Tokenize and decode `text` once, capturing `hooks` and the logits (kept as per-token numbers and the last row). */
  async inspect(text: string, o: { hooks?: readonly HookName[]; overflow?: 'error' | 'truncate'; signal?: { cancelled: boolean } } = {}): Promise<Inspection> {
    const s = await this.session();
    const t0 = performance.now();
    const tok = s.tokenize(text, { overflow: o.overflow });
    const ids = tok.tokens.map((t) => t.id);
    const hooks = o.hooks ?? [];
    const V = s.info.nVocab;
    // the logits reduced as each micro-batch arrives: per-token numbers and the last row, never [pos, d_vocab]
    const surprise: TokenSurprise[] = [NO_SURPRISE];
    let last = new Float32Array(0); // [d_vocab]
    const logitRows = (start: number, rows: Float32Array): void => {
      for (let i = 0; i < rows.length / V; i++) {
        const row = rows.subarray(i * V, (i + 1) * V);
        if (start + i + 1 < ids.length) surprise.push(surpriseOf(row, ids[start + i + 1]!));
        else last = row.slice();
      }
    };
    const cache = s.run(ids, { hooks: [...hooks], logitRows, signal: o.signal });
    const best = argmax(last);
    const summary: InspectionSummary = {
      id: this.nextId++,
      tokens: tok.tokens,
      truncated: tok.truncated,
      totalTokens: tok.totalTokens,
      nLayers: s.info.nLayers,
      nHeads: s.info.nHeads,
      modelName: s.info.name,
      nextToken: { id: best, text: s.tokenizer.tokenText(best), probability: softmaxAt(last, best) },
      surprise,
      millis: performance.now() - t0,
    };
    const insp = new Inspection(summary, ids, last);
    insp.add(cache, hooks);
    this.touch(insp);
    this.byId.set(summary.id, insp);
    this.evict(insp);
    return insp;
  }

  get(id: number): Inspection {
    const i = this.byId.get(id);
    if (!i) throw new InnerWorldError('bad-argument', 'That inspection is no longer held by the engine; inspect the selection again.');
    this.touch(i);
    return i;
  }

  /** The inspection with `hooks` captured: what is missing is captured by one more decode. */
  async withHooks(id: number, hooks: readonly HookName[], progress?: Progress): Promise<Inspection> {
    const insp = this.get(id);
    let missing = insp.missing(hooks);
    if (missing.length) insp.trimPatterns(hooks.filter((h) => h.endsWith('attn.hook_pattern')), MAX_PATTERN_LAYERS);
    if (missing.length && this.patternsFromStates) {
      for (const h of missing) {
        const layer = patternLayer(h);
        const source = layer === undefined ? undefined : residPreSource(layer);
        if (layer === undefined || !source || !insp.cache.has(source)) continue;
        const heads = await this.patternsFromStates(layer, insp.cache.get(source), progress);
        if (heads) insp.setHeads(layer, heads);
      }
      missing = insp.missing(hooks);
    }
    if (missing.length) {
      progress?.(`Capturing ${describe(missing)}`);
      const s = await this.session();
      insp.add(s.run(insp.ids, { hooks: missing }), missing);
    }
    this.evict(insp);
    return insp;
  }

  forget(id: number): void {
    this.byId.delete(id);
  }

  clear(): void {
    this.byId.clear();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Bytes held by every inspection together. */
  get bytes(): number {
    let b = 0;
    for (const i of this.byId.values()) b += i.bytes;
    return b;
  }

  private touch(i: Inspection): void {
    i.lastUsed = ++this.clock;
  }

  /** Least recently used inspections go until the rest fit the budget; `keep` always stays. */
  private evict(keep: Inspection): void {
    const others = [...this.byId.values()].filter((i) => i !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    let total = this.bytes;
    for (const i of others) {
      if (total <= this.budget) break;
      total -= i.bytes;
      this.byId.delete(i.summary.id);
    }
  }
}

/** The layer of an attention-pattern hook, or undefined for another hook. */
function patternLayer(hook: HookName): number | undefined {
  const m = /^blocks\.(\d+)\.attn\.hook_pattern$/.exec(hook);
  return m ? Number(m[1]) : undefined;
}

/** Hooks a capture needs, in words for a progress line. */
function describe(hooks: readonly HookName[]): string {
  const patterns = hooks.filter((h) => h.endsWith('attn.hook_pattern')).map((h) => h.split('.')[1]);
  const rest = hooks.length - patterns.length;
  return [patterns.length ? `attention patterns of layer ${patterns.join(', ')}` : '', rest ? `${rest} state tensors` : ''].filter(Boolean).join(' and ');
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}

function softmaxAt(v: Float32Array, i: number): number {
  const m = v[argmax(v)]!;
  let z = 0;
  for (let j = 0; j < v.length; j++) z += Math.exp(v[j]! - m);
  return Math.exp(v[i]! - m) / z;
}

const NO_SURPRISE: TokenSurprise = { surprisal: undefined, entropy: undefined, rank: undefined };

/** How the model saw token `next`: -ln p(next | the tokens before) from the logits row ([d_vocab]) before it, that row's entropy, next's rank. */
export function surpriseOf(row: Float32Array, next: number): TokenSurprise {
  const V = row.length;
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (row[j]! > m) m = row[j]!;
  let z = 0;
  for (let j = 0; j < V; j++) z += Math.exp(row[j]! - m);
  const logZ = m + Math.log(z);
  let entropy = 0;
  for (let j = 0; j < V; j++) {
    const lp = row[j]! - logZ;
    entropy -= Math.exp(lp) * lp;
  }
  const x = row[next]!;
  let rank = 1;
  for (let j = 0; j < V; j++) if (row[j]! > x) rank++;
  return { surprisal: logZ - x, entropy, rank };
}
