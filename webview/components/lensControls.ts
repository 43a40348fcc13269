// The lens's controls, shared by the views that read states through a dictionary: which
// dictionary, which value (the article's amplitude, cosine, the logit lens) and the layer stride.
// The logit lens reads the output dictionary by definition: the dictionary control says so.
import type { Runtime } from '../boot';
import { numberInput, select } from './dom';

export type Dict = 'input' | 'output' | 'middle';
export type Norm = 'article' | 'cosine' | 'logit-lens';

export interface LensControls {
  readonly roots: HTMLElement[];
  dictionary(): Dict;
  normalization(): Norm;
  stride(): number;
  /** show the dictionary the lens reads now (fixed to output under the logit lens) */
  sync(nLayers?: number): void;
}

export function lensControls(rt: Runtime, defaults: { dictionary: Dict; normalization: Norm }, onChange: (c: Record<string, string | number>) => void): LensControls {
  const dict = select<Dict>('dictionary', 'Dictionary', [
    { value: 'input', label: 'Input dictionary' },
    { value: 'output', label: 'Output dictionary' },
    { value: 'middle', label: 'Middle dictionary' },
  ], rt.control<Dict>('dictionary', defaults.dictionary), (v) => onChange({ dictionary: v }));
  const norm = select<Norm>('normalization', 'Value', [
    { value: 'article', label: 'Amplitude (state normalized)' },
    { value: 'cosine', label: 'Cosine (both normalized)' },
    { value: 'logit-lens', label: 'Logit lens (probability)' },
  ], rt.control<Norm>('normalization', defaults.normalization), (v) => onChange({ normalization: v }));
  const stride = numberInput('stride', 'Every k-th layer', rt.control('stride', 1), { min: 1, max: 64 }, (v) => onChange({ stride: v }));
  const c: LensControls = {
    roots: [dict.root, norm.root, stride.root],
    dictionary: () => rt.control<Dict>('dictionary', defaults.dictionary),
    normalization: () => rt.control<Norm>('normalization', defaults.normalization),
    stride: () => rt.control('stride', 1),
    sync(nLayers) {
      const logitLens = c.normalization() === 'logit-lens';
      dict.enable(!logitLens);
      dict.set(logitLens ? 'output' : c.dictionary());
      if (nLayers !== undefined) stride.setMax(Math.max(1, nLayers));
    },
  };
  return c;
}
