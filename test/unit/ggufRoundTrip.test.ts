// What the writer writes, the reader reads back unchanged: every metadata value type (edge values,
// arrays, nested and empty arrays, unicode), both GGUF versions, a custom alignment, the tensor
// directory and row access. The writer serves fixtures and the demo model; the reader serves
// files written by llama.cpp's Python writer too (see ggufCorrupt.test.ts for that file).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, GGUF_DEFAULT_ALIGNMENT } from '../../src/engine/gguf/reader';
import { BufferSource } from '../../src/engine/gguf/source';
import { encodeGguf, writeGguf, type TensorToWrite } from '../../src/engine/gguf/writer';
import { GgmlType, bytesFor } from '../../src/engine/gguf/ggmlTypes';
import { GgufValueType as T, type GgufArray, type GgufValue } from '../../src/engine/gguf/values';

const arr = (elementType: GgufArray['elementType'], value: GgufArray['value']): GgufArray => ({ type: T.ARRAY, elementType, value });

/** Every value type with the values most likely to break an encoder: limits, signs, -0, NaN, unicode. */
const METADATA: Array<readonly [string, GgufValue]> = [
  ['u8.max', { type: T.UINT8, value: 255 }],
  ['u8.zero', { type: T.UINT8, value: 0 }],
  ['i8.min', { type: T.INT8, value: -128 }],
  ['i8.max', { type: T.INT8, value: 127 }],
  ['u16.max', { type: T.UINT16, value: 65535 }],
  ['i16.min', { type: T.INT16, value: -32768 }],
  ['u32.max', { type: T.UINT32, value: 4294967295 }],
  ['i32.min', { type: T.INT32, value: -2147483648 }],
  ['f32.pi', { type: T.FLOAT32, value: Math.fround(Math.PI) }],
  ['f32.negzero', { type: T.FLOAT32, value: -0 }],
  ['f32.inf', { type: T.FLOAT32, value: -Infinity }],
  ['f32.nan', { type: T.FLOAT32, value: NaN }],
  ['f32.tiny', { type: T.FLOAT32, value: Math.fround(1e-45) }], // smallest subnormal
  ['f64.pi', { type: T.FLOAT64, value: Math.PI }],
  ['f64.min', { type: T.FLOAT64, value: Number.MIN_VALUE }],
  ['u64.max', { type: T.UINT64, value: 2n ** 64n - 1n }],
  ['u64.big', { type: T.UINT64, value: 2n ** 53n + 1n }], // not a safe JS number: must stay bigint
  ['i64.min', { type: T.INT64, value: -(2n ** 63n) }],
  ['bool.true', { type: T.BOOL, value: true }],
  ['bool.false', { type: T.BOOL, value: false }],
  ['str.empty', { type: T.STRING, value: '' }],
  ['str.bom', { type: T.STRING, value: '\ufeffstarts with a byte-order mark' }],
  ['str.unicode', { type: T.STRING, value: 'naïve ▁日本語 🦙 \u0000 end' }],
  ['clé.ünïcödé.🔑', { type: T.STRING, value: 'the key is unicode too' }],
  ['a.u8', arr(T.UINT8, new Uint8Array([0, 1, 255]))],
  ['a.i8', arr(T.INT8, new Int8Array([-128, 0, 127]))],
  ['a.u16', arr(T.UINT16, new Uint16Array([0, 65535]))],
  ['a.i16', arr(T.INT16, new Int16Array([-32768, 32767]))],
  ['a.u32', arr(T.UINT32, new Uint32Array([0, 4294967295, 7]))],
  ['a.i32', arr(T.INT32, new Int32Array([-2147483648, 2147483647, -1]))],
  ['a.f32', arr(T.FLOAT32, new Float32Array([1.5, -0, Infinity, NaN, 3.4028234663852886e38]))],
  ['a.f64', arr(T.FLOAT64, new Float64Array([Math.E, -0, Number.MAX_VALUE]))],
  ['a.u64', arr(T.UINT64, new BigUint64Array([0n, 2n ** 64n - 1n]))],
  ['a.i64', arr(T.INT64, new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]))],
  ['a.bool', arr(T.BOOL, [true, false, true])],
  ['a.str', arr(T.STRING, ['', '▁like', '<0x0A>', '🦙🦙', '\ufeff', 'x'.repeat(1000)])],
  ['a.nested', arr(T.ARRAY, [arr(T.UINT32, new Uint32Array([1, 2])), arr(T.UINT32, new Uint32Array([])), arr(T.UINT32, new Uint32Array([3]))])],
  ['a.nested.str', arr(T.ARRAY, [arr(T.STRING, ['a', 'bé']), arr(T.STRING, [])])],
  ['a.nested.deep', arr(T.ARRAY, [arr(T.ARRAY, [arr(T.INT8, new Int8Array([-1])), arr(T.BOOL, [false])]), arr(T.ARRAY, [])])],
  ['a.empty.u8', arr(T.UINT8, new Uint8Array(0))],
  ['a.empty.i64', arr(T.INT64, new BigInt64Array(0))],
  ['a.empty.f64', arr(T.FLOAT64, new Float64Array(0))],
  ['a.empty.bool', arr(T.BOOL, [])],
  ['a.empty.str', arr(T.STRING, [])],
  ['a.empty.nested', arr(T.ARRAY, [])],
];

/** Deterministic bytes for tensor data (content is not interpreted by the reader). */
function bytes(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt * 17 + (i >> 8)) & 0xff;
  return b;
}

function tensor(name: string, dims: number[], type: number, salt: number): TensorToWrite & { data: Uint8Array } {
  return { name, dims, type, data: bytes(bytesFor(type, dims.reduce((a, b) => a * b, 1)), salt) };
}

// sizes chosen so that no tensor ends on an alignment boundary: padding must be inserted and honoured
const TENSORS = [
  tensor('token_embd.weight', [8, 5], GgmlType.F32, 1), // 160 bytes
  tensor('norm', [3], GgmlType.F32, 2), // 12 bytes
  tensor('blk.0.attn_q.weight', [64, 7], GgmlType.Q8_0, 3), // 7 rows of 68 bytes
  tensor('f16.4d', [2, 3, 5, 7], GgmlType.F16, 4), // 4 dims
  tensor('q4k', [256, 3], GgmlType.Q4_K, 5),
  tensor('名前.unicode', [1], GgmlType.F16, 6), // 2 bytes
];

function openBytes(b: Uint8Array): GgufFile {
  return GgufFile.fromSource(new BufferSource(b));
}

describe('GGUF writer -> reader round trip', () => {
  for (const version of [2, 3] as const) {
    test(`metadata of every value type survives (version ${version})`, () => {
      const f = openBytes(encodeGguf({ version, metadata: METADATA, tensors: [] }));
      assert.equal(f.version, version);
      assert.deepEqual([...f.metadata.keys()], METADATA.map(([k]) => k), 'keys in file order');
      for (const [key, value] of METADATA) assert.deepStrictEqual(f.value(key), value, key);
      assert.equal(f.tensors.length, 0);
    });
  }

  test('64-bit integers stay exact bigints; plain values are JS values', () => {
    const f = openBytes(encodeGguf({ metadata: METADATA, tensors: [] }));
    assert.equal(f.get('u64.big'), 2n ** 53n + 1n);
    assert.equal(f.get('str.unicode'), 'naïve ▁日本語 🦙 \u0000 end');
    assert.deepEqual(f.get('a.nested'), [[1, 2], [], [3]]);
    assert.deepEqual(f.get('a.str'), ['', '▁like', '<0x0A>', '🦙🦙', '\ufeff', 'x'.repeat(1000)]);
    assert.equal(f.get('absent'), undefined);
  });

  test('a typed array of another element layout is written value by value, not as raw bytes', () => {
    const f = openBytes(encodeGguf({
      metadata: [
        ['f32.from.f64', arr(T.FLOAT32, new Float64Array([0.5, -2, 1e10]) as unknown as Float32Array)],
        ['i16.from.i32', arr(T.INT16, new Int32Array([-3, 300]) as unknown as Int16Array)],
      ],
      tensors: [],
    }));
    assert.deepStrictEqual(f.value('f32.from.f64'), arr(T.FLOAT32, new Float32Array([0.5, -2, 1e10])));
    assert.deepStrictEqual(f.value('i16.from.i32'), arr(T.INT16, new Int16Array([-3, 300])));
  });

  for (const alignment of [GGUF_DEFAULT_ALIGNMENT, 64, 1, 4096]) {
    test(`tensor directory and data with alignment ${alignment}`, () => {
      const metadata: Array<readonly [string, GgufValue]> = [['general.name', { type: T.STRING, value: 'odd sizes' }]];
      if (alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.push(['general.alignment', { type: T.UINT32, value: alignment }]);
      const file = encodeGguf({ metadata, tensors: TENSORS });
      const f = openBytes(file);
      assert.equal(f.alignment, alignment);
      assert.equal(f.dataOffset % alignment, 0, 'data section starts aligned');
      // the header ends somewhere inside the last alignment unit before the data section
      assert.ok(f.dataOffset - alignment < headerLength(metadata, TENSORS) && headerLength(metadata, TENSORS) <= f.dataOffset);

      assert.deepEqual(f.tensors.map((t) => t.name), TENSORS.map((t) => t.name));
      let expectedOffset = 0;
      TENSORS.forEach((w, i) => {
        const t = f.tensors[i]!;
        const nElements = w.dims.reduce((a, b) => a * b, 1);
        assert.deepEqual(t.dims, w.dims, `${w.name} dims`);
        assert.equal(t.type, w.type, `${w.name} type`);
        assert.equal(t.nElements, nElements);
        assert.equal(t.nBytes, w.data.byteLength, `${w.name} nBytes`);
        assert.equal(t.offset, expectedOffset, `${w.name} offset`);
        assert.equal(t.offset % alignment, 0, `${w.name} offset aligned`);
        expectedOffset += Math.ceil(t.nBytes / alignment) * alignment;
        assert.deepEqual(f.readTensorBytes(t), w.data, `${w.name} data`);
        assert.deepEqual(file.subarray(f.dataOffset + t.offset, f.dataOffset + t.offset + t.nBytes), w.data);
        assert.equal(f.tensor(w.name), t);
      });
      assert.equal(file.byteLength, f.dataOffset + expectedOffset, 'file ends after the last padded tensor');
    });
  }

  test('readRowBytes of middle rows is the matching slice of the tensor', () => {
    const f = openBytes(encodeGguf({ metadata: [['general.alignment', { type: T.UINT32, value: 64 }]], tensors: TENSORS }));
    const q = f.requireTensor('blk.0.attn_q.weight'); // Q8_0, 64 per row: 2 blocks of 34 bytes
    const src = TENSORS[2]!.data;
    assert.deepEqual(f.readRowBytes(q, 3), src.subarray(3 * 68, 4 * 68));
    assert.deepEqual(f.readRowBytes(q, 2, 3), src.subarray(2 * 68, 5 * 68));
    assert.deepEqual(f.readRowBytes(q, 6), src.subarray(6 * 68, 7 * 68));
    const e = f.requireTensor('token_embd.weight');
    assert.deepEqual(f.readRowBytes(e, 2), TENSORS[0]!.data.subarray(64, 96));
    const t4 = f.requireTensor('f16.4d'); // rows of 2 elements; 105 rows across the 3 outer dims
    assert.deepEqual(f.readRowBytes(t4, 52), TENSORS[3]!.data.subarray(52 * 4, 53 * 4));
    assert.deepEqual(f.readTensorBytes(e, 10, 20), TENSORS[0]!.data.subarray(10, 30));
    assert.throws(() => f.readRowBytes(q, 6, 2), RangeError);
    assert.throws(() => f.readRowBytes(q, -1), RangeError);
    assert.throws(() => f.readTensorBytes(e, 150, 20), RangeError);
  });

  test('writeGguf on disk equals encodeGguf, streams producers, and leaves no temporary file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-rt-'));
    try {
      const file = path.join(dir, 'model.gguf');
      let produced = 0;
      const lazy = TENSORS.map((t) => ({ ...t, data: () => (produced++, t.data) }));
      writeGguf(file, { version: 2, metadata: METADATA, tensors: lazy });
      assert.equal(produced, TENSORS.length, 'each producer called once');
      assert.deepEqual(new Uint8Array(fs.readFileSync(file)), encodeGguf({ version: 2, metadata: METADATA, tensors: TENSORS }));
      assert.deepEqual(fs.readdirSync(dir), ['model.gguf']);
      const f = GgufFile.open(file);
      try {
        assert.equal(f.version, 2);
        assert.equal(f.fileSize, fs.statSync(file).size);
        assert.deepEqual(f.readTensorBytes(f.requireTensor('q4k')), TENSORS[4]!.data);
      } finally {
        f.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the writer refuses data of the wrong size and an alignment the reader would refuse, leaving no file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-rt-'));
    try {
      const file = path.join(dir, 'bad.gguf');
      const short = { name: 'x', dims: [32], type: GgmlType.Q8_0, data: new Uint8Array(33) };
      assert.throws(() => writeGguf(file, { metadata: [], tensors: [short] }), /needs 34 bytes, got 33/);
      for (const value of [48, 0]) {
        assert.throws(() => writeGguf(file, { metadata: [['general.alignment', { type: T.UINT32, value }]], tensors: [] }), /power-of-two/);
      }
      assert.deepEqual(fs.readdirSync(dir), [], 'no partial or temporary file left behind');
      // a failing final rename (the target is a directory) reports the rename's own error, not a
      // second close of the already closed file (EBADF), and still removes the temporary file
      const target = path.join(dir, 'is-a-dir.gguf');
      fs.mkdirSync(path.join(target, 'inner'), { recursive: true });
      assert.throws(() => writeGguf(target, { metadata: [], tensors: [] }), (e: NodeJS.ErrnoException) => e.syscall === 'rename' && e.code !== 'EBADF');
      assert.deepEqual(fs.readdirSync(dir), ['is-a-dir.gguf']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Header size computed from the GGUF layout itself (not from the reader). */
function headerLength(metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly TensorToWrite[]): number {
  const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');
  let n = 4 + 4 + 8 + 8;
  for (const [k, v] of metadata) {
    n += 8 + utf8(k) + 4;
    if (v.type === T.STRING) n += 8 + utf8(v.value);
    else if (v.type === T.UINT32) n += 4;
    else throw new Error('headerLength handles the metadata of this test only');
  }
  for (const t of tensors) n += 8 + utf8(t.name) + 4 + 8 * t.dims.length + 4 + 8;
  return n;
}
