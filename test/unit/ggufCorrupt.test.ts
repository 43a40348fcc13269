// A broken GGUF file must be refused with a typed GgufError that says what is wrong (kind), which
// field (field) and where (offset: the byte where that field starts), before anything big is
// allocated; never with a RangeError/TypeError from deep inside, never by hanging. The expected
// offsets are computed here from the GGUF layout, independently of the reader.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, parseHeader } from '../../src/engine/gguf/reader';
import { GgufError, type GgufErrorKind } from '../../src/engine/gguf/errors';
import { BufferSource } from '../../src/engine/gguf/source';
import { encodeGguf } from '../../src/engine/gguf/writer';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { dequantizeRows } from '../../src/engine/gguf/dequant';
import { GgufValueType as T, type GgufArray, type GgufValue } from '../../src/engine/gguf/values';
import { vocabPath } from '../fixtures/models';
import { quoteFileText } from '../../src/engine/errors';

// ---- the valid file every corruption starts from, and its layout ----

const METADATA: Array<readonly [string, GgufValue]> = [
  ['general.name', { type: T.STRING, value: 'tiny' }],
  ['test.list', { type: T.ARRAY, elementType: T.UINT32, value: new Uint32Array([1, 2, 3]) }],
  ['test.flag', { type: T.BOOL, value: true }],
  ['general.alignment', { type: T.UINT32, value: 32 }],
];
const TENSORS = [
  { name: 'a', dims: [8, 3], type: GgmlType.F32, data: new Uint8Array(96).fill(1) },
  { name: 'b', dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(34).fill(2) },
];
const VALID = encodeGguf({ metadata: METADATA, tensors: TENSORS });

interface Span {
  field: string;
  at: number;
  size: number;
  /** 'fixed': a number; 'payload': the bytes of a string or array whose length field starts at lengthAt */
  kind: 'fixed' | 'payload';
  lengthAt: number;
}

/** Walks the layout of VALID as the GGUF spec defines it, recording every field's offset. */
function layoutOf(): { spans: Span[]; at: Record<string, number>; headerEnd: number } {
  const spans: Span[] = [];
  const at: Record<string, number> = {};
  let o = 0;
  const fixed = (field: string, size: number): number => {
    spans.push({ field, at: o, size, kind: 'fixed', lengthAt: -1 });
    at[field] = o;
    o += size;
    return o - size;
  };
  const payload = (field: string, size: number, lengthAt: number): void => {
    spans.push({ field, at: o, size, kind: 'payload', lengthAt });
    o += size;
  };
  const str = (field: string, s: string): void => {
    const lengthAt = fixed(`${field} (string length)`, 8);
    payload(`${field} (string length)`, Buffer.byteLength(s), lengthAt);
  };
  fixed('magic', 4);
  fixed('version', 4);
  fixed('tensor_count', 8);
  fixed('metadata_kv_count', 8);
  METADATA.forEach(([key, v], i) => {
    str(`metadata[${i}].key`, key);
    fixed(`${key} (value type)`, 4);
    if (v.type === T.STRING) str(key, v.value);
    else if (v.type === T.BOOL) fixed(key, 1);
    else if (v.type === T.UINT32) fixed(key, 4);
    else if (v.type === T.ARRAY) {
      fixed(`${key} (array element type)`, 4);
      const lengthAt = fixed(`${key} (array length)`, 8);
      payload(`${key} (array length)`, (v.value as Uint32Array).byteLength, lengthAt);
    }
  });
  TENSORS.forEach((t, i) => {
    str(`tensors[${i}].name`, t.name);
    fixed(`${t.name}.n_dims`, 4);
    t.dims.forEach((_, d) => fixed(`${t.name}.ne[${d}]`, 8));
    fixed(`${t.name}.type`, 4);
    fixed(`${t.name}.offset`, 8);
  });
  return { spans, at, headerEnd: o };
}
const L = layoutOf();
const DATA_OFFSET = Math.ceil(L.headerEnd / 32) * 32;

// ---- helpers ----

function parse(bytes: Uint8Array): GgufFile {
  return GgufFile.fromSource(new BufferSource(bytes, 'corrupt.gguf'));
}

function patched(edit: (dv: DataView, b: Uint8Array) => void, base = VALID): Uint8Array {
  const b = base.slice();
  edit(new DataView(b.buffer), b);
  return b;
}
const u32At = (at: number, v: number): Uint8Array => patched((dv) => dv.setUint32(at, v, true));
const u64At = (at: number, v: bigint): Uint8Array => patched((dv) => dv.setBigUint64(at, v, true));

/** Parse must throw a GgufError with this kind, a field containing `field`, at exactly `offset`. */
function refuses(bytes: Uint8Array, kind: GgufErrorKind, field: string, offset: number, message?: RegExp): GgufError {
  let caught: unknown;
  try {
    parse(bytes);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof GgufError, `expected a GgufError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.ok(caught.field.includes(field), `field "${caught.field}" should name "${field}"`);
  assert.equal(caught.offset, offset, `offset of ${caught.message}`);
  assert.ok(caught.message.includes('corrupt.gguf') && caught.message.includes(`byte offset ${offset}`), caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

// ---- the tests ----

describe('corrupted GGUF files are refused with a typed error at the right byte', () => {
  test('the layout used below describes the valid file', () => {
    const f = parse(VALID);
    assert.equal(f.dataOffset, DATA_OFFSET);
    assert.equal(f.tensors[0]!.offset, 0);
    assert.equal(f.tensors[1]!.offset, 96);
    assert.equal(VALID.byteLength, DATA_OFFSET + 96 + 64, 'b (34 bytes) padded to 64');
    assert.equal(new DataView(VALID.buffer).getUint32(L.at['a.type']!, true), GgmlType.F32);
    assert.equal(new DataView(VALID.buffer).getBigUint64(L.at['b.offset']!, true), 96n);
  });

  test('not GGUF: wrong magic, empty file, 3 bytes', () => {
    refuses(patched((_dv, b) => b.set(Buffer.from('GGML'), 0)), 'not-gguf', 'magic', 0, /starts with "GGML"/);
    refuses(new Uint8Array(0), 'not-gguf', 'magic', 0);
    refuses(Buffer.from('GGU'), 'not-gguf', 'magic', 0);
    refuses(new Uint8Array(Buffer.from('{"not": "a model"}')), 'not-gguf', 'magic', 0);
  });

  test('unsupported versions: 1, 4 and a byte-swapped (big-endian) 3', () => {
    refuses(u32At(4, 1), 'unsupported-version', 'version', 4, /version 1 /);
    refuses(u32At(4, 4), 'unsupported-version', 'version', 4, /version 4 /);
    refuses(u32At(4, 0x03000000), 'unsupported-version', 'version', 4, /big-endian/);
  });

  test('truncated at every byte: a typed error naming the cut field, exactly where it starts', () => {
    const kinds = new Map<string, number>();
    for (let p = 0; p < VALID.byteLength; p++) {
      const cut = VALID.slice(0, p);
      const expected = expectedForTruncation(p);
      if (!expected) {
        // only the padding after the last tensor is missing: nothing a reader needs
        assert.ok(p >= DATA_OFFSET + 96 + 34, `cut at ${p} should be refused`);
        assert.equal(parse(cut).tensors.length, 2);
        continue;
      }
      const e = refuses(cut, expected.kind, expected.field, expected.offset);
      kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
    }
    // every kind a truncation can produce was produced
    assert.deepEqual([...kinds.keys()].sort(), ['absurd-count', 'not-gguf', 'tensor-outside-file', 'truncated']);
  });

  test('a truncated file on disk is refused the same way and its descriptor is closed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-bad-'));
    try {
      const file = path.join(dir, 'cut.gguf');
      fs.writeFileSync(file, VALID.subarray(0, L.at['a.type']! + 2));
      const fds = openFds();
      assert.throws(() => GgufFile.open(file), (e) => e instanceof GgufError && e.kind === 'truncated' && e.offset === L.at['a.type'] && e.message.startsWith(file));
      if (fds !== undefined) assert.equal(openFds(), fds, 'no file descriptor leaked');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('absurd counts fail before allocating, naming the field', () => {
    const before = process.memoryUsage().arrayBuffers;
    refuses(u64At(8, 2n ** 60n), 'absurd-count', 'tensor_count', 8);
    refuses(u64At(16, 2n ** 60n), 'absurd-count', 'metadata_kv_count', 16);
    refuses(u64At(16, 2n ** 64n - 1n), 'absurd-count', 'metadata_kv_count', 16);
    refuses(u64At(L.at['metadata[0].key (string length)']!, 2n ** 62n), 'absurd-count', 'metadata[0].key (string length)', L.at['metadata[0].key (string length)']!);
    // 1 GiB is a size a careless reader would allocate (and then fail on): ours refuses it first
    refuses(u64At(L.at['general.name (string length)']!, 2n ** 30n), 'absurd-count', 'general.name (string length)', L.at['general.name (string length)']!);
    refuses(u64At(L.at['test.list (array length)']!, 2n ** 61n), 'absurd-count', 'test.list (array length)', L.at['test.list (array length)']!);
    refuses(u64At(L.at['test.list (array length)']!, 10n ** 9n), 'absurd-count', 'test.list (array length)', L.at['test.list (array length)']!);
    // a dimension past 2^53, and dimensions whose product is
    refuses(u64At(L.at['a.ne[1]']!, 2n ** 60n), 'absurd-count', 'a.ne[1]', L.at['a.ne[1]']!);
    refuses(patched((dv) => (dv.setBigUint64(L.at['a.ne[0]']!, 2n ** 50n, true), dv.setBigUint64(L.at['a.ne[1]']!, 2n ** 20n, true))), 'absurd-count', 'a.ne', L.at['a.ne[0]']!);
    refuses(u64At(L.at['a.ne[1]']!, 0n), 'absurd-count', 'a.ne[1]', L.at['a.ne[1]']!);
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 64 * 2 ** 20, `array buffers grew by ${grown} bytes`);
  });

  test('tensors outside the file', () => {
    refuses(u64At(L.at['b.offset']!, 2n ** 40n), 'tensor-outside-file', 'b.offset', L.at['b.offset']!);
    // starts inside the file, ends past it
    refuses(u64At(L.at['b.offset']!, 128n), 'tensor-outside-file', 'b.offset', L.at['b.offset']!, /ends at byte/);
    refuses(u64At(L.at['a.ne[1]']!, 30000n), 'tensor-outside-file', 'a.offset', L.at['a.offset']!);
  });

  test('unknown tensor type, metadata value type and array element type', () => {
    refuses(u32At(L.at['a.type']!, 200), 'unknown-type', 'a.type', L.at['a.type']!, /200/);
    refuses(u32At(L.at['b.type']!, 4), 'unknown-type', 'b.type', L.at['b.type']!); // Q4_2, removed from ggml
    refuses(u32At(L.at['general.name (value type)']!, 13), 'unknown-type', 'general.name (value type)', L.at['general.name (value type)']!);
    refuses(u32At(L.at['test.list (array element type)']!, 99), 'unknown-type', 'test.list (array element type)', L.at['test.list (array element type)']!);
  });

  test('bad values: n_dims 0 or 5, a bool that is 2, a misaligned offset, a row that is not whole blocks', () => {
    refuses(u32At(L.at['a.n_dims']!, 0), 'bad-value', 'a.n_dims', L.at['a.n_dims']!);
    refuses(u32At(L.at['a.n_dims']!, 5), 'bad-value', 'a.n_dims', L.at['a.n_dims']!);
    refuses(patched((_dv, b) => (b[L.at['test.flag']!] = 2)), 'bad-value', 'test.flag', L.at['test.flag']!);
    refuses(u64At(L.at['b.offset']!, 100n), 'bad-value', 'b.offset', L.at['b.offset']!, /not aligned to 32/);
    refuses(u64At(L.at['b.ne[0]']!, 33n), 'bad-value', 'b.ne[0]', L.at['b.ne[0]']!, /block size 32/);
  });

  test('duplicate tensor name and duplicate metadata key', () => {
    const bName = L.spans.find((s) => s.field === 'tensors[1].name (string length)' && s.kind === 'payload')!;
    refuses(patched((_dv, b) => b.set(Buffer.from('a'), bName.at)), 'bad-value', 'a.name', L.at['tensors[1].name (string length)']!, /appears twice/);
    const flagKey = L.spans.find((s) => s.field === 'metadata[2].key (string length)' && s.kind === 'payload')!;
    refuses(patched((_dv, b) => b.set(Buffer.from('test.list'), flagKey.at)), 'bad-value', 'test.list', L.at['metadata[2].key (string length)']!, /appears twice/);
  });

  test('general.alignment that is not a power of two', () => {
    for (const bad of [48, 0, 3]) refuses(u32At(L.at['general.alignment']!, bad), 'bad-value', 'general.alignment', L.at['general.alignment']!, /power-of-two/);
    // right value, wrong type (i32 instead of u32): llama.cpp refuses it too
    refuses(u32At(L.at['general.alignment (value type)']!, T.INT32), 'bad-value', 'general.alignment', L.at['general.alignment']!);
  });

  test('arrays nested deeper than 8 levels', () => {
    let v: GgufArray = { type: T.ARRAY, elementType: T.UINT8, value: new Uint8Array([1]) };
    for (let d = 0; d < 9; d++) v = { type: T.ARRAY, elementType: T.ARRAY, value: [v] };
    const bytes = encodeGguf({ metadata: [['deep', v]], tensors: [] });
    // header 24, key "deep" 8 + 4, value type 4: the outer array starts at 40; each level is
    // element type (4) + length (8); the 9th level (depth 8) starts at 40 + 8 * 12
    refuses(bytes, 'bad-value', `deep${'[0]'.repeat(8)}`, 40 + 8 * 12, /nested deeper/);
  });
});

describe('messages quote file contents escaped and shortened', () => {
  test('quoteFileText: control characters, ESC sequences, NULs, bidi and zero-width marks as escapes; long text cut', () => {
    assert.equal(quoteFileText('plain.key'), '"plain.key"');
    assert.equal(quoteFileText('a\u001b[31mred\u0000\n'), '"a\\x1b[31mred\\x00\\x0a"');
    assert.equal(quoteFileText('\u202eevil\u200b\ufeff'), '"\\u{202e}evil\\u{200b}\\u{feff}"');
    assert.equal(quoteFileText('say "hi" \\ ok'), '"say \\"hi\\" \\\\ ok"');
    assert.equal(quoteFileText('▁héllo 给'), '"▁héllo 给"', 'printable Unicode stays as it is');
    const long = quoteFileText('k'.repeat(200_000));
    assert.equal(long, `"${'k'.repeat(80)}..." (200000 characters)`);
    // escapes count toward the length: 80 NULs do not become a 320-character quote
    assert.ok(quoteFileText('\u0000'.repeat(1000)).length < 110);
  });

  test('a hostile key and tensor name: one short line, no raw byte, the path once', () => {
    const hostileKey = `\u001b[31m${'x'.repeat(200_000)}\u0000`;
    const bytes = encodeGguf({ metadata: [[hostileKey, { type: T.UINT32, value: 1 }], [hostileKey + 'y', { type: T.UINT32, value: 2 }]], tensors: [] });
    // make the second key equal to the first: a duplicate, whose message quotes the key
    const dup = bytes.slice();
    const secondKeyAt = 24 + 8 + Buffer.byteLength(hostileKey) + 4 + 4;
    new DataView(dup.buffer).setBigUint64(secondKeyAt, BigInt(Buffer.byteLength(hostileKey)), true);
    dup.set(Buffer.from('\u0000\u0000\u0000\u0002\u0000\u0000\u0000'), secondKeyAt + 8 + Buffer.byteLength(hostileKey) - 7);
    let caught: unknown;
    try {
      parse(dup);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof GgufError, String(caught));
    const m = caught.message;
    assert.doesNotMatch(m, /[\u0000-\u001f\u007f]/, 'no raw control byte');
    assert.ok(m.length < 400, `${m.length} characters`);
    assert.ok(!m.includes('\n'));
    assert.equal(m.split('corrupt.gguf').length - 1, 1, 'the path once');
    assert.ok(m.includes('\\x1b[31m'), m);

    const evilName = encodeGguf({ metadata: [], tensors: [{ name: '\u001b]0;pwned\u0007', dims: [1], type: GgmlType.F32, data: new Uint8Array(4) }, { name: '\u001b]0;pwned\u0007', dims: [1], type: GgmlType.F32, data: new Uint8Array(4) }] });
    const e2 = refuses(evilName, 'bad-value', '\\x1b]0;pwned\\x07', 24 + (8 + 10 + 4 + 8 + 4 + 8), /appears twice/); // the second info: after the counts and the first (10-byte name)
    assert.doesNotMatch(e2.message, /[\u0000-\u001f]/);
  });

  test('a 64-byte tensor name is refused (llama.cpp allows 63)', () => {
    const bytes = encodeGguf({ metadata: [], tensors: [{ name: 'n'.repeat(64), dims: [1], type: GgmlType.F32, data: new Uint8Array(4) }] });
    refuses(bytes, 'bad-value', 'tensors[0].name', 24, /64 bytes/);
    assert.equal(parse(encodeGguf({ metadata: [], tensors: [{ name: 'n'.repeat(63), dims: [1], type: GgmlType.F32, data: new Uint8Array(4) }] })).tensors[0]!.name.length, 63);
  });

  test('overlapping tensors, a gap, a tensor count one short: refused as llama.cpp refuses them', () => {
    refuses(u64At(L.at['b.offset']!, 0n), 'bad-layout', 'b.offset', L.at['b.offset']!, /overlaps tensor "a" \(data offset 0 to 96\)/);
    refuses(u64At(L.at['b.offset']!, 128n), 'tensor-outside-file', 'b.offset', L.at['b.offset']!);
    // a gap: b moved one alignment unit on, the file grown to hold it
    const grown = new Uint8Array(VALID.byteLength + 32);
    grown.set(VALID);
    new DataView(grown.buffer).setBigUint64(L.at['b.offset']!, 128n, true);
    refuses(grown, 'bad-layout', 'b.offset', L.at['b.offset']!, /must start at 96/);
    refuses(u64At(8, 1n), 'bad-layout', 'tensor_count', 8, /bytes after the end of its 1 tensor/);
    // bytes glued after a valid file
    const glued = new Uint8Array(VALID.byteLength + 100);
    glued.set(VALID);
    refuses(glued, 'bad-layout', 'tensor_count', 8, /100 bytes after/);
  });
});

describe('lazy reading', () => {
  test('a 4 GiB sparse model opens without reading or holding its data', () => {
    // header of one F32 tensor [1024, 1], then ne[1] patched to 2^20 rows: 4 GiB of data, made sparse
    const small = encodeGguf({ metadata: [['general.name', { type: T.STRING, value: 'huge' }]], tensors: [{ name: 'big', dims: [1024, 1], type: GgmlType.F32, data: new Uint8Array(4096) }] });
    const head = parseHeader(new BufferSource(small));
    const neAt = 24 + (8 + 12 + 4 + 8 + 4) + (8 + 3 + 4) + 8; // counts, the name kv, "big" name + n_dims, ne[0]
    assert.equal(new DataView(small.buffer).getBigUint64(neAt, true), 1n, 'ne[1] is where the layout says');
    const header = patched((dv) => dv.setBigUint64(neAt, 2n ** 20n, true), small.subarray(0, head.dataOffset));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-sparse-'));
    const file = path.join(dir, 'huge.gguf');
    try {
      fs.writeFileSync(file, header);
      const size = head.dataOffset + 4 * 2 ** 30;
      fs.truncateSync(file, size);
      const rssBefore = process.memoryUsage().rss;
      const f = GgufFile.open(file);
      try {
        const big = f.requireTensor('big');
        assert.equal(f.fileSize, size);
        assert.equal(big.nBytes, 4 * 2 ** 30);
        assert.deepEqual(big.dims, [1024, 2 ** 20]);
        // the last row, 4 GiB into the file, reads as the zeros of the sparse hole
        const row = dequantizeRows(big.type, f.readRowBytes(big, 2 ** 20 - 1), 1024);
        assert.ok(row.every((x) => x === 0));
        const grown = process.memoryUsage().rss - rssBefore;
        assert.ok(grown < 64 * 2 ** 20, `rss grew by ${(grown / 2 ** 20).toFixed(1)} MiB for a 4096 MiB file`);
      } finally {
        f.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the Llama-2 vocabulary GGUF (written by llama.cpp's Python gguf writer) reads completely", () => {
    const f = GgufFile.open(vocabPath());
    try {
      // expected values read from the same file with llama.cpp's gguf-py GGUFReader
      assert.equal(f.version, 3);
      assert.equal(f.metadata.size, 22);
      assert.equal(f.tensors.length, 0);
      assert.equal(f.alignment, 32);
      assert.equal(f.dataOffset, 723872);
      assert.equal(f.get('general.architecture'), 'llama');
      assert.equal(f.get('tokenizer.ggml.model'), 'llama');
      assert.equal(f.get('llama.attention.layer_norm_rms_epsilon'), Math.fround(1e-5));
      assert.equal(f.get('tokenizer.ggml.bos_token_id'), 1);
      assert.equal(f.get('tokenizer.ggml.eos_token_id'), 2);
      assert.equal(f.get('tokenizer.ggml.add_bos_token'), true);
      assert.equal(f.get('tokenizer.ggml.add_eos_token'), false);

      const tokens = f.get('tokenizer.ggml.tokens') as string[];
      assert.equal(tokens.length, 32000);
      assert.deepEqual(tokens.slice(0, 4), ['<unk>', '<s>', '</s>', '<0x00>']);
      assert.equal(tokens[13], '<0x0A>');
      assert.equal(tokens[2654], '▁red');
      assert.equal(tokens[29871], '▁');
      assert.equal(tokens[30010], '’');
      assert.equal(tokens[31999], '给');
      assert.equal(tokens[30143], '\ufeff', 'a byte-order mark is a token here, not something to strip');
      assert.equal(tokens.reduce((n, t) => n + Buffer.byteLength(t), 0), 210919, 'every token decoded from UTF-8 in full');

      const scores = f.value('tokenizer.ggml.scores');
      assert.ok(scores?.type === T.ARRAY && scores.value instanceof Float32Array);
      assert.equal(scores.value.length, 32000);
      assert.equal(scores.value[259], -1e9);
      assert.equal(scores.value[300], -41);
      assert.equal(scores.value[2654], -2395);
      assert.equal(scores.value[31999], -31740);
      assert.equal(scores.value.reduce((a, b) => a + b, 0), -16503658723); // integers: exact in any order

      const types = f.value('tokenizer.ggml.token_type');
      assert.ok(types?.type === T.ARRAY && types.value instanceof Int32Array);
      const count = new Map<number, number>();
      for (const t of types.value) count.set(t, (count.get(t) ?? 0) + 1);
      assert.deepEqual([...count].sort((a, b) => a[0] - b[0]), [[1, 31741], [2, 1], [3, 2], [6, 256]]);
      assert.deepEqual([...types.value.subarray(0, 4)], [2, 3, 3, 6]);
    } finally {
      f.close();
    }
  });
});

/** The error a file cut to p bytes must raise, derived from the layout (undefined: nothing needed is missing). */
function expectedForTruncation(p: number): { kind: GgufErrorKind; field: string; offset: number } | undefined {
  if (p < 4) return { kind: 'not-gguf', field: 'magic', offset: 0 };
  // the two counts are checked against the bytes left before anything is read: 2 tensors need at
  // least 2 * 32 bytes after tensor_count's own offset (8)
  if (p >= 16 && p < 8 + 2 * 32) return { kind: 'absurd-count', field: 'tensor_count', offset: 8 };
  const span = L.spans.find((s) => s.at + s.size > p);
  if (span) {
    return span.kind === 'fixed' ? { kind: 'truncated', field: span.field, offset: span.at } : { kind: 'absurd-count', field: span.field, offset: span.lengthAt };
  }
  if (p < DATA_OFFSET + 96) return { kind: 'tensor-outside-file', field: 'a.offset', offset: L.at['a.offset']! };
  if (p < DATA_OFFSET + 96 + 34) return { kind: 'tensor-outside-file', field: 'b.offset', offset: L.at['b.offset']! };
  return undefined;
}

/** Open file descriptors of this process (Linux), or undefined where /proc is not there. */
function openFds(): number | undefined {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
