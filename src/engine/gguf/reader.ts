import { quoteFileText as q } from '../errors';
import { Cursor } from './cursor';
import { GgufError } from './errors';
import { bytesFor, isKnownType, typeName, typeTraits } from './ggmlTypes';
import { FileSource, type ByteSource } from './source';
import {
  GgufValueType,
  isValueType,
  minValueSize,
  plainValue,
  type GgufArray,
  type GgufValue,
} from './values';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_DEFAULT_ALIGNMENT = 32;
const GGML_MAX_DIMS = 4;
const GGML_MAX_NAME = 64; // llama.cpp refuses tensor names of 64 bytes or more
const MAX_ARRAY_DEPTH = 8;

export interface TensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the contiguous (row) length, dims[1] the number of rows, ... */
  readonly dims: readonly number[];
  readonly type: number;
  /** byte offset of the data relative to the data section */
  readonly offset: number;
  readonly nElements: number;
  readonly nBytes: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly TensorInfo[];
  readonly alignment: number;
  /** absolute byte offset of the data section */
  readonly dataOffset: number;
}

/**
 * A GGUF file opened lazily: the header is parsed once; tensor data is read by offset on demand.
 * Every count is bounded by the bytes left in the file before anything is allocated.
 */
export class GgufFile implements GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly TensorInfo[];
  readonly alignment: number;
  readonly dataOffset: number;
  private readonly byName: ReadonlyMap<string, TensorInfo>;

  private constructor(
    readonly source: ByteSource,
    h: GgufHeader,
  ) {
    this.version = h.version;
    this.metadata = h.metadata;
    this.tensors = h.tensors;
    this.alignment = h.alignment;
    this.dataOffset = h.dataOffset;
    this.byName = new Map(h.tensors.map((t) => [t.name, t]));
  }

  static open(path: string): GgufFile {
    const src = new FileSource(path);
    try {
      return GgufFile.fromSource(src);
    } catch (e) {
      src.close();
      throw e;
    }
  }

  static fromSource(src: ByteSource): GgufFile {
    return new GgufFile(src, parseHeader(src));
  }

  get path(): string {
    return this.source.name;
  }
  get fileSize(): number {
    return this.source.size;
  }

  close(): void {
    this.source.close();
  }

  tensor(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  requireTensor(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new GgufError('bad-value', name, 0, `tensor ${name} is missing`, this.source.name);
    return t;
  }

  value(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** A scalar metadata value as a JS value, or undefined when absent. */
  get(key: string): unknown {
    const v = this.metadata.get(key);
    return v === undefined ? undefined : plainValue(v);
  }

  /** Raw bytes of a tensor, or of `length` bytes starting `start` bytes into it. */
  readTensorBytes(t: TensorInfo, start = 0, length = t.nBytes - start): Uint8Array {
    if (start < 0 || length < 0 || start + length > t.nBytes) {
      throw new RangeError(`read of ${length} bytes at ${start} is outside tensor ${t.name} (${t.nBytes} bytes)`);
    }
    return this.source.read(this.dataOffset + t.offset + start, length);
  }

  /** Bytes of rows [row, row + count) of a tensor whose rows are dims[0] long. */
  readRowBytes(t: TensorInfo, row: number, count = 1): Uint8Array {
    const rowBytes = bytesFor(t.type, t.dims[0]!);
    const nRows = t.nElements / t.dims[0]!;
    if (row < 0 || count < 0 || row + count > nRows) {
      throw new RangeError(`rows ${row}..${row + count} are outside tensor ${t.name} (${nRows} rows)`);
    }
    return this.readTensorBytes(t, row * rowBytes, count * rowBytes);
  }
}

export function parseHeader(src: ByteSource): GgufHeader {
  const c = new Cursor(src);
  const fail = (kind: GgufError['kind'], field: string, at: number, detail: string): never => {
    throw new GgufError(kind, field, at, detail, src.name);
  };

  if (src.size < 4) fail('not-gguf', 'magic', 0, `file is ${src.size} bytes, too short to be GGUF`);
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    const text = Buffer.from(src.read(0, 4)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
    fail('not-gguf', 'magic', 0, `not a GGUF file (starts with "${text}", expected "GGUF")`);
  }
  const versionAt = c.pos;
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const hint = version > 0xffff ? ' (a big-endian GGUF? only little-endian files are supported)' : version === 1 ? ' (GGUF v1 predates 64-bit counts; re-convert the model)' : '';
    fail('unsupported-version', 'version', versionAt, `GGUF version ${version} is not supported, only 2 and 3${hint}`);
  }
  // Each tensor info takes at least 8 (name length) + 4 (n_dims) + 8 (one dim) + 4 (type) + 8 (offset) bytes.
  const nTensors = c.count('tensor_count', Math.floor(c.remaining / 32));
  const nKv = c.count('metadata_kv_count', Math.floor(c.remaining / 13));

  const metadata = new Map<string, GgufValue>();
  let alignAt = 0; // where general.alignment's value starts, to point an error at it
  for (let i = 0; i < nKv; i++) {
    const keyAt = c.pos;
    const key = c.string(`metadata[${i}].key`);
    // the spec's keys are dotted names; an empty one is what zero padding read as a key looks like
    if (key === '') fail('bad-value', `metadata[${i}].key`, keyAt, 'a metadata key is empty (the key count may be too large)');
    // llama.cpp refuses duplicate keys too; silently keeping one of them would hide a broken file
    if (metadata.has(key)) fail('bad-value', `${key} (key)`, keyAt, `metadata key ${q(key)} appears twice`);
    const typeAt = c.pos;
    const t = c.u32(`${key} (value type)`);
    if (!isValueType(t)) fail('unknown-type', `${key} (value type)`, typeAt, `unknown metadata value type ${t} for key ${q(key)}`);
    if (key === 'general.alignment') alignAt = c.pos;
    metadata.set(key, readValue(c, t as GgufValueType, key, 0));
  }

  const align = metadata.get('general.alignment');
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  if (align !== undefined) {
    if (align.type !== GgufValueType.UINT32 || align.value === 0 || (align.value & (align.value - 1)) !== 0) {
      fail('bad-value', 'general.alignment', alignAt, `general.alignment must be a power-of-two u32, got ${q(String(plainValue(align)))}`);
    }
    alignment = align.value as number;
  }

  // `at`: where the tensor's info starts (its name); the other offsets point at the field an error is about
  const infos: Array<Omit<TensorInfo, 'nElements' | 'nBytes'> & { at: number; dimsAt: number; offAt: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const at = c.pos;
    const name = c.string(`tensors[${i}].name`);
    const qn = q(name);
    if (Buffer.byteLength(name) >= GGML_MAX_NAME) fail('bad-value', `tensors[${i}].name`, at, `tensor name ${qn} is ${Buffer.byteLength(name)} bytes, llama.cpp allows at most ${GGML_MAX_NAME - 1}`);
    const nDimsAt = c.pos;
    const nDims = c.u32(`${name}.n_dims`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) fail('bad-value', `${name}.n_dims`, nDimsAt, `tensor ${qn} has ${nDims} dimensions (1 to ${GGML_MAX_DIMS} allowed)`);
    const dims: number[] = [];
    const dimsAt = c.pos;
    for (let d = 0; d < nDims; d++) {
      const dimAt = c.pos;
      const n = c.u64(`${name}.ne[${d}]`);
      if (n === 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) fail('absurd-count', `${name}.ne[${d}]`, dimAt, `tensor ${qn} dimension ${d} is ${n}`);
      dims.push(Number(n));
    }
    const typeAt = c.pos;
    const type = c.u32(`${name}.type`);
    if (!isKnownType(type)) fail('unknown-type', `${name}.type`, typeAt, `tensor ${qn} has unknown ggml type ${type}`);
    const offAt = c.pos;
    const off = c.u64(`${name}.offset`);
    if (off > BigInt(src.size)) fail('tensor-outside-file', `${name}.offset`, offAt, `tensor ${qn} starts at ${off}, past the end of the ${src.size}-byte file`);
    if (Number(off) % alignment !== 0) fail('bad-value', `${name}.offset`, offAt, `tensor ${qn} offset ${off} is not aligned to ${alignment}`);
    infos.push({ name, dims, type, offset: Number(off), at, dimsAt, offAt });
  }
  const headerEnd = c.pos;
  const dataOffset = Math.ceil(headerEnd / alignment) * alignment;

  const tensors: TensorInfo[] = [];
  const seen = new Set<string>();
  // llama.cpp (gguf_init_from_file) requires each tensor to start where the one before it ends,
  // padded to the alignment: no overlap (two tensors reading the same bytes), no gap, no reordering
  let expectedOffset = 0;
  let previous: TensorInfo | undefined;
  for (const info of infos) {
    const qn = q(info.name);
    if (seen.has(info.name)) fail('bad-value', `${info.name}.name`, info.at, `tensor name ${qn} appears twice`);
    seen.add(info.name);
    const nElements = info.dims.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(nElements)) fail('absurd-count', `${info.name}.ne`, info.dimsAt, `tensor ${qn} has too many elements`);
    const { blockSize } = typeTraits(info.type);
    if (info.dims[0]! % blockSize !== 0) {
      fail('bad-value', `${info.name}.ne[0]`, info.dimsAt, `tensor ${qn} rows of ${info.dims[0]} are not a multiple of ${typeName(info.type)}'s block size ${blockSize}`);
    }
    const nBytes = bytesFor(info.type, nElements);
    const end = dataOffset + info.offset + nBytes;
    if (end > src.size) {
      fail('tensor-outside-file', `${info.name}.offset`, info.offAt, `tensor ${qn} (${typeName(info.type)}, ${nBytes} bytes at data offset ${info.offset}) ends at byte ${end}, past the end of the ${src.size}-byte file`);
    }
    if (info.offset !== expectedOffset) {
      const why =
        previous && info.offset < expectedOffset
          ? `overlaps tensor ${q(previous.name)} (data offset ${previous.offset} to ${previous.offset + previous.nBytes})`
          : `leaves a gap or is out of order: it must start at ${expectedOffset}, where the tensor before it ends (padded to ${alignment})`;
      fail('bad-layout', `${info.name}.offset`, info.offAt, `tensor ${qn} at data offset ${info.offset} ${why}`);
    }
    expectedOffset += Math.ceil(nBytes / alignment) * alignment;
    previous = { name: info.name, dims: info.dims, type: info.type, offset: info.offset, nElements, nBytes };
    tensors.push(previous);
  }
  // A file longer than its tensors (their padding included) has bytes nothing describes: the
  // tensor count is short (the last tensor's info was read as padding), or the file is two glued
  // together. llama.cpp would then read tensors from the wrong place; refuse instead.
  const describedEnd = tensors.length > 0 ? dataOffset + expectedOffset : dataOffset;
  if (src.size > describedEnd) {
    fail('bad-layout', 'tensor_count', 8, `the file has ${src.size - describedEnd} bytes after the end of its ${tensors.length} tensor(s) (byte ${describedEnd}): the tensor count is wrong or the file has extra data`);
  }
  return { version, metadata, tensors, alignment, dataOffset };
}

function readValue(c: Cursor, t: GgufValueType, field: string, depth: number): GgufValue {
  switch (t) {
    case GgufValueType.UINT8:
      return { type: t, value: c.u8(field) };
    case GgufValueType.INT8:
      return { type: t, value: c.i8(field) };
    case GgufValueType.UINT16:
      return { type: t, value: c.u16(field) };
    case GgufValueType.INT16:
      return { type: t, value: c.i16(field) };
    case GgufValueType.UINT32:
      return { type: t, value: c.u32(field) };
    case GgufValueType.INT32:
      return { type: t, value: c.i32(field) };
    case GgufValueType.FLOAT32:
      return { type: t, value: c.f32(field) };
    case GgufValueType.FLOAT64:
      return { type: t, value: c.f64(field) };
    case GgufValueType.UINT64:
      return { type: t, value: c.u64(field) };
    case GgufValueType.INT64:
      return { type: t, value: c.i64(field) };
    case GgufValueType.BOOL: {
      const at = c.pos;
      const b = c.u8(field);
      if (b > 1) throw new GgufError('bad-value', field, at, `bool value ${b} is neither 0 nor 1`, c.src.name);
      return { type: t, value: b === 1 };
    }
    case GgufValueType.STRING:
      return { type: t, value: c.string(field) };
    case GgufValueType.ARRAY:
      return readArray(c, field, depth);
  }
}

function readArray(c: Cursor, field: string, depth: number): GgufArray {
  const typeAt = c.pos;
  if (depth >= MAX_ARRAY_DEPTH) throw new GgufError('bad-value', field, typeAt, `arrays nested deeper than ${MAX_ARRAY_DEPTH}`, c.src.name);
  const et = c.u32(`${field} (array element type)`);
  if (!isValueType(et)) throw new GgufError('unknown-type', `${field} (array element type)`, typeAt, `unknown array element type ${et}`, c.src.name);
  const n = c.count(`${field} (array length)`, Math.floor((c.remaining - 8) / Math.max(1, minValueSize(et))));
  const elementType = et as GgufValueType;
  const numeric = (make: (bytes: Uint8Array) => GgufArray['value'], size: number): GgufArray => {
    const raw = c.bytes(n * size, field);
    const copy = new Uint8Array(raw); // aligned copy; the cursor's window is reused
    return { type: GgufValueType.ARRAY, elementType, value: make(copy) };
  };
  switch (elementType) {
    case GgufValueType.UINT8:
      return numeric((b) => b, 1);
    case GgufValueType.INT8:
      return numeric((b) => new Int8Array(b.buffer), 1);
    case GgufValueType.UINT16:
      return numeric((b) => new Uint16Array(b.buffer), 2);
    case GgufValueType.INT16:
      return numeric((b) => new Int16Array(b.buffer), 2);
    case GgufValueType.UINT32:
      return numeric((b) => new Uint32Array(b.buffer), 4);
    case GgufValueType.INT32:
      return numeric((b) => new Int32Array(b.buffer), 4);
    case GgufValueType.FLOAT32:
      return numeric((b) => new Float32Array(b.buffer), 4);
    case GgufValueType.FLOAT64:
      return numeric((b) => new Float64Array(b.buffer), 8);
    case GgufValueType.UINT64:
      return numeric((b) => new BigUint64Array(b.buffer), 8);
    case GgufValueType.INT64:
      return numeric((b) => new BigInt64Array(b.buffer), 8);
    case GgufValueType.BOOL: {
      const out: boolean[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = (readValue(c, elementType, `${field}[${i}]`, depth + 1).value as boolean);
      return { type: GgufValueType.ARRAY, elementType, value: out };
    }
    case GgufValueType.STRING: {
      const out: string[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = c.string(`${field}[${i}]`);
      return { type: GgufValueType.ARRAY, elementType, value: out };
    }
    case GgufValueType.ARRAY: {
      const out: GgufArray[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readArray(c, `${field}[${i}]`, depth + 1);
      return { type: GgufValueType.ARRAY, elementType, value: out };
    }
  }
}
