// What the engine process does, as a plain class: usable in-process by tests and the CLI, and
// behind the process boundary by the extension (engineProcess.ts).
import * as path from 'node:path';
import type { ActivationCache } from '../activations';
import { dictionaryByName, type Dictionary } from '../analysis/dictionary';
import { lens } from '../analysis/lens';
import { MiddleDictionary } from '../analysis/middle';
import { ComputeDevice } from '../compute/device';
import { GgmlEngine } from '../compute/engine';
import { InnerWorldError } from '../errors';
import { stateHook } from '../hookNames';
import { getBackend } from '../llama/backend';
import { ModelSession, type ModelInfo } from '../llama/session';
import type { DictionaryKind, InspectionSummary, InspectParams, LensParams, LensResult, OpenParams } from './protocol';

export interface Progress {
  (message: string, fraction?: number): void;
}

interface Inspection {
  readonly summary: InspectionSummary;
  readonly cache: ActivationCache;
}

const KEEP_INSPECTIONS = 8;
const SMALL_DICTIONARY = 1 << 26; // elements

export class EngineService {
  private session: ModelSession | undefined;
  private opening: Promise<ModelInfo> | undefined;
  /** ggml next to the model: dictionaries uploaded once, projections and top-k there */
  private compute: { device: ComputeDevice; engine: GgmlEngine } | undefined;
  private middle: MiddleDictionary | undefined;
  private cacheDir = '';
  private exactProjections = false;
  private readonly inspections = new Map<number, Inspection>();
  private nextId = 1;

  get info(): ModelInfo | undefined {
    return this.session?.info;
  }

  async open(p: OpenParams, progress: Progress = () => {}): Promise<ModelInfo> {
    this.release();
    const run = async (): Promise<ModelInfo> => {
      const path = p.modelPath || (await this.demoModel(p.cacheDir, progress));
      progress(`Loading ${path.split(/[\\/]/).pop()}`);
      this.session = await ModelSession.open(path, p.options);
      this.cacheDir = p.cacheDir;
      this.exactProjections = p.exactProjections ?? false;
      return this.session.info;
    };
    this.opening = run();
    try {
      return await this.opening;
    } finally {
      this.opening = undefined;
    }
  }

  release(): null {
    this.inspections.clear();
    this.middle = undefined;
    this.compute?.engine.dispose();
    this.compute?.device.dispose();
    this.compute = undefined;
    this.session?.dispose();
    this.session = undefined;
    return null;
  }

  inspect(p: InspectParams): InspectionSummary {
    const s = this.requireSession();
    const t0 = performance.now();
    const tok = s.tokenize(p.text, { overflow: p.overflow });
    const ids = tok.tokens.map((t) => t.id);
    const nLayers = s.info.nLayers;
    // the states the lenses read (h[0..n_layers]); attention patterns are captured when a view asks
    const hooks = Array.from({ length: nLayers + 1 }, (_, l) => stateHook(l));
    const cache = s.run(ids, { hooks, logits: true });
    const last = cache.logitsAt(ids.length - 1);
    const summary: InspectionSummary = {
      id: this.nextId++,
      tokens: tok.tokens,
      truncated: tok.truncated,
      totalTokens: tok.totalTokens,
      nLayers,
      modelName: s.info.name,
      nextToken: argmaxSoftmax(last, (id) => s.tokenizer.tokenText(id)),
      millis: performance.now() - t0,
    };
    this.inspections.set(summary.id, { summary, cache });
    while (this.inspections.size > KEEP_INSPECTIONS) this.inspections.delete(this.inspections.keys().next().value!);
    return summary;
  }

  async lens(p: LensParams, progress: Progress = () => {}): Promise<LensResult> {
    const s = this.requireSession();
    const insp = this.inspections.get(p.inspectionId);
    if (!insp) throw new InnerWorldError('bad-argument', 'That inspection is no longer held by the engine; inspect the selection again.');
    if (p.pos < 0 || p.pos >= insp.summary.tokens.length) throw new InnerWorldError('bad-argument', `position ${p.pos} is outside the inspected tokens`);
    const normalization = p.normalization ?? 'article';
    // the logit lens reads through the output dictionary by definition
    const dictionary: DictionaryKind = normalization === 'logit-lens' ? 'output' : p.dictionary;
    const dict = this.dictionary(s, dictionary, insp.cache.tokens, progress);
    const r = lens((await this.computeEngine()).engine, dict, insp.cache, {
      positions: [p.pos],
      nLayers: s.info.nLayers,
      layers: p.layers,
      k: p.topK ?? 5,
      normalization,
      lnFinal: normalization === 'logit-lens' ? s.file.full(s.file.lnFinal) : undefined,
      rmsEps: s.file.hparams.rmsEps,
      finalSoftcap: s.file.arch.finalSoftcap,
      tokenText: (id) => s.tokenizer.tokenText(id),
    });
    return {
      inspectionId: insp.summary.id,
      pos: p.pos,
      dictionary,
      normalization,
      layers: r.positions[0]!.layers.map((l) => ({ layer: l.layer, words: l.words.map((w) => ({ id: w.token, text: w.text, value: w.value })) })),
      noiseFloor: normalization === 'logit-lens' ? undefined : r.noiseFloor,
      valueLabel: r.valueLabel,
    };
  }

  private dictionary(s: ModelSession, name: DictionaryKind, promptTokens: readonly number[], progress: Progress): Dictionary {
    if (name !== 'middle') return dictionaryByName(s.file, name);
    const onProgress = (done: number, total: number): void => progress(`Building the middle dictionary: ${done} of ${total} words`, done / total);
    if (!this.middle) {
      progress('Building the middle dictionary (first use for this model; cached afterwards)');
      this.middle = MiddleDictionary.open(s, { cacheDir: path.join(this.cacheDir, 'middle'), extraTokens: promptTokens, onProgress });
    } else {
      this.middle.ensureTokens(promptTokens, { onProgress });
    }
    return this.middle.dictionary();
  }

  private async computeEngine(): Promise<{ device: ComputeDevice; engine: GgmlEngine }> {
    if (!this.compute) {
      const s = this.requireSession();
      const device = ComputeDevice.open((await getBackend()).native, { gpu: s.info.gpuLayers > 0 });
      // small dictionaries (the demo's) cost nothing to multiply exactly
      const small = s.info.nVocab * s.info.dModel <= SMALL_DICTIONARY;
      this.compute = { device, engine: new GgmlEngine(device, { computeType: this.exactProjections || small ? 'stored' : 'auto' }) };
    }
    return this.compute;
  }

  forget(id: number): null {
    this.inspections.delete(id);
    return null;
  }

  private requireSession(): ModelSession {
    if (!this.session) throw new InnerWorldError('no-model', 'No model is loaded. Run "Inner World: Load Model..." first.');
    return this.session;
  }

  private async demoModel(cacheDir: string, progress: Progress): Promise<string> {
    progress('Building the demo model (first run only)');
    const { ensureDemoModel } = await import('../demo/builder');
    return ensureDemoModel(cacheDir);
  }
}

function argmaxSoftmax(logits: Float32Array, text: (id: number) => string): InspectionSummary['nextToken'] {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i]! - logits[best]!);
  return { id: best, text: text(best), probability: 1 / z };
}
