// The weight statistics of a model file, kept on disk across sessions: streaming every matrix of a
// 7B file takes tens of seconds, and the numbers depend on the file alone. One JSON file per model,
// named by a hash of the model's identity (resolved path, size, modification time), holding each
// matrix's three numbers by tensor name and a SHA-256 of them; written atomically (util/cacheFile).
// A file that fails to parse, belongs to another identity or version, or fails its checksum is
// ignored and rewritten: a damaged cache costs one recomputation, never a wrong number.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { modelIdentity, sameIdentity, sha256, writeFileAtomic, type ModelIdentity } from '../util/cacheFile';

const FORMAT_VERSION = 1;

/** One matrix's statistics (WeightStatsEntry without what the tensor name says). */
export interface CachedMatrixStats {
  alongModel: number;
  across: number;
  whole: number;
}

interface CacheFileContent {
  version: number;
  model: ModelIdentity;
  /** the reducer that computed the numbers */
  reducer: string;
  /** SHA-256 of JSON.stringify(entries) */
  entriesSha256: string;
  entries: Record<string, CachedMatrixStats>;
}

/** NaN (a matrix of zeros) is not JSON: stored as null and read back as NaN. */
const toJson = (v: number): number | null => (Number.isFinite(v) ? v : null);
const fromJson = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export class WeightStatsCache {
  private entries = new Map<string, CachedMatrixStats>();
  private reducerLabel = '';
  /** true when entries were read from the disk */
  readonly loaded: boolean;
  private readonly identity: ModelIdentity;

  /** The cache of `modelPath` in `dir`: loaded when a valid file is there, empty otherwise. */
  constructor(
    readonly dir: string,
    modelPath: string,
  ) {
    this.identity = modelIdentity(modelPath);
    const key = createHash('sha256').update(JSON.stringify({ v: FORMAT_VERSION, ...this.identity })).digest('hex').slice(0, 20);
    this.file = path.join(dir, `weight-stats-${key}.json`);
    this.loaded = this.read();
  }

  readonly file: string;

  get(tensor: string): CachedMatrixStats | undefined {
    return this.entries.get(tensor);
  }

  get size(): number {
    return this.entries.size;
  }

  get reducer(): string {
    return this.reducerLabel;
  }

  set(tensor: string, stats: CachedMatrixStats, reducer: string): void {
    this.entries.set(tensor, stats);
    this.reducerLabel = reducer;
  }

  /** Writes every entry (atomically: a reader sees the old file or the new one). */
  save(): void {
    const entries: Record<string, { alongModel: number | null; across: number | null; whole: number | null }> = {};
    for (const [k, v] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) entries[k] = { alongModel: toJson(v.alongModel), across: toJson(v.across), whole: toJson(v.whole) };
    const body = JSON.stringify(entries);
    const content = { version: FORMAT_VERSION, model: this.identity, reducer: this.reducerLabel, entriesSha256: sha256(Buffer.from(body)), entries };
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.file, Buffer.from(JSON.stringify(content)));
  }

  private read(): boolean {
    try {
      const c = JSON.parse(fs.readFileSync(this.file, 'utf8')) as CacheFileContent;
      if (c.version !== FORMAT_VERSION || !sameIdentity(c.model, this.identity) || typeof c.entries !== 'object' || c.entries === null) return false;
      if (sha256(Buffer.from(JSON.stringify(c.entries))) !== c.entriesSha256) return false;
      for (const [k, v] of Object.entries(c.entries)) this.entries.set(k, { alongModel: fromJson(v.alongModel), across: fromJson(v.across), whole: fromJson(v.whole) });
      this.reducerLabel = typeof c.reducer === 'string' ? c.reducer : '';
      return true;
    } catch {
      return false; // absent, unreadable or not JSON: computed again and rewritten
    }
  }
}
