import * as fs from 'node:fs';
import { bytesFor, typeName } from './ggmlTypes';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader';
import { GgufValueType, scalarSize, type GgufArray, type GgufValue } from './values';

export interface TensorToWrite {
  readonly name: string;
  /** ggml order: dims[0] is the row length */
  readonly dims: readonly number[];
  readonly type: number;
  /** the encoded bytes, or a producer called once when the tensor's turn comes (streams big models) */
  readonly data: Uint8Array | (() => Uint8Array);
}

export interface GgufContents {
  readonly version?: 2 | 3;
  readonly metadata: Iterable<readonly [string, GgufValue]>;
  readonly tensors: readonly TensorToWrite[];
}

/** Writes a GGUF file tensor by tensor, so a multi-gigabyte model never sits in memory whole. */
export function writeGguf(path: string, contents: GgufContents): void {
  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined = fs.openSync(tmp, 'w');
  try {
    emit(contents, (chunk) => {
      let done = 0;
      while (done < chunk.byteLength) done += fs.writeSync(fd!, chunk, done);
    });
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, path); // readers never see a half-written model
  } catch (e) {
    // closing twice would throw EBADF and hide the error that matters
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** The whole file in memory (small test files). */
export function encodeGguf(contents: GgufContents): Uint8Array {
  const parts: Uint8Array[] = [];
  emit(contents, (c) => parts.push(new Uint8Array(c)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out; // a plain Uint8Array, not a Buffer: its slice() must copy, as Uint8Array's does
}

function emit(contents: GgufContents, write: (chunk: Uint8Array) => void): void {
  const metadata = [...contents.metadata];
  const alignEntry = metadata.find(([k]) => k === 'general.alignment');
  const alignment = alignEntry ? (alignEntry[1].value as number) : GGUF_DEFAULT_ALIGNMENT;
  // never write what the reader (and llama.cpp) would refuse
  if (alignEntry && (alignEntry[1].type !== GgufValueType.UINT32 || !(alignment > 0) || (alignment & (alignment - 1)) !== 0)) {
    throw new Error(`general.alignment must be a power-of-two u32, got ${String(alignEntry[1].value)}`);
  }

  const h = new HeaderBuilder();
  h.u32(GGUF_MAGIC);
  h.u32(contents.version ?? 3);
  h.u64(BigInt(contents.tensors.length));
  h.u64(BigInt(metadata.length));
  for (const [key, value] of metadata) {
    h.string(key);
    h.u32(value.type);
    h.value(value);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of contents.tensors) {
    const nElements = t.dims.reduce((a, b) => a * b, 1);
    const nBytes = bytesFor(t.type, nElements);
    sizes.push(nBytes);
    h.string(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(BigInt(d));
    h.u32(t.type);
    h.u64(BigInt(offset));
    offset += padTo(nBytes, alignment);
  }
  const header = h.finish();
  write(header);
  write(new Uint8Array(padTo(header.byteLength, alignment) - header.byteLength));

  contents.tensors.forEach((t, i) => {
    const data = typeof t.data === 'function' ? t.data() : t.data;
    if (data.byteLength !== sizes[i]) {
      throw new Error(`tensor ${t.name}: ${typeName(t.type)} [${t.dims.join(', ')}] needs ${sizes[i]} bytes, got ${data.byteLength}`);
    }
    write(data);
    write(new Uint8Array(padTo(data.byteLength, alignment) - data.byteLength));
  });
}

function padTo(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

type TypedArrayClass = abstract new (...args: never[]) => ArrayBufferView;
/** Typed arrays whose bytes are exactly the GGUF encoding of an array of that element type. */
const RAW_ARRAY: Partial<Record<number, readonly TypedArrayClass[]>> = {
  [GgufValueType.UINT8]: [Uint8Array, Int8Array, Uint8ClampedArray],
  [GgufValueType.INT8]: [Int8Array, Uint8Array],
  [GgufValueType.UINT16]: [Uint16Array, Int16Array],
  [GgufValueType.INT16]: [Int16Array, Uint16Array],
  [GgufValueType.UINT32]: [Uint32Array, Int32Array],
  [GgufValueType.INT32]: [Int32Array, Uint32Array],
  [GgufValueType.FLOAT32]: [Float32Array],
  [GgufValueType.FLOAT64]: [Float64Array],
  [GgufValueType.UINT64]: [BigUint64Array, BigInt64Array],
  [GgufValueType.INT64]: [BigInt64Array, BigUint64Array],
};

class HeaderBuilder {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly encoder = new TextEncoder();

  private room(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    let size = this.buf.byteLength * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }
  raw(bytes: Uint8Array): void {
    this.room(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }
  string(s: string): void {
    const b = this.encoder.encode(s);
    this.u64(BigInt(b.byteLength));
    this.raw(b);
  }

  scalar(t: number, v: number | bigint | boolean | string): void {
    const size = scalarSize(t);
    this.room(size);
    const p = this.pos;
    switch (t) {
      case GgufValueType.UINT8: this.view.setUint8(p, v as number); break;
      case GgufValueType.INT8: this.view.setInt8(p, v as number); break;
      case GgufValueType.UINT16: this.view.setUint16(p, v as number, true); break;
      case GgufValueType.INT16: this.view.setInt16(p, v as number, true); break;
      case GgufValueType.UINT32: this.view.setUint32(p, v as number, true); break;
      case GgufValueType.INT32: this.view.setInt32(p, v as number, true); break;
      case GgufValueType.FLOAT32: this.view.setFloat32(p, v as number, true); break;
      case GgufValueType.FLOAT64: this.view.setFloat64(p, v as number, true); break;
      case GgufValueType.UINT64: this.view.setBigUint64(p, v as bigint, true); break;
      case GgufValueType.INT64: this.view.setBigInt64(p, v as bigint, true); break;
      case GgufValueType.BOOL: this.view.setUint8(p, v ? 1 : 0); break;
      case GgufValueType.STRING: this.string(v as string); return;
      default: throw new Error(`cannot write scalar of type ${t}`);
    }
    this.pos += size;
  }

  value(v: GgufValue): void {
    if (v.type === GgufValueType.ARRAY) this.array(v);
    else this.scalar(v.type, v.value);
  }

  array(a: GgufArray): void {
    this.u32(a.elementType);
    const items = a.value;
    this.u64(BigInt(items.length));
    if (a.elementType === GgufValueType.ARRAY) {
      for (const inner of items as GgufArray[]) this.array(inner);
    } else if (ArrayBuffer.isView(items) && RAW_ARRAY[a.elementType]?.some((C) => items instanceof C)) {
      // typed arrays are already little-endian on every platform we run on; only a typed array of
      // the element type's own layout is copied raw (a Float64Array for FLOAT32 goes value by value)
      this.raw(new Uint8Array(items.buffer, items.byteOffset, items.byteLength));
    } else {
      for (const x of Array.from(items as ArrayLike<number | bigint | boolean | string>)) this.scalar(a.elementType, x);
    }
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
