import * as fs from 'node:fs';

/**
 * Random access to the bytes of a GGUF file. Reads are by offset, so a 7 GB model is never
 * held in memory whole; `BufferSource` serves tests and in-memory files.
 */
export interface ByteSource {
  readonly size: number;
  readonly name: string;
  /** Exactly `length` bytes at `offset` (the caller has bounds-checked against `size`). */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number | undefined;

  constructor(readonly name: string) {
    this.fd = fs.openSync(name, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** the open file's descriptor (undefined once closed): a mapping of it sees exactly the file read here, even if the path was replaced since */
  get descriptor(): number | undefined {
    return this.fd;
  }

  read(offset: number, length: number): Uint8Array {
    if (this.fd === undefined) throw new Error(`${this.name} is closed`);
    // not allocUnsafe: small reads would be slices of Node's shared pool, and a caller that views
    // `.buffer` as floats (or keeps it) would see or pin unrelated bytes
    const out = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, length - done, offset + done);
      if (n === 0) throw new Error(`${this.name}: unexpected end of file at ${offset + done}`);
      done += n;
    }
    return new Uint8Array(out.buffer, out.byteOffset, length); // plain Uint8Array: slice() copies
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export class BufferSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = '<memory>',
  ) {
    this.size = bytes.byteLength;
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
  close(): void {}
}
