// Whether a model fits before llama.cpp is asked to load it: the mapped weights (the tensors' bytes
// as the GGUF header lists them), the KV cache for the context the extension will use (K and V,
// one row of n_kv_heads * d_head per layer and token, in the cache's type), and a reserve for
// llama.cpp's compute buffers and the dictionaries' working copies; against free RAM and, with a
// GPU backend, free GPU memory. What does not fit is refused with this arithmetic in the message,
// or (a GPU too small but RAM enough) placed partly on the GPU when the user agrees.

export interface ModelShape {
  readonly nLayers: number;
  readonly nKvHeads: number;
  readonly dHead: number;
  readonly nCtxTrain: number;
}

export interface MemoryNeed {
  /** mapped tensor data, bytes */
  readonly weights: number;
  /** K and V for `context` tokens, bytes */
  readonly kvCache: number;
  readonly compute: number;
  readonly total: number;
  /** tokens the KV cache holds */
  readonly context: number;
}

/** the extension's default context: the model's training context, at most this (see ModelSession) */
export const DEFAULT_MAX_CONTEXT = 4096;
/** llama.cpp's compute buffers for 512-token micro-batches and the dictionaries' working copies */
export const COMPUTE_RESERVE = 512 * 2 ** 20;

export function modelMemory(p: { weightBytes: number; shape: ModelShape; context?: number; kvBytesPerValue?: number }): MemoryNeed {
  const context = Math.min(p.context ?? DEFAULT_MAX_CONTEXT, p.shape.nCtxTrain);
  const kvCache = 2 * p.shape.nLayers * context * p.shape.nKvHeads * p.shape.dHead * (p.kvBytesPerValue ?? 4);
  const compute = COMPUTE_RESERVE;
  return { weights: p.weightBytes, kvCache, compute, total: p.weightBytes + kvCache + compute, context };
}

/** The bytes of tensor data a GGUF header lists (what llama.cpp maps). */
export function weightBytes(tensors: readonly { nBytes: number }[]): number {
  return tensors.reduce((n, t) => n + t.nBytes, 0);
}

export type FitPlan =
  | { readonly kind: 'fits'; readonly gpuLayers: number }
  /** fits only with `gpuLayers` of the layers on the GPU and the rest on the CPU: ask first */
  | { readonly kind: 'partial'; readonly gpuLayers: number; readonly message: string }
  | { readonly kind: 'refused'; readonly message: string };

export interface FitInput {
  readonly name: string;
  readonly need: MemoryNeed;
  readonly nLayers: number;
  /** bytes of RAM free now (os.freemem(): MemAvailable on Linux) */
  readonly freeRam: number;
  /** free GPU memory when a GPU backend is in use */
  readonly gpu?: { readonly free: number; readonly label: string };
}

/**
 * Where the model goes. With a GPU: all of it when weights, cache and reserve fit there; else as
 * many layers as fit (the output layer counts as one more), the rest in RAM, which must then hold
 * them. Without one: all of it in RAM.
 */
export function planFit(f: FitInput): FitPlan {
  const { need } = f;
  const slots = f.nLayers + 1; // the repeating layers and the output layer, as llama.cpp's n_gpu_layers counts
  if (f.gpu) {
    if (need.total <= f.gpu.free) return { kind: 'fits', gpuLayers: slots };
    const perSlot = (need.weights + need.kvCache) / slots;
    const onGpu = Math.max(0, Math.min(slots - 1, Math.floor((f.gpu.free - need.compute) / perSlot)));
    const inRam = (slots - onGpu) * perSlot + need.compute;
    if (inRam <= f.freeRam) {
      const placed = onGpu > 0 ? `${onGpu} of its ${slots} layers on the GPU and the rest (${gib(inRam)}) in RAM` : `entirely in RAM (${gib(inRam)}), on the CPU`;
      return {
        kind: 'partial',
        gpuLayers: onGpu,
        message: `${f.name} does not fit in GPU memory: it needs ${breakdown(need)}, and ${f.gpu.label} has ${gib(f.gpu.free)} free. It can run with ${placed}, which is slower.`,
      };
    }
    return { kind: 'refused', message: `Not enough memory for ${f.name}: it needs ${breakdown(need)}; ${gib(f.gpu.free)} of GPU memory and ${gib(f.freeRam)} of RAM are free. Close other programs or choose a smaller quantization.` };
  }
  if (need.total <= f.freeRam) return { kind: 'fits', gpuLayers: 0 };
  return { kind: 'refused', message: `Not enough memory for ${f.name}: it needs ${breakdown(need)}, but only ${gib(f.freeRam)} of RAM is free. Close other programs or choose a smaller quantization.` };
}

export function breakdown(n: MemoryNeed): string {
  return `${gib(n.total)} (weights ${gib(n.weights)} + KV cache ${gib(n.kvCache)} for ${n.context} tokens + ${gib(n.compute)} for computing)`;
}

export function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1)} GiB`;
}
