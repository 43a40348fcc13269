// What a CLI command may need, opened lazily and released once: the model file (weight views need
// nothing else), a tokenizer (vocabulary only), a llama.cpp session (prompt analyses), the ggml
// compute device and engines.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InnerWorldError } from '../engine/errors';
import { LlamaModelFile } from '../engine/gguf/llamaModel';
import { getBackend, type GpuPreference } from '../engine/llama/backend';
import { ModelSession } from '../engine/llama/session';
import { openTokenizer, type Tokenizer } from '../engine/llama/tokens';
import { ComputeDevice } from '../engine/compute/device';
import { GgmlEngine } from '../engine/compute/engine';
import { GgmlReducer } from '../engine/compute/reducer';
import type { ProjectionEngine } from '../engine/analysis/engine';
import { ReferenceEngine } from '../engine/analysis/reference/projection';

export interface GlobalOptions {
  gpu: GpuPreference;
  threads: number | undefined;
  /** products in the dictionaries' stored types instead of Q8_0 on a CPU */
  exact: boolean;
  /** the plain JavaScript engine (slow; for checking) */
  reference: boolean;
  cacheDir: string;
}

export function defaultCacheDir(): string {
  return process.env['INNER_WORLD_CACHE'] ?? path.join(os.homedir(), '.cache', 'llm-inner-world');
}

export class CliContext {
  private fileHandle: LlamaModelFile | undefined;
  private tok: { tokenizer: Tokenizer; dispose(): void } | undefined;
  private sess: ModelSession | undefined;
  private device: ComputeDevice | undefined;
  private fast: GgmlEngine | undefined;
  private reducerHandle: GgmlReducer | undefined;

  constructor(
    readonly modelPath: string,
    readonly opts: GlobalOptions,
  ) {
    if (!fs.existsSync(modelPath)) throw new InnerWorldError('model-load-failed', `Model file not found: ${modelPath}`);
    if (!fs.statSync(modelPath).isFile()) throw new InnerWorldError('model-load-failed', `Not a file: ${modelPath}`);
  }

  file(): LlamaModelFile {
    return (this.fileHandle ??= this.sess?.file ?? LlamaModelFile.open(this.modelPath));
  }

  async session(): Promise<ModelSession> {
    if (!this.sess) {
      this.sess = await ModelSession.open(this.modelPath, { gpu: this.opts.gpu, threads: this.opts.threads });
      if (this.fileHandle && this.fileHandle !== this.sess.file) this.fileHandle.close();
      this.fileHandle = this.sess.file;
    }
    return this.sess;
  }

  async tokenizer(): Promise<Tokenizer> {
    if (this.sess) return this.sess.tokenizer;
    this.file(); // a bad file fails with the model's own error, before llama.cpp sees it
    await getBackend(this.opts.gpu);
    return (this.tok ??= await openTokenizer(this.modelPath)).tokenizer;
  }

  async computeDevice(): Promise<ComputeDevice> {
    return (this.device ??= ComputeDevice.open((await getBackend(this.opts.gpu)).native, { gpu: this.opts.gpu !== 'cpu', threads: this.opts.threads }));
  }

  async engine(): Promise<ProjectionEngine> {
    if (this.opts.reference) return new ReferenceEngine();
    return (this.fast ??= new GgmlEngine(await this.computeDevice(), { computeType: this.opts.exact ? 'stored' : 'auto' }));
  }

  async reducer(): Promise<GgmlReducer> {
    return (this.reducerHandle ??= new GgmlReducer(await this.computeDevice()));
  }

  /** Vocabulary text of a token ("▁like"). */
  tokenText(id: number): string {
    return this.file().tokens[id] ?? `<${id}>`;
  }

  /**
   * A word given on the command line as one token: "#1234" (an id), a vocabulary entry spelled
   * with SentencePiece's marker or as a control token ("▁play", "<s>"), or text that tokenizes to
   * one token ("play" is "▁play", the word; "red" is never the word-piece "red").
   */
  async resolveWord(word: string): Promise<{ token: number; text: string }> {
    const vocab = this.file().tokens;
    const byId = /^#(\d+)$/.exec(word);
    if (byId) {
      const id = Number(byId[1]);
      if (id >= vocab.length) throw new InnerWorldError('bad-argument', `token id ${id} is outside the vocabulary (0..${vocab.length - 1})`);
      return { token: id, text: vocab[id]! };
    }
    if (word.includes('▁') || /^<.*>$/.test(word)) {
      const exact = vocab.indexOf(word);
      if (exact >= 0) return { token: exact, text: word };
    }
    const ids = (await this.tokenizer()).ids(word, false);
    if (ids.length !== 1) {
      throw new InnerWorldError('bad-argument', `"${word}" is ${ids.length} tokens (${ids.map((i) => vocab[i]).join(' ')}), not one: pick a single-token word, a vocabulary entry, or #id`);
    }
    return { token: ids[0]!, text: vocab[ids[0]!]! };
  }

  dispose(): void {
    this.fast?.dispose();
    this.reducerHandle?.dispose();
    this.device?.dispose();
    this.tok?.dispose();
    if (this.sess) this.sess.dispose();
    else this.fileHandle?.close();
  }
}
