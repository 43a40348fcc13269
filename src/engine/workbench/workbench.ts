// The resources of one open model, shared by the CLI and the engine process: the GGUF file (weight
// views need nothing else), a tokenizer, a llama.cpp session (prompt views), the ggml compute device
// and engines, the middle dictionary, and the inspections made with it. Each is opened on first use
// and released once. Policies that must not drift between the CLI and the extension live here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HeadPatterns, Tensor } from '../activations';
import type { ProjectionEngine } from '../analysis/engine';
import { dictionaryByName, type Dictionary, type DictionaryName } from '../analysis/dictionary';
import { MiddleDictionary, type MiddleRecipe } from '../analysis/middle';
import { ReferenceEngine } from '../analysis/reference/projection';
import { referenceReducer } from '../analysis/reference/reducer';
import type { TensorReducer } from '../analysis/weightStats';
import { WeightStatsCache } from '../analysis/weightStatsCache';
import { directPatternsUnsupported, layerAttention } from '../compute/attentionPatterns';
import { ComputeDevice } from '../compute/device';
import { GgmlEngine } from '../compute/engine';
import { GgmlReducer } from '../compute/reducer';
import { InnerWorldError, modelFileMissing } from '../errors';
import { LlamaModelFile } from '../gguf/llamaModel';
import { getBackend, type GpuPreference } from '../llama/backend';
import { ModelSession, type SessionOptions } from '../llama/session';
import { openTokenizer, type Tokenizer } from '../llama/tokens';
import { InspectionStore, type Progress } from './inspections';

export interface WorkbenchOptions {
  gpu?: GpuPreference;
  threads?: number;
  /** dictionary products in their stored types; otherwise large ones use a Q8_0 copy on a CPU */
  exact?: boolean;
  /** the plain JavaScript engine (slow; for checking) */
  reference?: boolean;
  /** where the middle dictionary is cached */
  cacheDir?: string;
  session?: Omit<SessionOptions, 'gpu' | 'threads'>;
  /** bytes of captured activations the inspections may hold together */
  inspectionBytes?: number;
  /**
   * compute a layer's attention patterns from the inspection's states where the model allows
   * (default true); false decodes the prompt again with the pattern captured, as llama.cpp sees it
   */
  patternsFromStates?: boolean;
}

/**
 * Dictionaries up to this many elements are always multiplied exactly: it costs nothing, and a
 * Q8_0 copy of a small model's dictionary shifts its scores visibly (0.9584 where exact is 0.9580).
 */
export const SMALL_DICTIONARY_ELEMENTS = 1 << 26;

export class Workbench {
  private fileHandle: LlamaModelFile | undefined;
  private tok: { tokenizer: Tokenizer; dispose(): void } | undefined;
  private sess: ModelSession | undefined;
  private opening: Promise<ModelSession> | undefined;
  private device: ComputeDevice | undefined;
  private fast: GgmlEngine | undefined;
  private reducerHandle: GgmlReducer | undefined;
  private middleDict: MiddleDictionary | undefined;
  private weightStatsStore: WeightStatsCache | undefined;
  readonly inspections: InspectionStore;

  constructor(
    readonly modelPath: string,
    readonly opts: WorkbenchOptions = {},
  ) {
    if (!fs.existsSync(modelPath)) throw new InnerWorldError('model-load-failed', modelFileMissing(modelPath));
    if (!fs.statSync(modelPath).isFile()) throw new InnerWorldError('model-load-failed', `Not a file: ${modelPath}`);
    this.inspections = new InspectionStore(() => this.session(), opts.inspectionBytes, opts.patternsFromStates === false ? undefined : (layer, resid, progress) => this.patternsFromStates(layer, resid, progress));
  }

  /** A layer's patterns from its resid_pre (compute/attentionPatterns.ts), or undefined where the model's attention is not computed that way. */
  private async patternsFromStates(layer: number, residPre: Tensor, progress?: Progress): Promise<HeadPatterns | undefined> {
    const model = this.file();
    if (directPatternsUnsupported(model) !== undefined) return undefined;
    progress?.(`Computing the attention patterns of layer ${layer}`);
    return layerAttention(model, await this.computeDevice(), layer, residPre);
  }

  file(): LlamaModelFile {
    return (this.fileHandle ??= this.sess?.file ?? LlamaModelFile.open(this.modelPath));
  }

  /** The llama.cpp session, loaded on first use. */
  session(): Promise<ModelSession> {
    if (this.sess) return Promise.resolve(this.sess);
    this.opening ??= ModelSession.open(this.modelPath, { ...this.opts.session, gpu: this.opts.gpu, threads: this.opts.threads }).then((s) => {
      if (this.fileHandle && this.fileHandle !== s.file) this.fileHandle.close();
      this.fileHandle = s.file;
      this.sess = s;
      return s;
    }).finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** The session when it is loaded, without loading it. */
  get loadedSession(): ModelSession | undefined {
    return this.sess;
  }

  async tokenizer(): Promise<Tokenizer> {
    if (this.sess) return this.sess.tokenizer;
    this.file(); // a bad file fails with the model's own error, before llama.cpp sees it
    await getBackend(this.opts.gpu);
    return (this.tok ??= await openTokenizer(this.modelPath)).tokenizer;
  }

  async computeDevice(): Promise<ComputeDevice> {
    if (!this.device) {
      const gpu = this.sess ? this.sess.info.gpuLayers > 0 : this.opts.gpu !== 'cpu';
      this.device = ComputeDevice.open((await getBackend(this.opts.gpu)).native, { gpu, threads: this.opts.threads });
    }
    return this.device;
  }

  /** The projection engine, with the one precision policy: exact when asked or when the dictionaries are small. */
  async engine(): Promise<ProjectionEngine> {
    if (this.opts.reference) return new ReferenceEngine();
    if (!this.fast) {
      const hp = this.file().hparams;
      const exact = this.opts.exact === true || hp.nVocab * hp.dModel <= SMALL_DICTIONARY_ELEMENTS;
      // converted dictionary copies are cached next to the middle dictionary
      const copyCacheDir = this.opts.cacheDir === undefined ? undefined : path.join(this.opts.cacheDir, 'dictionaries');
      this.fast = new GgmlEngine(await this.computeDevice(), { computeType: exact ? 'stored' : 'auto', copyCacheDir });
    }
    return this.fast;
  }

  /**
   * The weight statistics kept on disk for this model file, so that reopening it shows them at
   * once. None without a cache folder, nor for the plain reference path (it is there to check).
   */
  weightStatsCache(): WeightStatsCache | undefined {
    if (this.opts.cacheDir === undefined || this.opts.reference) return undefined;
    return (this.weightStatsStore ??= new WeightStatsCache(path.join(this.opts.cacheDir, 'weight-stats'), this.modelPath));
  }

  async reducer(): Promise<TensorReducer> {
    if (this.opts.reference) return referenceReducer;
    return (this.reducerHandle ??= new GgmlReducer(await this.computeDevice()));
  }

  /**
   * A dictionary by name. The middle dictionary is built on first use (minutes for a large
   * model; cached on disk) and grows rows for `extraTokens` (a prompt's words) on demand.
   */
  async dictionary(name: DictionaryName, o: { extraTokens?: readonly number[]; recipe?: Partial<MiddleRecipe>; progress?: Progress } = {}): Promise<Dictionary> {
    if (name !== 'middle') return dictionaryByName(this.file(), name);
    const session = await this.session();
    const onProgress = (done: number, total: number): void => o.progress?.(`Building the middle dictionary: ${done} of ${total} words`, done / total);
    const recipe = o.recipe ?? {};
    const same = this.middleDict && (recipe.layer ?? this.middleDict.recipe.layer) === this.middleDict.recipe.layer && (recipe.words ?? this.middleDict.recipe.words) === this.middleDict.recipe.words;
    if (!same) {
      o.progress?.('Building the middle dictionary (first use for this model; cached afterwards)');
      const cacheDir = this.opts.cacheDir === undefined ? undefined : path.join(this.opts.cacheDir, 'middle');
      this.middleDict = MiddleDictionary.open(session, { ...recipe, cacheDir, extraTokens: o.extraTokens, onProgress });
    } else {
      this.middleDict!.ensureTokens(o.extraTokens ?? [], { onProgress });
    }
    return this.middleDict!.dictionary();
  }

  /** The middle dictionary object itself (its key, recipe and word list), building it if needed. */
  async middle(recipe: Partial<MiddleRecipe> = {}, progress?: Progress): Promise<MiddleDictionary> {
    await this.dictionary('middle', { recipe, progress });
    return this.middleDict!;
  }

  /** Vocabulary text of a token ("▁like"). */
  tokenText(id: number): string {
    return this.file().tokens[id] ?? `<${id}>`;
  }

  /**
   * A word given by a person as one token: "#1234" (an id), a vocabulary entry spelled with
   * SentencePiece's or byte-level BPE's space marker or as a control token ("▁play", "Ġplay",
   * "<s>"), or text that tokenizes to one token, read as a word: "play" is "▁play" in SentencePiece
   * and "Ġplay" in byte-level BPE (Llama 3, Qwen: their tokenizer adds no space of its own), never
   * the word-piece "play"; punctuation (",") and text that is one token only without the space are
   * that token.
   */
  async resolveWord(word: string): Promise<{ token: number; text: string }> {
    const vocab = this.file().tokens;
    const byId = /^#(\d+)$/.exec(word);
    if (byId) {
      const id = Number(byId[1]);
      if (id >= vocab.length) throw new InnerWorldError('bad-argument', `token id ${id} is outside the vocabulary (0..${vocab.length - 1})`);
      return { token: id, text: vocab[id]! };
    }
    if (word.includes('▁') || word.includes('Ġ') || /^<.*>$/.test(word)) {
      const exact = vocab.indexOf(word);
      if (exact >= 0) return { token: exact, text: word };
    }
    const tokenizer = await this.tokenizer();
    // byte-level BPE spells a word after a space "Ġword", and tokenizing "word" alone gives the
    // word-piece: a word (it starts with a letter or digit) is asked for as " word" first;
    // punctuation stays as typed ("," not "Ġ,")
    if (this.file().file.get('tokenizer.ggml.model') === 'gpt2' && /^[\p{L}\p{N}]/u.test(word)) {
      const spaced = tokenizer.ids(` ${word}`, false);
      if (spaced.length === 1) return { token: spaced[0]!, text: vocab[spaced[0]!]! };
    }
    const ids = tokenizer.ids(word, false);
    if (ids.length !== 1) {
      throw new InnerWorldError('bad-argument', `"${word}" is ${ids.length} tokens (${ids.map((i) => vocab[i]).join(' ')}), not one: pick a single-token word, a vocabulary entry, or #id`);
    }
    return { token: ids[0]!, text: vocab[ids[0]!]! };
  }

  /** The layer index checked against the model (weight views: blocks 0..n_layers-1). */
  checkLayer(layer: number | undefined): void {
    const n = this.file().hparams.nLayers;
    if (layer !== undefined && (layer < 0 || layer >= n)) throw new InnerWorldError('bad-argument', `layer ${layer} is outside 0..${n - 1}`);
  }

  dispose(): void {
    this.inspections.clear();
    this.middleDict = undefined;
    this.fast?.dispose();
    this.reducerHandle?.dispose?.();
    this.device?.dispose();
    this.tok?.dispose();
    if (this.sess) this.sess.dispose();
    else this.fileHandle?.close();
    this.fast = undefined;
    this.reducerHandle = undefined;
    this.device = undefined;
    this.tok = undefined;
    this.sess = undefined;
    this.fileHandle = undefined;
  }
}
