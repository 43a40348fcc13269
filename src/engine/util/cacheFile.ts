// Files the engine writes for itself (the middle dictionary's rows, the demo model): written to a
// temporary name and renamed, so a reader never sees half a file, and checked by SHA-256 when read
// back, so a file damaged later (a full disk, a crash mid-copy, a flipped bit) is rebuilt, not trusted.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

/** Write `bytes` to `file` through a temporary file in the same folder and a rename. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      let done = 0;
      while (done < bytes.byteLength) done += fs.writeSync(fd, bytes, done);
      fs.fsyncSync(fd); // the bytes are on disk before the name points at them
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of a file, read in 4 MiB chunks (the demo model is tens of megabytes). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.byteLength, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The checksum file that vouches for `file`. */
export function checksumPath(file: string): string {
  return `${file}.sha256`;
}

/** Record `file`'s SHA-256 next to it (sha256sum's format), written atomically. */
export function writeChecksum(file: string): void {
  writeFileAtomic(checksumPath(file), Buffer.from(`${sha256File(file)}  ${file.split(/[\\/]/).pop()}\n`));
}

/** Whether `file` exists and matches its recorded checksum (no checksum: not trusted). */
export function checksumMatches(file: string): boolean {
  try {
    const recorded = fs.readFileSync(checksumPath(file), 'utf8').split(/\s/)[0];
    return recorded !== undefined && /^[0-9a-f]{64}$/.test(recorded) && recorded === sha256File(file);
  } catch {
    return false;
  }
}

/** What identifies a model file for a cache: its resolved path, size and modification time. */
export interface ModelIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

export function modelIdentity(file: string): ModelIdentity {
  const st = fs.statSync(file);
  return { path: fs.realpathSync(file), size: st.size, mtimeMs: st.mtimeMs };
}

export function sameIdentity(a: ModelIdentity | undefined, b: ModelIdentity): boolean {
  return a !== undefined && a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
