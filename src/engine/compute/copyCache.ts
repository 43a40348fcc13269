// Dictionary copies in a compute type other than the stored one (a Q8_0 copy of a Q4_K or Q6_K
// dictionary) are built once per model file and kept on disk next to the middle dictionary: one
// file per (model identity, tensor, type) holding the converted rows then the rows' L2 norms,
// written atomically with a SHA-256 beside it. A later session's first lens reads the file instead
// of converting 32000 to 128256 rows again; a damaged or foreign file is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checksumPath, sha256, writeFileAtomic } from '../util/cacheFile';
import type { Dictionary } from '../analysis/dictionary';

const FORMAT_VERSION = 1;

export class CopyCache {
  constructor(readonly dir: string) {}

  /** The cache file of `dict` in `type`, or undefined for dictionaries not read from a model file. */
  fileFor(dict: Dictionary, type: number): string | undefined {
    const s = dict.source;
    if (s.kind !== 'tensor') return undefined;
    let identity: { path: string; size: number; mtimeMs: number };
    try {
      const st = fs.statSync(s.file.file.path);
      identity = { path: fs.realpathSync(s.file.file.path), size: st.size, mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
    const key = createHash('sha256')
      .update(JSON.stringify({ v: FORMAT_VERSION, identity, tensor: s.tensor.name, stored: s.tensor.type, type, rows: dict.nRows, d: dict.dModel }))
      .digest('hex')
      .slice(0, 24);
    return path.join(this.dir, `${dict.name}-${key}.bin`);
  }

  /** The cached bytes (rows in the compute type, then the norms) when present, whole and vouched for. */
  read(file: string, expectedBytes: number): Uint8Array | undefined {
    try {
      const recorded = fs.readFileSync(checksumPath(file), 'utf8').split(/\s/)[0];
      if (!recorded || !/^[0-9a-f]{64}$/.test(recorded)) return undefined;
      if (fs.statSync(file).size !== expectedBytes) return undefined;
      const bytes = new Uint8Array(fs.readFileSync(file));
      return sha256(bytes) === recorded ? bytes : undefined;
    } catch {
      return undefined;
    }
  }

  /** Keep `bytes` for a later session; a cache that cannot be written only costs that session the conversion. */
  write(file: string, bytes: Uint8Array): boolean {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      writeFileAtomic(file, bytes);
      // the checksum last: a file without one is not trusted
      writeFileAtomic(checksumPath(file), Buffer.from(`${sha256(bytes)}  ${path.basename(file)}\n`));
      return true;
    } catch {
      return false;
    }
  }
}
