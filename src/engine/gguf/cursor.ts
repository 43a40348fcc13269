import { GgufError } from './errors';
import type { ByteSource } from './source';

const WINDOW = 1 << 20; // header reads go through a 1 MiB window: few syscalls, bounded memory

/**
 * Sequential little-endian reader over a ByteSource, used for the GGUF header. Every read is
 * checked against the file size first, so truncation is reported with the field being read.
 */
export class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  pos = 0;
  // ignoreBOM: keep a leading U+FEFF; by default TextDecoder strips it, and Llama-2's vocabulary has
  // a token that is exactly U+FEFF (id 30143), which would read as the empty string
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(readonly src: ByteSource) {}

  get remaining(): number {
    return this.src.size - this.pos;
  }

  /** Ensure `n` bytes at pos are in the window; returns the offset into the window. */
  private need(n: number, field: string): number {
    if (n > this.remaining) {
      throw new GgufError('truncated', field, this.pos, `file ends after ${this.remaining} of ${n} bytes needed`, this.src.name);
    }
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.byteLength) return rel;
    const len = Math.min(Math.max(n, WINDOW), this.src.size - this.pos);
    this.buf = this.src.read(this.pos, len);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.bufStart = this.pos;
    return 0;
  }

  u8(field: string): number {
    const r = this.need(1, field);
    this.pos += 1;
    return this.view.getUint8(r);
  }
  i8(field: string): number {
    const r = this.need(1, field);
    this.pos += 1;
    return this.view.getInt8(r);
  }
  u16(field: string): number {
    const r = this.need(2, field);
    this.pos += 2;
    return this.view.getUint16(r, true);
  }
  i16(field: string): number {
    const r = this.need(2, field);
    this.pos += 2;
    return this.view.getInt16(r, true);
  }
  u32(field: string): number {
    const r = this.need(4, field);
    this.pos += 4;
    return this.view.getUint32(r, true);
  }
  i32(field: string): number {
    const r = this.need(4, field);
    this.pos += 4;
    return this.view.getInt32(r, true);
  }
  f32(field: string): number {
    const r = this.need(4, field);
    this.pos += 4;
    return this.view.getFloat32(r, true);
  }
  f64(field: string): number {
    const r = this.need(8, field);
    this.pos += 8;
    return this.view.getFloat64(r, true);
  }
  u64(field: string): bigint {
    const r = this.need(8, field);
    this.pos += 8;
    return this.view.getBigUint64(r, true);
  }
  i64(field: string): bigint {
    const r = this.need(8, field);
    this.pos += 8;
    return this.view.getBigInt64(r, true);
  }

  /** A u64 count that must fit a JS number and must not claim more than `maxCount` items. */
  count(field: string, maxCount: number): number {
    const at = this.pos;
    const n = this.u64(field);
    if (n > BigInt(maxCount)) {
      throw new GgufError('absurd-count', field, at, `count ${n} cannot fit in the ${this.src.size - at} bytes left in the file`, this.src.name);
    }
    return Number(n);
  }

  bytes(n: number, field: string): Uint8Array {
    const r = this.need(n, field);
    this.pos += n;
    return this.buf.subarray(r, r + n);
  }

  string(field: string): string {
    const len = this.count(`${field} (string length)`, this.remaining - 8);
    if (len > WINDOW * 64) {
      throw new GgufError('absurd-count', field, this.pos - 8, `string of ${len} bytes is not plausible metadata`, this.src.name);
    }
    return this.decoder.decode(this.bytes(len, field));
  }
}
