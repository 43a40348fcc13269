// The activation cache: what one instrumented decode captured, named by hook, nothing more.
import { residPreSource, stateHook, patternHook, type HookName } from './hookNames';
import { halvesToFloats } from './util/half';

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A tensor kept as IEEE halves: a long inspection's states (a 4,096-token Llama-2-7B selection
 * holds 2.2 GB of them in float32). Read back as float32, exactly the values the halves hold.
 */
export interface HalfTensor {
  readonly shape: readonly number[];
  readonly half: Uint16Array;
}

/** A captured tensor as it is held: float32, or halves. */
export type HeldTensor = Tensor | HalfTensor;

export function isHalf(t: HeldTensor): t is HalfTensor {
  return 'half' in t;
}

export function heldBytes(t: HeldTensor): number {
  return isHalf(t) ? t.half.byteLength : t.data.byteLength;
}

/** The float32 values of a held tensor (the tensor itself when it is float32, else a decoded copy). */
export function asFloat(t: HeldTensor): Tensor {
  return isHalf(t) ? { shape: t.shape, data: halvesToFloats(t.half) } : t;
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
    private readonly store: ReadonlyMap<HookName, HeldTensor>,
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

  /** A hook's values in float32 (decoded whole when it is held as halves: read rows with `row` instead). */
  get(name: HookName): Tensor {
    return asFloat(this.held(name));
  }

  /** A hook as it is held (float32 or halves), for keeping it elsewhere without a copy. */
  held(name: HookName): HeldTensor {
    const t = this.store.get(name) ?? (isResidPre(name) ? this.store.get(residPreSource(layerOf(name))) : undefined);
    if (!t) throw new MissingHookError(`${name} was not captured (captured: ${this.names().join(', ') || 'nothing'})`);
    return t;
  }

  /** Row `pos` of a [pos, d] hook: a view (no copy) of float32, a decoded copy of halves. */
  row(name: HookName, pos: number): Float32Array {
    const t = this.held(name);
    const d = t.shape[1]!;
    if (pos < 0 || pos >= t.shape[0]!) throw new RangeError(`position ${pos} is outside 0..${t.shape[0]! - 1}`);
    return isHalf(t) ? halvesToFloats(t.half.subarray(pos * d, (pos + 1) * d)) : t.data.subarray(pos * d, (pos + 1) * d);
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
