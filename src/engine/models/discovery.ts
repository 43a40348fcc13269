// The GGUF models already on this machine, found where the common runners keep them: Ollama's
// store (manifests name content-addressed blobs), LM Studio's models folder, the Hugging Face hub
// cache (snapshots are symlinks into blobs), node-llama-cpp's models folder, and the extension's
// own list of recent models. Home folder and environment are parameters, so the tests lay out a
// fixture home. Every walk has a fixed depth, a cap on entries and a deadline: a huge or slow disk
// makes the list shorter, never the quick pick late. Unreadable or non-GGUF entries are skipped.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export type ModelSource = 'recent' | 'ollama' | 'lmstudio' | 'huggingface' | 'node-llama-cpp';

export const SOURCE_LABELS: Record<ModelSource, string> = {
  recent: 'Recent',
  ollama: 'Ollama',
  lmstudio: 'LM Studio',
  huggingface: 'Hugging Face cache',
  'node-llama-cpp': 'node-llama-cpp models folder',
};

export interface FoundModel {
  /** what the user knows the model by: "qwen2.5:0.5b", "TheBloke/TinyLlama.../file.gguf" */
  readonly name: string;
  readonly source: ModelSource;
  /** the GGUF file itself (for Ollama, the blob) */
  readonly path: string;
  /** bytes on disk (all parts of a split model) */
  readonly bytes: number;
}

export interface DiscoveryOptions {
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** paths the extension loaded before, newest first */
  readonly recent?: readonly string[];
  /** also look at system-wide stores (Ollama's Linux service keeps its models in /usr/share/ollama) */
  readonly systemStores?: boolean;
  /** give up on further folders after this long (default 1500 ms) */
  readonly budgetMs?: number;
}

/** entries read from one folder at most, files checked at most */
const MAX_DIR_ENTRIES = 2000;
const MAX_FILES = 400;
const SPLIT_PART = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Every model found, recent ones first, then by source and name; a path appears once. */
export async function discoverModels(opts: DiscoveryOptions): Promise<FoundModel[]> {
  const walk = new Walk(Date.now() + (opts.budgetMs ?? 1500));
  const groups = await Promise.all([
    recentModels(walk, opts.recent ?? []),
    ollamaModels(walk, ollamaRoots(opts)),
    lmStudioModels(walk, [path.join(opts.home, '.lmstudio', 'models'), path.join(opts.home, '.cache', 'lm-studio', 'models')]),
    huggingFaceModels(walk, huggingFaceHubs(opts)),
    flatModels(walk, [nodeLlamaCppModelsDir(opts.home)], 'node-llama-cpp'),
  ]);
  // a recent model that sits in a store is called by the store's name ("qwen2.5:0.5b", not its blob)
  const storeNames = new Map<string, string>();
  for (const group of groups.slice(1)) for (const m of group) if (!storeNames.has(await walk.realpath(m.path))) storeNames.set(await walk.realpath(m.path), m.name);
  const seen = new Set<string>();
  const out: FoundModel[] = [];
  for (const [i, group] of groups.entries()) {
    // recent keeps its order (newest first); the stores are sorted by name
    const sorted = i === 0 ? group : [...group].sort((a, b) => a.name.localeCompare(b.name));
    for (const m of sorted) {
      const key = await walk.realpath(m.path);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(i === 0 && storeNames.has(key) ? { ...m, name: storeNames.get(key)! } : m);
    }
  }
  return out;
}

/** node-llama-cpp's own models folder (where its downloader and CLI put models). */
export function nodeLlamaCppModelsDir(home: string): string {
  return path.join(home, '.node-llama-cpp', 'models');
}

function ollamaRoots(opts: DiscoveryOptions): string[] {
  const roots = [opts.env['OLLAMA_MODELS'] || path.join(opts.home, '.ollama', 'models')];
  if (opts.systemStores) roots.push('/usr/share/ollama/.ollama/models');
  return roots;
}

function huggingFaceHubs(opts: DiscoveryOptions): string[] {
  const e = opts.env;
  if (e['HF_HUB_CACHE']) return [e['HF_HUB_CACHE']];
  if (e['HUGGINGFACE_HUB_CACHE']) return [e['HUGGINGFACE_HUB_CACHE']];
  if (e['HF_HOME']) return [path.join(e['HF_HOME'], 'hub')];
  const cache = e['XDG_CACHE_HOME'] || path.join(opts.home, '.cache');
  return [...new Set([path.join(cache, 'huggingface', 'hub'), path.join(opts.home, '.cache', 'huggingface', 'hub')])];
}

async function recentModels(walk: Walk, recent: readonly string[]): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const p of recent) {
    const bytes = await walk.ggufSize(p);
    if (bytes !== undefined) out.push({ name: path.basename(p), source: 'recent', path: p, bytes });
  }
  return out;
}

/**
 * Ollama: manifests/<registry>/<namespace>/<model>/<tag> is JSON; its layer of mediaType
 * application/vnd.ollama.image.model names the GGUF blob by digest ("sha256:<hex>" is stored as
 * blobs/sha256-<hex>). Shown as Ollama names it: "model:tag", "namespace/model:tag" off the library.
 */
async function ollamaModels(walk: Walk, roots: string[]): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const root of roots) {
    const manifests = path.join(root, 'manifests');
    for (const registry of await walk.dirs(manifests)) {
      for (const namespace of await walk.dirs(path.join(manifests, registry))) {
        for (const model of await walk.dirs(path.join(manifests, registry, namespace))) {
          for (const tag of await walk.files(path.join(manifests, registry, namespace, model))) {
            const digest = await ollamaModelDigest(walk, path.join(manifests, registry, namespace, model, tag));
            if (!digest) continue;
            const blob = path.join(root, 'blobs', digest.replace(':', '-'));
            const bytes = await walk.ggufSize(blob);
            if (bytes === undefined) continue;
            const prefix = registry === 'registry.ollama.ai' ? (namespace === 'library' ? '' : `${namespace}/`) : `${registry}/${namespace}/`;
            out.push({ name: `${prefix}${model}:${tag}`, source: 'ollama', path: blob, bytes });
          }
        }
      }
    }
  }
  return out;
}

async function ollamaModelDigest(walk: Walk, manifestPath: string): Promise<string | undefined> {
  const text = await walk.readSmall(manifestPath, 64 * 1024);
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as { layers?: { mediaType?: unknown; digest?: unknown }[] };
    const layer = Array.isArray(m.layers) ? m.layers.find((l) => l?.mediaType === 'application/vnd.ollama.image.model') : undefined;
    const digest = layer?.digest;
    // a digest is a name inside blobs/, never a path
    return typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/i.test(digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}

/** LM Studio: <root>/<publisher>/<repo>/*.gguf, shown as "publisher/repo/file.gguf". */
async function lmStudioModels(walk: Walk, roots: string[]): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const root of roots) {
    for (const publisher of await walk.dirs(root)) {
      for (const repo of await walk.dirs(path.join(root, publisher))) {
        out.push(...(await ggufsIn(walk, path.join(root, publisher, repo), `${publisher}/${repo}/`, 'lmstudio')));
      }
    }
  }
  return out;
}

/** Hugging Face hub cache: models--<user>--<repo>/snapshots/<rev>/[subfolder/]*.gguf (symlinks into blobs/). */
async function huggingFaceModels(walk: Walk, hubs: string[]): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const hub of hubs) {
    for (const entry of await walk.dirs(hub)) {
      if (!entry.startsWith('models--')) continue;
      const repo = entry.slice('models--'.length).split('--').join('/');
      const snapshots = path.join(hub, entry, 'snapshots');
      for (const rev of await walk.dirs(snapshots)) {
        const dir = path.join(snapshots, rev);
        out.push(...(await ggufsIn(walk, dir, `${repo}/`, 'huggingface')));
        // one level of subfolders (repos that keep each quantization in its own folder)
        for (const sub of await walk.dirs(dir)) out.push(...(await ggufsIn(walk, path.join(dir, sub), `${repo}/${sub}/`, 'huggingface')));
      }
    }
  }
  return out;
}

async function flatModels(walk: Walk, roots: string[], source: ModelSource): Promise<FoundModel[]> {
  const out: FoundModel[] = [];
  for (const root of roots) out.push(...(await ggufsIn(walk, root, '', source)));
  return out;
}

/**
 * The models among a folder's *.gguf files: a split model once (its first part, all parts'
 * bytes); vision projectors (mmproj-*) left out, since they are not language models.
 */
async function ggufsIn(walk: Walk, dir: string, namePrefix: string, source: ModelSource): Promise<FoundModel[]> {
  const names = (await walk.files(dir)).filter((n) => n.toLowerCase().endsWith('.gguf') && !n.toLowerCase().startsWith('mmproj'));
  const out: FoundModel[] = [];
  for (const n of names) {
    const split = SPLIT_PART.exec(n);
    if (split && Number(split[1]) !== 1) continue;
    const bytes = await walk.ggufSize(path.join(dir, n));
    if (bytes === undefined) continue;
    let total = bytes;
    if (split) {
      const stem = n.slice(0, split.index);
      for (const other of names) {
        const o = SPLIT_PART.exec(other);
        if (o && other !== n && other.slice(0, o.index) === stem) total += (await walk.size(path.join(dir, other))) ?? 0;
      }
    }
    out.push({ name: `${namePrefix}${n}`, source, path: path.join(dir, n), bytes: total });
  }
  return out;
}

/** Bounded file-system access: a deadline, a cap on entries per folder and on files opened. */
class Walk {
  private filesChecked = 0;
  constructor(private readonly deadline: number) {}

  private get expired(): boolean {
    return Date.now() > this.deadline;
  }

  /** names of sub-folders (symlinks to folders included), or [] when unreadable */
  async dirs(dir: string): Promise<string[]> {
    return this.entries(dir, true);
  }

  /** names of files (symlinks to files included), or [] when unreadable */
  async files(dir: string): Promise<string[]> {
    return this.entries(dir, false);
  }

  private async entries(dir: string, wantDirs: boolean): Promise<string[]> {
    if (this.expired) return [];
    let list;
    try {
      list = (await fsp.readdir(dir, { withFileTypes: true })).slice(0, MAX_DIR_ENTRIES);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const e of list) {
      if (e.name.startsWith('.')) continue;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const st = await fsp.stat(path.join(dir, e.name)).catch(() => undefined);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (wantDirs ? isDir : isFile) out.push(e.name);
    }
    return out.sort();
  }

  async size(p: string): Promise<number | undefined> {
    const st = await fsp.stat(p).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  /** the file's size when it is a readable file that starts with the GGUF magic */
  async ggufSize(p: string): Promise<number | undefined> {
    if (this.expired || this.filesChecked >= MAX_FILES) return undefined;
    this.filesChecked++;
    let fh;
    try {
      fh = await fsp.open(p, 'r');
      const st = await fh.stat();
      if (!st.isFile()) return undefined;
      const magic = Buffer.alloc(4);
      const { bytesRead } = await fh.read(magic, 0, 4, 0);
      return bytesRead === 4 && magic.toString('latin1') === 'GGUF' ? st.size : undefined;
    } catch {
      return undefined;
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  async readSmall(p: string, max: number): Promise<string | undefined> {
    if (this.expired) return undefined;
    try {
      const st = await fsp.stat(p);
      if (!st.isFile() || st.size > max) return undefined;
      return await fsp.readFile(p, 'utf8');
    } catch {
      return undefined;
    }
  }

  async realpath(p: string): Promise<string> {
    return fsp.realpath(p).catch(() => p);
  }
}
