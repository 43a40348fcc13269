// The activation cache: what one instrumented decode captured, named by hook, nothing more.
import { residPreSource, stateHook, patternHook, type HookName } from './hookNames';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A layer's attention patterns one head at a time, made on request from what is held (the layer's
 * queries and keys) instead of holding [head, query_pos, key_pos] for every head at once.
 */
export interface HeadPatterns {
  readonly nHeads: number;
  readonly nPos: number;
  /** [query_pos, key_pos] of head h */
  head(h: number): Float32Array;
  /** [key_pos]: row q of head h's pattern */
  row(h: number, q: number): Float32Array;
  readonly bytes: number;
}

export class MissingHookError extends Error {
  override readonly name = 'MissingHookError';
}

export class ActivationCache {
  constructor(
    /** token ids of the prompt, BOS included when it was added */
    readonly tokens: readonly number[],
    private readonly store: ReadonlyMap<HookName, Tensor>,
    /** [pos, d_vocab], when logits were asked for */
    readonly logits: Tensor | undefined,
    /** layers whose patterns are made head by head on request */
    private readonly heads: ReadonlyMap<number, HeadPatterns> = new Map(),
  ) {}

  /** A layer's patterns made head by head, when they are held that way. */
  patternHeads(layer: number): HeadPatterns | undefined {
    return this.heads.get(layer);
  }

  get nPos(): number {
    return this.tokens.length;
  }

  names(): HookName[] {
    return [...this.store.keys()];
  }

  has(name: HookName): boolean {
    return this.store.has(name) || (isResidPre(name) && this.store.has(residPreSource(layerOf(name))));
  }

  get(name: HookName): Tensor {
    const t = this.store.get(name) ?? (isResidPre(name) ? this.store.get(residPreSource(layerOf(name))) : undefined);
    if (!t) throw new MissingHookError(`${name} was not captured (captured: ${this.names().join(', ') || 'nothing'})`);
    return t;
  }

  /** Row `pos` of a [pos, d] hook, as a view (no copy). */
  row(name: HookName, pos: number): Float32Array {
    const t = this.get(name);
    const d = t.shape[1]!;
    if (pos < 0 || pos >= t.shape[0]!) throw new RangeError(`position ${pos} is outside 0..${t.shape[0]! - 1}`);
    return t.data.subarray(pos * d, (pos + 1) * d);
  }

  /** The article's state vector h[l][pos]: l = 0 the embedding, l >= 1 the output of block l-1. */
  state(l: number, pos: number): Float32Array {
    return this.row(stateHook(l), pos);
  }

  /** [head, query_pos, key_pos] attention pattern of a layer. */
  pattern(layer: number): Tensor {
    return this.get(patternHook(layer));
  }

  logitsAt(pos: number): Float32Array {
    if (!this.logits) throw new MissingHookError('logits were not asked for');
    const v = this.logits.shape[1]!;
    return this.logits.data.subarray(pos * v, (pos + 1) * v);
  }
}

function isResidPre(name: string): boolean {
  return /^blocks\.\d+\.hook_resid_pre$/.test(name);
}
function layerOf(name: string): number {
  return Number(/^blocks\.(\d+)\./.exec(name)![1]);
}
