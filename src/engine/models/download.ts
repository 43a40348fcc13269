// Downloading a GGUF model with node-llama-cpp's own downloader (createModelDownloader, ipull
// underneath): a URL or a Hugging Face reference, progress, cancel, and resume. The temporary file
// (<name>.ipull) is kept when a download is cancelled or broken, so the next try continues where
// it stopped with a Range request instead of starting over. No 'vscode' here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InnerWorldError } from '../errors';
import { modelMemory, type ModelShape } from './memoryFit';

export interface DownloadProgress {
  readonly downloadedBytes: number;
  readonly totalBytes: number;
}

export interface DownloadOptions {
  /** a URL, or a Hugging Face reference: "user/repo/file.gguf", "hf:user/repo/file.gguf", a huggingface.co link */
  readonly reference: string;
  /** where the file goes (node-llama-cpp's models folder by default: see nodeLlamaCppModelsDir) */
  readonly dirPath: string;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** where "hf:" references resolve (default https://huggingface.co/; the tests use a local server) */
  readonly huggingFaceEndpoint?: string;
  /** connections that break are resumed this many times before giving up (default 5) */
  readonly resumeAttempts?: number;
}

/** The modelUri node-llama-cpp's downloader takes for what the user typed. */
export function modelUri(reference: string): string {
  const r = reference.trim();
  if (r === '') throw new InnerWorldError('bad-argument', 'No model given: type a URL or a Hugging Face reference such as Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf.');
  const hfLink = /^https?:\/\/(?:www\.)?huggingface\.co\/([^/]+)\/([^/]+)\/(?:blob|resolve)\/([^/]+)\/(.+?\.gguf)(?:\?.*)?$/i.exec(r);
  if (hfLink) return `hf:${hfLink[1]}/${hfLink[2]}/${hfLink[4]}${hfLink[3] === 'main' ? '' : `#${hfLink[3]}`}`;
  if (/^https?:\/\//i.test(r)) return r;
  const hf = /^(?:hf:)?([\w.-]+)\/([\w.-]+)\/(.+\.gguf)$/i.exec(r);
  if (hf) return `hf:${hf[1]}/${hf[2]}/${hf[3]}`;
  throw new InnerWorldError('bad-argument', `"${r.slice(0, 200)}" is neither a URL nor a Hugging Face reference: type https://… or user/repo/file.gguf.`);
}

/**
 * Downloads the model into dirPath and returns the file's path. A broken connection is resumed
 * from the bytes already on disk; a file already complete is not downloaded again. Cancelling
 * (the signal) keeps the partial file for a later resume and throws 'cancelled'.
 */
export async function downloadModel(opts: DownloadOptions): Promise<string> {
  const uri = modelUri(opts.reference);
  const { createModelDownloader } = (await import('node-llama-cpp')) as typeof import('node-llama-cpp');
  fs.mkdirSync(opts.dirPath, { recursive: true });
  const attempts = Math.max(1, opts.resumeAttempts ?? 5);
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (opts.signal?.aborted) throw cancelled();
    let downloader;
    try {
      downloader = await createModelDownloader({
        modelUri: uri,
        dirPath: opts.dirPath,
        showCliProgress: false,
        // the partial file is what a resume continues from
        deleteTempFileOnCancel: false,
        // ipull keeps its progress (and so can resume) only when it does not skip existing files;
        // a complete file is recognized below instead
        skipExisting: false,
        endpoints: opts.huggingFaceEndpoint ? { huggingFace: opts.huggingFaceEndpoint } : undefined,
        onProgress: (s) => opts.onProgress?.({ downloadedBytes: s.downloadedSize, totalBytes: s.totalSize }),
      });
    } catch (e) {
      // resolving the reference failed (no such file, no network): nothing to resume
      if (opts.signal?.aborted) throw cancelled();
      throw new InnerWorldError('download-failed', `The download could not start: ${reason(e)}. Check the reference (${uri}) and the network.`);
    }
    try {
      const done = downloader.entrypointFilePath;
      if (downloader.totalFiles === 1 && fs.existsSync(done) && fs.statSync(done).size === downloader.totalSize) {
        checkGguf(done);
        return done;
      }
      // the signal is handled here, not passed down: the downloader's own abort path deletes the
      // partial file, and that file is what a later resume continues from
      let closing: Promise<unknown> | undefined;
      const onAbort = (): void => void (closing = downloader.cancel({ deleteTempFile: false }).catch(() => undefined));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      let file: string;
      try {
        file = await downloader.download();
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
      if (opts.signal?.aborted) {
        // the partial file is written out while the downloader closes
        await closing;
        throw cancelled();
      }
      checkGguf(file);
      return file;
    } catch (e) {
      if (opts.signal?.aborted) {
        await downloader.cancel({ deleteTempFile: false }).catch(() => undefined);
        throw cancelled();
      }
      if (e instanceof InnerWorldError) throw e;
      lastError = e;
      await downloader.cancel({ deleteTempFile: false }).catch(() => undefined);
    }
  }
  throw new InnerWorldError('download-failed', `The download broke off ${attempts} times (${reason(lastError)}). Try again later: it continues from what is already downloaded.`);
}

function checkGguf(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    if (magic.toString('latin1') !== 'GGUF') {
      fs.rmSync(file, { force: true }); // nothing worth keeping
      throw new InnerWorldError('download-failed', `The downloaded file is not a GGUF model (it starts with ${JSON.stringify(magic.toString('latin1'))}): ${path.basename(file)}. Check that the link points to a .gguf file.`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function cancelled(): InnerWorldError {
  return new InnerWorldError('cancelled', 'Download cancelled; what was downloaded is kept, and the next download of this model continues from there.');
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A well-known small model to offer in the Download list. */
export interface KnownModel {
  readonly label: string;
  readonly reference: string;
  /** file size as the Hugging Face listing gives it, bytes (approximate) */
  readonly bytes: number;
  /** what the memory check works from (the model's config) */
  readonly shape: ModelShape;
}

const GB = 1e9;

/**
 * Small instruction-tuned models that run on any laptop, in the Q4_K_M quantization. Sizes are the
 * Hub's listing (rounded); the memory needed is computed as the load check computes it.
 */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    label: 'Qwen 2.5 0.5B Instruct (Q4_K_M)',
    reference: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf',
    bytes: 0.49 * GB,
    shape: { nLayers: 24, nKvHeads: 2, dHead: 64, nCtxTrain: 32768 },
  },
  {
    label: 'TinyLlama 1.1B Chat v1.0 (Q4_K_M)',
    reference: 'TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF/tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf',
    bytes: 0.67 * GB,
    shape: { nLayers: 22, nKvHeads: 4, dHead: 64, nCtxTrain: 2048 },
  },
  {
    label: 'Llama 3.2 1B Instruct (Q4_K_M)',
    reference: 'bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    bytes: 0.81 * GB,
    shape: { nLayers: 16, nKvHeads: 8, dHead: 64, nCtxTrain: 131072 },
  },
  {
    label: 'Qwen 2.5 1.5B Instruct (Q4_K_M)',
    reference: 'Qwen/Qwen2.5-1.5B-Instruct-GGUF/qwen2.5-1.5b-instruct-q4_k_m.gguf',
    bytes: 1.12 * GB,
    shape: { nLayers: 28, nKvHeads: 2, dHead: 128, nCtxTrain: 32768 },
  },
];

/** The memory a known model needs once loaded (weights + KV cache + compute), bytes. */
export function knownModelMemory(m: KnownModel): number {
  return modelMemory({ weightBytes: m.bytes, shape: m.shape }).total;
}
