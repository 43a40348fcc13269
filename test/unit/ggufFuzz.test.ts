// Generated hostile variants of small, fixture-like GGUF files: every one must give a correct
// parse or our typed GgufError (never a RangeError/TypeError from deep inside, never a hang, never
// an allocation sized by a count the file has not paid for in bytes). Seeded: the same variants on
// every run. The field layout is walked here from the GGUF spec, independently of the reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GgufFile } from '../../src/engine/gguf/reader';
import { GgufError } from '../../src/engine/gguf/errors';
import { BufferSource } from '../../src/engine/gguf/source';
import { encodeGguf, type TensorToWrite } from '../../src/engine/gguf/writer';
import { GgmlType, bytesFor } from '../../src/engine/gguf/ggmlTypes';
import { dequantizeRows } from '../../src/engine/gguf/dequant';
import { encodeTensor, llamaMetadata, llamaTensorShapes } from '../../src/engine/gguf/llamaWriter';
import { GgufValueType as T, type GgufValue } from '../../src/engine/gguf/values';

// ---- seeded randomness ----

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(0x13);
const randInt = (n: number): number => Math.floor(rand() * n);

// ---- the base files: small, but shaped like the fixtures (a tiny Llama, odd value types, v2) ----

function floats(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function tinyLlama(): Uint8Array {
  const shape = { nVocab: 8, dModel: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, dFf: 32, nCtxTrain: 64, rmsEps: 1e-5, ropeFreqBase: 10000 };
  const tokens = ['<unk>', '<s>', '</s>', '▁a', '▁b', 'c', '\u0000x', '<0x0A>'];
  const metadata: Array<readonly [string, GgufValue]> = [
    ...llamaMetadata(shape, 'tiny'),
    ['tokenizer.ggml.model', { type: T.STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: T.ARRAY, elementType: T.STRING, value: tokens }],
    ['tokenizer.ggml.scores', { type: T.ARRAY, elementType: T.FLOAT32, value: new Float32Array(tokens.length).fill(-1) }],
    ['tokenizer.ggml.token_type', { type: T.ARRAY, elementType: T.INT32, value: new Int32Array(tokens.length).fill(1) }],
  ];
  const types = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];
  const tensors: TensorToWrite[] = llamaTensorShapes(shape, false).map((t, i) => {
    const type = t.dims.length === 1 ? GgmlType.F32 : types[i % types.length]!;
    const n = t.dims.reduce((a, b) => a * b, 1);
    return { name: t.name, dims: t.dims, type, data: encodeTensor(type === GgmlType.Q8_0 || type === GgmlType.Q4_0 ? GgmlType.F32 : type, floats(n, i), t.dims[0]!) };
  }).map((t, i) => (t.type === GgmlType.F32 || t.type === GgmlType.F16 ? t : { ...t, data: new Uint8Array(bytesFor(t.type, t.dims.reduce((a, b) => a * b, 1))).fill(i + 1) }));
  return encodeGguf({ metadata, tensors });
}

function oddValues(version: 2 | 3, alignment: number): Uint8Array {
  const metadata: Array<readonly [string, GgufValue]> = [
    ['general.architecture', { type: T.STRING, value: 'odd' }],
    ['general.alignment', { type: T.UINT32, value: alignment }],
    ['odd.u8', { type: T.UINT8, value: 200 }],
    ['odd.i8', { type: T.INT8, value: -5 }],
    ['odd.u16', { type: T.UINT16, value: 65000 }],
    ['odd.i16', { type: T.INT16, value: -300 }],
    ['odd.i32', { type: T.INT32, value: -7 }],
    ['odd.f64', { type: T.FLOAT64, value: Math.PI }],
    ['odd.u64', { type: T.UINT64, value: 2n ** 40n }],
    ['odd.i64', { type: T.INT64, value: -(2n ** 40n) }],
    ['odd.flags', { type: T.ARRAY, elementType: T.BOOL, value: [true, false, true] }],
    ['odd.nested', { type: T.ARRAY, elementType: T.ARRAY, value: [{ type: T.ARRAY, elementType: T.UINT16, value: new Uint16Array([1, 2]) }, { type: T.ARRAY, elementType: T.STRING, value: ['x', ''] }] }],
    ['odd.empty', { type: T.ARRAY, elementType: T.UINT64, value: new BigUint64Array(0) }],
    ['odd.text', { type: T.STRING, value: 'é\u001b[31m\u0000' }],
  ];
  const tensors: TensorToWrite[] = [
    { name: 'f32', dims: [4, 3], type: GgmlType.F32, data: new Uint8Array(new Float32Array([0, 1, -1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).buffer) },
    { name: 'f16', dims: [8], type: GgmlType.F16, data: encodeTensor(GgmlType.F16, floats(8, 99), 8) },
    { name: 'q', dims: [32, 2, 1, 1], type: GgmlType.Q8_0, data: new Uint8Array(68).fill(3) },
  ];
  return encodeGguf({ version, metadata, tensors });
}

function vocabularyOnly(): Uint8Array {
  return encodeGguf({
    metadata: [
      ['general.architecture', { type: T.STRING, value: 'llama' }],
      ['tokenizer.ggml.tokens', { type: T.ARRAY, elementType: T.STRING, value: ['<unk>', 'a', 'b'] }],
    ],
    tensors: [],
  });
}

// ---- an independent walk of the layout: where every field of a valid file is ----

type FieldKind = 'fixed' | 'count' | 'length' | 'value-type' | 'element-type' | 'n_dims' | 'ne' | 'tensor-type' | 'tensor-offset';
interface Field {
  at: number;
  size: number;
  kind: FieldKind;
  tensor?: number;
}
interface Layout {
  fields: Field[];
  headerEnd: number;
  dataOffset: number;
  /** per tensor: [start, end) of its data in the file, its type and element count */
  data: Array<{ start: number; end: number; type: number; n: number }>;
  alignment: number;
}

function walk(b: Uint8Array): Layout {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fields: Field[] = [];
  let o = 0;
  const take = (size: number, kind: FieldKind, tensor?: number): number => {
    fields.push({ at: o, size, kind, tensor });
    o += size;
    return o - size;
  };
  const u32 = (kind: FieldKind, tensor?: number): number => dv.getUint32(take(4, kind, tensor), true);
  const u64 = (kind: FieldKind, tensor?: number): number => Number(dv.getBigUint64(take(8, kind, tensor), true));
  const str = (tensor?: number): string => {
    const n = u64('length', tensor);
    const s = Buffer.from(b.subarray(o, o + n)).toString('utf8');
    if (n > 0) take(n, 'fixed', tensor);
    return s;
  };
  const value = (t: number): number | undefined => {
    const sizes: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    if (t === T.STRING) return void str();
    if (t === T.ARRAY) {
      const et = u32('element-type');
      const n = u64('length');
      for (let i = 0; i < n; i++) value(et);
      return undefined;
    }
    const at = take(sizes[t]!, 'fixed');
    return t === T.UINT32 ? dv.getUint32(at, true) : undefined;
  };
  take(4, 'fixed');
  take(4, 'fixed');
  const nT = u64('count');
  const nKv = u64('count');
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const v = value(u32('value-type'));
    if (key === 'general.alignment') alignment = v!;
  }
  const infos: Array<{ dims: number[]; type: number; offset: number }> = [];
  for (let i = 0; i < nT; i++) {
    str(i);
    const nd = u32('n_dims', i);
    const dims = Array.from({ length: nd }, () => u64('ne', i));
    const type = u32('tensor-type', i);
    infos.push({ dims, type, offset: u64('tensor-offset', i) });
  }
  const headerEnd = o;
  const dataOffset = Math.ceil(o / alignment) * alignment;
  const data = infos.map((t) => {
    const n = t.dims.reduce((a, c) => a * c, 1);
    const start = dataOffset + t.offset;
    return { start, end: start + bytesFor(t.type, n), type: t.type, n };
  });
  return { fields, headerEnd, dataOffset, data, alignment };
}

// ---- the oracle ----

let variants = 0;
let refused = 0;
let slowest = 0;
const kindsSeen = new Map<string, number>();
const MEMORY_BOUND = 32 * 2 ** 20; // a base file is a few KB: anything near this was sized by a claimed count

type Outcome = { ok: true; file: GgufFile } | { ok: false; error: GgufError };

/** Parse a variant: our typed error or a file; time and memory bounded. */
function attempt(bytes: Uint8Array, label: string): Outcome {
  variants++;
  const ab = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  let out: Outcome;
  try {
    out = { ok: true, file: GgufFile.fromSource(new BufferSource(bytes, 'fuzz.gguf')) };
  } catch (e) {
    if (!(e instanceof GgufError)) throw new Error(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a GgufError`);
    out = { ok: false, error: e };
    refused++;
    kindsSeen.set(e.kind, (kindsSeen.get(e.kind) ?? 0) + 1);
    assert.ok(e.offset >= 0 && e.offset <= bytes.byteLength, `${label}: error offset ${e.offset} outside the file`);
    assert.doesNotMatch(e.message, /[\x00-\x08\x0b-\x1f\x7f]/, `${label}: raw control bytes in the message`);
    assert.ok(e.message.length < 600, `${label}: a ${e.message.length}-character message`);
  }
  const ms = performance.now() - t0;
  slowest = Math.max(slowest, ms);
  // a hang detector, not a speed target: a parse of a few KB takes well under a millisecond
  assert.ok(ms < 1000, `${label}: ${ms.toFixed(0)} ms`);
  const grown = process.memoryUsage().arrayBuffers - ab;
  assert.ok(grown < MEMORY_BOUND, `${label}: array buffers grew by ${grown} bytes`);
  return out;
}

function refuses(bytes: Uint8Array, label: string, kinds?: readonly string[]): GgufError {
  const r = attempt(bytes, label);
  assert.ok(!r.ok, `${label}: accepted`);
  if (kinds) assert.ok(kinds.includes(r.error.kind), `${label}: ${r.error.kind} (${r.error.message}), expected ${kinds.join(' or ')}`);
  return r.error;
}

/**
 * What a file our reader accepts must satisfy: the counts it declares, every tensor inside the
 * file, aligned, in order, not overlapping; and writing the parsed contents back gives the same
 * bytes (padding aside) whenever every string decoded cleanly.
 */
function checkAccepted(bytes: Uint8Array, f: GgufFile, label: string): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(BigInt(f.tensors.length), dv.getBigUint64(8, true), `${label}: tensor count`);
  assert.equal(BigInt(f.metadata.size), dv.getBigUint64(16, true), `${label}: key count`);
  assert.equal(f.dataOffset % f.alignment, 0, label);
  let expected = 0;
  for (const t of f.tensors) {
    assert.equal(t.offset, expected, `${label}: ${t.name} in order, no overlap, no gap`);
    assert.ok(f.dataOffset + t.offset + t.nBytes <= bytes.byteLength, `${label}: ${t.name} inside the file`);
    expected += Math.ceil(t.nBytes / f.alignment) * f.alignment;
  }
  const strings = [...f.metadata.keys(), ...f.tensors.map((t) => t.name), ...[...f.metadata.values()].flatMap(stringsOf)];
  if (strings.some((s) => s.includes('\ufffd'))) return; // invalid UTF-8 decodes lossily: no byte identity to expect
  const again = encodeGguf({
    version: f.version as 2 | 3,
    metadata: [...f.metadata],
    tensors: f.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: f.readTensorBytes(t) })),
  });
  const masked = bytes.slice();
  masked.fill(0, walk(bytes).headerEnd, f.dataOffset); // header padding: any bytes
  for (const t of f.tensors) masked.fill(0, f.dataOffset + t.offset + t.nBytes, Math.min(masked.byteLength, f.dataOffset + t.offset + Math.ceil(t.nBytes / f.alignment) * f.alignment));
  assert.ok(again.byteLength >= masked.byteLength, `${label}: re-encoded file is shorter`);
  assert.ok(Buffer.from(again.subarray(0, masked.byteLength)).equals(Buffer.from(masked)), `${label}: re-encoding the parse does not give the file back`);
}

function stringsOf(v: GgufValue): string[] {
  if (v.type === T.STRING) return [v.value];
  if (v.type !== T.ARRAY) return [];
  if (v.elementType === T.STRING) return v.value as string[];
  if (v.elementType === T.ARRAY) return (v.value as GgufValue[]).flatMap(stringsOf);
  return [];
}

function accepts(bytes: Uint8Array, label: string): GgufFile {
  const r = attempt(bytes, label);
  assert.ok(r.ok, `${label}: refused: ${r.ok ? '' : r.error.message}`);
  checkAccepted(bytes, r.file, label);
  return r.file;
}

/** A parse or a typed refusal; a parse must hold up. */
function parsesOrRefuses(bytes: Uint8Array, label: string): void {
  const r = attempt(bytes, label);
  if (r.ok) checkAccepted(bytes, r.file, label);
}

const BASES: Array<[string, Uint8Array]> = [
  ['tiny-llama', tinyLlama()],
  ['odd-v3-align32', oddValues(3, 32)],
  ['odd-v2-align64', oddValues(2, 64)],
  ['vocabulary-only', vocabularyOnly()],
];

function setU64(b: Uint8Array, at: number, v: bigint): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setBigUint64(at, v, true);
  return c;
}
function setU32(b: Uint8Array, at: number, v: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(at, v >>> 0, true);
  return c;
}

// ---- the variants ----

test('GGUF fuzzing: at least 10,000 hostile variants, each a correct parse or a typed GgufError', () => {
  for (const [name, base] of BASES) {
    const L = walk(base);
    const dataEnd = L.data.length ? L.data[L.data.length - 1]!.end : L.headerEnd;
    accepts(base, `${name}: the valid base`);

    // truncation at every section and field boundary, and at random offsets
    const cuts = new Set<number>([0, 1, 3, 4, 8, 16, 24, L.headerEnd, L.dataOffset, dataEnd, base.byteLength - 1]);
    for (const f of L.fields) cuts.add(f.at).add(f.at + 1).add(f.at + f.size - 1);
    for (const d of L.data) cuts.add(d.start).add(d.end - 1).add(d.end);
    for (let i = 0; i < 400; i++) cuts.add(randInt(base.byteLength));
    for (const p of cuts) {
      if (p >= base.byteLength) continue;
      const cut = base.slice(0, p);
      if (p >= dataEnd && L.data.length > 0) accepts(cut, `${name}: cut at ${p}, only trailing padding lost`);
      else if (p >= L.headerEnd && L.data.length === 0) accepts(cut, `${name}: cut at ${p}, only padding lost`);
      else refuses(cut, `${name}: cut at ${p}`);
    }

    // flipped bits and bytes in the header, key-value and tensor-info regions
    for (let i = 0; i < 1500; i++) {
      const b = base.slice();
      const flips = 1 + randInt(3);
      for (let k = 0; k < flips; k++) {
        const at = randInt(L.headerEnd);
        b[at] = rand() < 0.5 ? b[at]! ^ (1 << randInt(8)) : randInt(256);
      }
      parsesOrRefuses(b, `${name}: flipped header bytes #${i}`);
    }

    // huge counts and lengths: refused at that very field, before anything is sized by them
    const huge = [2n ** 64n - 1n, 2n ** 63n, 2n ** 53n, 2n ** 32n + 1n, 2n ** 31n - 1n, BigInt(base.byteLength), BigInt(base.byteLength - 20)];
    for (const f of L.fields.filter((x) => x.kind === 'count' || x.kind === 'length')) {
      for (const v of huge) {
        const old = new DataView(base.buffer, base.byteOffset).getBigUint64(f.at, true);
        if (v <= old) continue;
        const e = refuses(setU64(base, f.at, v), `${name}: ${f.kind} at ${f.at} set to ${v}`, ['absurd-count', 'truncated', 'bad-value', 'unknown-type', 'bad-layout', 'tensor-outside-file', 'not-gguf']);
        if (v > BigInt(base.byteLength)) assert.equal(e.offset, f.at, `${name}: a count of ${v} is refused at its own field, not later: ${e.message}`);
      }
    }

    // wrong value types and element types
    for (const f of L.fields.filter((x) => x.kind === 'value-type' || x.kind === 'element-type')) {
      for (const t of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 255, 0xffffffff]) parsesOrRefuses(setU32(base, f.at, t), `${name}: type at ${f.at} set to ${t}`);
    }

    // tensors: wrong type, dims, n_dims; outside the file; misaligned; overlapping
    for (const f of L.fields.filter((x) => x.tensor !== undefined && x.kind !== 'fixed' && x.kind !== 'length')) {
      if (f.kind === 'tensor-offset') {
        const old = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(f.at, true));
        for (const v of [2n ** 64n - 1n, 2n ** 40n, BigInt(base.byteLength), BigInt(old + L.alignment), BigInt(old + 1), BigInt(Math.max(0, old - L.alignment)), 0n]) {
          if (v === BigInt(old)) continue;
          refuses(setU64(base, f.at, v), `${name}: tensor ${f.tensor} offset ${old} set to ${v}`, ['tensor-outside-file', 'bad-value', 'bad-layout']);
        }
      } else if (f.kind === 'ne') {
        for (const v of [0n, 2n ** 64n - 1n, 2n ** 53n, 2n ** 31n, 1n, 7n, 64n]) parsesOrRefuses(setU64(base, f.at, v), `${name}: tensor ${f.tensor} ne at ${f.at} set to ${v}`);
      } else {
        for (const v of [0, 1, 2, 3, 4, 5, 8, 13, 30, 39, 1000, 0xffffffff]) parsesOrRefuses(setU32(base, f.at, v), `${name}: tensor ${f.tensor} ${f.kind} set to ${v}`);
      }
    }

    // overlapping: a tensor placed where the one before it is; a tensor count one short or over
    for (let i = 1; i < L.data.length; i++) {
      const offs = L.fields.filter((x) => x.kind === 'tensor-offset');
      const prev = new DataView(base.buffer, base.byteOffset).getBigUint64(offs[i - 1]!.at, true);
      const e = refuses(setU64(base, offs[i]!.at, prev), `${name}: tensor ${i} overlapping ${i - 1}`, ['bad-layout']);
      assert.match(e.message, /overlaps/);
    }
    const nT = new DataView(base.buffer, base.byteOffset).getBigUint64(8, true);
    if (nT > 0n) refuses(setU64(base, 8, nT - 1n), `${name}: tensor count one short`, ['bad-layout']);
    refuses(setU64(base, 8, nT + 1n), `${name}: tensor count one over`);
    const nKv = new DataView(base.buffer, base.byteOffset).getBigUint64(16, true);
    refuses(setU64(base, 16, nKv - 1n), `${name}: key count one short`);
    refuses(setU64(base, 16, nKv + 1n), `${name}: key count one over`);

    // NaN, infinities and garbage in tensor data: the header is untouched, so the parse is the
    // same and the data reads back exactly as planted
    for (let i = 0; i < 250 && L.data.length > 0; i++) {
      const b = base.slice();
      const d = L.data[randInt(L.data.length)]!;
      const specials = d.type === GgmlType.F32 ? [0x7fc00000, 0x7f800000, 0xff800000, 0x7fa00001] : [0x7e00, 0x7c00, 0xfc00, 0x7c01];
      const size = d.type === GgmlType.F32 ? 4 : d.type === GgmlType.F16 ? 2 : 1;
      const k = randInt(Math.floor((d.end - d.start) / size));
      const dv = new DataView(b.buffer);
      if (size === 4) dv.setUint32(d.start + k * 4, specials[randInt(4)]!, true);
      else if (size === 2) dv.setUint16(d.start + k * 2, specials[randInt(4)]!, true);
      else b[d.start + k] = randInt(256);
      const f = accepts(b, `${name}: special value in tensor data #${i}`);
      const t = f.tensors[L.data.indexOf(d)]!;
      assert.ok(Buffer.from(f.readTensorBytes(t)).equals(Buffer.from(b.subarray(d.start, d.end))), `${name}: data read back as written`);
      if (size > 1) {
        const x = dequantizeRows(t.type, f.readTensorBytes(t), t.nElements)[k]!;
        assert.ok(Number.isNaN(x) || !Number.isFinite(x), `${name}: planted NaN/Inf reads as ${x}`);
      }
    }
  }

  // random whole-file noise with a valid magic: refused or parsed, nothing else
  for (let i = 0; i < 300; i++) {
    const b = new Uint8Array(24 + randInt(2000));
    for (let k = 0; k < b.length; k++) b[k] = rand() < 0.7 ? randInt(4) : randInt(256);
    b.set([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]);
    parsesOrRefuses(b, `noise #${i}`);
  }

  assert.ok(variants >= 10_000, `${variants} variants`);
  // the variants reach every way of refusing a file, not only the first check
  for (const k of ['not-gguf', 'truncated', 'absurd-count', 'tensor-outside-file', 'unknown-type', 'bad-value', 'bad-layout']) {
    assert.ok((kindsSeen.get(k) ?? 0) > 0, `no variant was refused as ${k}: ${JSON.stringify([...kindsSeen])}`);
  }
  assert.ok(refused > variants / 2 && refused < variants, `${refused} of ${variants} refused`);
  console.log(`# ${variants} variants, ${refused} refused (${JSON.stringify(Object.fromEntries(kindsSeen))}), slowest ${slowest.toFixed(1)} ms`);
});
