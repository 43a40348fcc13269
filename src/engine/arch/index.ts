// Every architecture the analyses know, by `general.architecture`.
import { gemma2, gemma3 } from './gemma';
import { llama } from './llama';
import { phi3 } from './phi3';
import { qwen2, qwen3, qwen3moe } from './qwen';
import type { ArchTable } from './types';

export type { ArchTable, FusedPart, HookDef, HookLayout, MatrixRole, MoeRecipe, NormRole, TensorRef } from './types';

export const ARCH_TABLES: ReadonlyMap<string, ArchTable> = new Map([llama, qwen2, qwen3, qwen3moe, gemma2, gemma3, phi3].map((t) => [t.arch, t]));

export function isSupportedArch(arch: string): boolean {
  return ARCH_TABLES.has(arch);
}

/** The table of a supported architecture (llama when none is named). */
export function archTable(arch = 'llama'): ArchTable {
  const t = ARCH_TABLES.get(arch);
  if (!t) throw new RangeError(`no architecture table for "${arch}"`);
  return t;
}

/** "Llama, Qwen2, Qwen3, Qwen3-MoE, Gemma 2, Gemma 3, Phi-3": for messages. */
export function supportedArchLabels(): string {
  return [...ARCH_TABLES.values()].map((t) => t.label).join(', ');
}
