// Dictionary copies in a compute type other than the stored one (a Q8_0 copy of a Q4_K or Q6_K
// dictionary) are built once per model file and kept on disk next to the middle dictionary: one
// file per (model identity, tensor, type) holding the rows' L2 norms then the converted rows,
// written atomically with a SHA-256 beside it. A later session's first lens reads the file instead
// of converting 32000 to 128256 rows again; a damaged or foreign file is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checksumPath, sha256, writeFileAtomic } from '../util/cacheFile';
import type { Dictionary } from '../analysis/dictionary';

const FORMAT_VERSION = 2; // 2: the norms first
/** bytes read (and uploaded) at a time from a cached copy */
const CHUNK = 8 << 20;

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

  /**
   * Stream the cached file (the norms, then the rows in the compute type) to `sink` in blocks, hashing
   * as it goes; true when it was present, of the expected size and matched its checksum. On false the
   * caller must not trust what the sink received (it converts again and overwrites it).
   */
  readInto(file: string, expectedBytes: number, sink: (chunk: Uint8Array, offset: number) => void): boolean {
    let fd: number | undefined;
    try {
      const recorded = fs.readFileSync(checksumPath(file), 'utf8').split(/\s/)[0];
      if (!recorded || !/^[0-9a-f]{64}$/.test(recorded)) return false;
      fd = fs.openSync(file, 'r');
      if (fs.fstatSync(fd).size !== expectedBytes) return false;
      const hash = createHash('sha256');
      const buf = new Uint8Array(Math.min(CHUNK, expectedBytes));
      for (let offset = 0; offset < expectedBytes; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.byteLength, expectedBytes - offset), offset);
        if (n === 0) return false;
        const chunk = buf.subarray(0, n);
        hash.update(chunk);
        sink(chunk, offset);
        offset += n;
      }
      return hash.digest('hex') === recorded;
    } catch {
      return false;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
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
