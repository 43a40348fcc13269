// LlamaModelFile on the generated fixture models: hyperparameters, dictionaries (W_E, W_U and the
// tied fallback), grouped-query head slices, embedding rows against the values the generator
// wrote, token strings, and validate()'s refusals. Quantized fixtures are checked two ways: the
// row's bytes are exactly what ggml's quantizer makes of the generator's row, and the decoded
// values are within that format's quantization error of the generator's floats.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFixture, FIXTURES, fixtureTensors, fullShape, TOK, type FixtureName, type FixtureSpec } from '../fixtures/models';
import { LlamaModelFile, MATRIX_ROLES } from '../../src/engine/gguf/llamaModel';
import { GgufFile } from '../../src/engine/gguf/reader';
import { BufferSource } from '../../src/engine/gguf/source';
import { encodeGguf } from '../../src/engine/gguf/writer';
import { GgmlType, typeName } from '../../src/engine/gguf/ggmlTypes';
import { llamaMetadata, llamaTensorShapes, writeLlamaGguf, type FloatTensor, type LlamaShape, type Quantizer } from '../../src/engine/gguf/llamaWriter';
import { gguf, type GgufValue } from '../../src/engine/gguf/values';
import { floatToHalf, halfToFloat } from '../../src/engine/util/half';
import { InnerWorldError, type ErrorCode } from '../../src/engine/errors';
import { getBackend } from '../../src/engine/llama/backend';
import { ggmlQuantizer } from '../../src/engine/llama/quantize';

const models = new Map<FixtureName, LlamaModelFile>();
let quantize: Quantizer;
let tmp: string;

before(async () => {
  quantize = ggmlQuantizer((await getBackend()).native);
  for (const name of Object.keys(FIXTURES) as FixtureName[]) models.set(name, LlamaModelFile.open(await ensureFixture(name)));
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-model-'));
});
after(() => {
  for (const m of models.values()) m.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function model(name: FixtureName): LlamaModelFile {
  return models.get(name)!;
}

const generatedTensors = new Map<FixtureSpec, FloatTensor[]>();
/** The generator's float values of one tensor (the generator runs once per fixture: it is slow). */
function generated(spec: FixtureSpec, name: string): Float32Array {
  if (!generatedTensors.has(spec)) generatedTensors.set(spec, fixtureTensors(spec));
  const t = generatedTensors.get(spec)!.find((x) => x.name === name)!;
  return typeof t.data === 'function' ? t.data() : t.data;
}

function bitsEqual(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InnerWorldError, `expected an InnerWorldError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('LlamaModelFile on the fixtures', () => {
  for (const name of Object.keys(FIXTURES) as FixtureName[]) {
    test(`${name}: hyperparameters equal the fixture spec; the file validates`, () => {
      const spec: FixtureSpec = FIXTURES[name];
      const s = fullShape(spec);
      const m = model(name);
      assert.deepEqual(m.hparams, {
        arch: 'llama',
        nLayers: s.nLayers,
        dModel: s.dModel,
        nHeads: s.nHeads,
        nKvHeads: s.nKvHeads,
        dHead: s.dModel / s.nHeads,
        dFf: s.dFf,
        nVocab: 32000,
        nCtxTrain: s.nCtxTrain,
        rmsEps: Math.fround(s.rmsEps), // stored as f32
        ropeFreqBase: s.ropeFreqBase,
        ropeDim: s.dModel / s.nHeads,
        nExperts: 0,
        nExpertsUsed: 0,
        dFfExpert: 0,
      });
      assert.equal(m.tiedEmbeddings, spec.tied);
      assert.equal(m.name, `fixture ${name}`);
      m.validate();
      assert.equal(m.W_E.type, spec.dictType ?? spec.matrixType);
      for (const role of MATRIX_ROLES) assert.equal(m.weight(role, s.nLayers - 1).type, spec.matrixType, role);
    });
  }

  test('W_U: output.weight when present, W_E when the embeddings are tied', () => {
    const tied = model('tiny-tied-q8');
    assert.equal(tied.file.tensor('output.weight'), undefined);
    assert.equal(tied.W_U, tied.W_E);
    assert.equal(tied.W_U.name, 'token_embd.weight');
    assert.ok(bitsEqual(tied.rows(tied.W_U, TOK.cat), tied.rows(tied.W_E, TOK.cat)));

    const untied = model('tiny-f32');
    assert.equal(untied.W_U.name, 'output.weight');
    assert.deepEqual(untied.W_U.dims, [64, 32000]);
    assert.ok(bitsEqual(untied.rows(untied.W_U, TOK.cat), generated(FIXTURES['tiny-f32'], 'output.weight').subarray(TOK.cat * 64, TOK.cat * 64 + 64)));
    assert.ok(!bitsEqual(untied.rows(untied.W_U, TOK.cat), untied.rows(untied.W_E, TOK.cat)));
  });

  test('headSlice maps query heads onto their kv head (8 heads, 2 kv heads)', () => {
    const m = model('tiny-gqa-f16');
    const { dHead, dModel, nHeads } = m.hparams;
    assert.equal(nHeads, 8);
    assert.deepEqual(Array.from({ length: 8 }, (_, h) => m.kvHeadOf(h)), [0, 0, 0, 0, 1, 1, 1, 1]);
    const size = dHead * dModel;
    for (let layer = 0; layer < 2; layer++) {
      for (const role of ['W_K', 'W_V'] as const) {
        const full = m.full(m.weight(role, layer)); // [n_kv_heads * d_head rows, d_model]
        assert.equal(full.length, 2 * size);
        assert.ok(!bitsEqual(full.subarray(0, size), full.subarray(size)), 'the two kv heads differ');
        for (let h = 0; h < 8; h++) {
          const kv = h < 4 ? 0 : 1;
          assert.ok(bitsEqual(m.headSlice(role, layer, h), full.subarray(kv * size, (kv + 1) * size)), `${role} L${layer}H${h} -> kv ${kv}`);
        }
      }
      const q = m.full(m.weight('W_Q', layer));
      for (let h = 0; h < 8; h++) assert.ok(bitsEqual(m.headSlice('W_Q', layer, h), q.subarray(h * size, (h + 1) * size)), `W_Q L${layer}H${h}`);
    }
    expectCode(() => m.headSlice('W_K', 0, 8), 'bad-argument');
    expectCode(() => m.headSlice('W_Q', 2, 0), 'bad-argument');
  });

  test("the planted key head is found through the query head that reads it (L1H5 -> kv head 1)", () => {
    // the generator set W_K rows of L1H5's kv head to 3 * W_E[red], 3 * W_E[cat]
    const m = model('tiny-gqa-f16');
    const cos = (a: Float32Array, b: Float32Array): number => {
      let ab = 0, aa = 0, bb = 0;
      for (let i = 0; i < a.length; i++) {
        ab += a[i]! * b[i]!;
        aa += a[i]! ** 2;
        bb += b[i]! ** 2;
      }
      return ab / Math.sqrt(aa * bb);
    };
    const d = m.hparams.dModel;
    for (const h of [4, 5, 6, 7, 0]) {
      const k = m.headSlice('W_K', 1, h);
      const c = cos(k.subarray(0, d), m.rows(m.W_E, TOK.red));
      if (h >= 4) assert.ok(c > 0.9999, `L1H${h} row 0 is W_E[red] (cos ${c})`);
      else assert.ok(Math.abs(c) < 0.9, `L1H${h} is another kv head (cos ${c})`);
    }
    assert.ok(cos(m.headSlice('W_K', 1, 5).subarray(d, 2 * d), m.rows(m.W_E, TOK.cat)) > 0.9999);
  });

  test('W_E rows equal what the generator wrote: F32 exactly, F16 as its rounding', () => {
    for (const [name, exact] of [['tiny-f32', (x: number) => x], ['tiny-gqa-f16', (x: number) => halfToFloat(floatToHalf(x))]] as const) {
      const m = model(name);
      const values = generated(FIXTURES[name], 'token_embd.weight');
      const d = m.hparams.dModel;
      for (const tok of [0, TOK.BOS, TOK.red, TOK.blue, TOK.ball, 31999]) {
        const want = Float32Array.from(values.subarray(tok * d, (tok + 1) * d), exact);
        assert.ok(bitsEqual(m.rows(m.W_E, tok), want), `${name} W_E[${tok}]`);
      }
      // several rows at once equal the rows one by one
      const block = m.rows(m.W_E, TOK.red - 1, 3);
      assert.ok(bitsEqual(block.subarray(d, 2 * d), m.rows(m.W_E, TOK.red)));
    }
  });

  test('quantized W_E rows: the bytes are ggml’s quantization of the generated row; values within its error bound', () => {
    // bound per quantization block, as a fraction of the block's largest |x|:
    // Q8_0: half a step (amax / 127 / 2) plus the f16 rounding of the scale times 127 steps;
    // Q6_K (6-bit, 16-element sub-blocks with 8-bit scales): half a step of amax / 32 plus the
    // scale's own rounding, about amax / 50, with margin
    const cases = [
      { name: 'tiny-tied-q8' as const, type: GgmlType.Q8_0, block: 32, bound: (0.5 + 127 * 2 ** -11) / 127 + 1e-6 },
      { name: 'small-q4k' as const, type: GgmlType.Q6_K, block: 256, bound: 1 / 40 },
    ];
    for (const { name, type, block, bound } of cases) {
      const m = model(name);
      assert.equal(m.W_E.type, type);
      const values = generated(FIXTURES[name], 'token_embd.weight');
      const d = m.hparams.dModel;
      let worst = 0;
      for (const tok of [0, TOK.BOS, TOK.red, TOK.cat, TOK.game, 12345, 31999]) {
        const want = values.subarray(tok * d, (tok + 1) * d);
        assert.deepEqual(m.file.readRowBytes(m.W_E, tok), quantize(type, want.slice(), 1, d), `${name} W_E[${tok}] bytes`);
        const got = m.rows(m.W_E, tok);
        for (let b = 0; b < d; b += block) {
          let amax = 0;
          for (let i = b; i < b + block; i++) amax = Math.max(amax, Math.abs(want[i]!));
          for (let i = b; i < b + block; i++) {
            const err = Math.abs(got[i]! - want[i]!);
            worst = Math.max(worst, err / amax);
            assert.ok(err <= bound * amax, `${name} W_E[${tok}][${i}] = ${got[i]}, generated ${want[i]}: error ${err} > ${bound} * ${amax}`);
          }
        }
      }
      assert.ok(worst > 0, `${typeName(type)} does lose something (the check is not vacuous)`);
    }
  });

  test('token strings and special tokens', () => {
    for (const m of models.values()) {
      assert.equal(m.tokens.length, 32000);
      assert.equal(m.tokens, m.tokens, 'read once, then kept');
      assert.deepEqual([TOK.BOS, TOK.red, TOK.blue, TOK.cat, TOK.dog, TOK.play].map((t) => m.tokens[t]), ['<s>', '▁red', '▁blue', '▁cat', '▁dog', '▁play']);
      assert.equal(m.tokens[13], '<0x0A>');
      assert.deepEqual(m.specialTokens, { bos: 1, eos: 2, unk: 0 });
    }
  });
});

describe('LlamaModelFile refuses what is not a usable Llama model', () => {
  const SHAPE: LlamaShape = { nVocab: 40, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, dFf: 24, nCtxTrain: 64, rmsEps: 1e-5, ropeFreqBase: 10000 };

  function tensors(shape: LlamaShape, edit?: (t: FloatTensor) => FloatTensor | undefined): FloatTensor[] {
    const out: FloatTensor[] = [];
    for (const { name, dims } of llamaTensorShapes(shape, false)) {
      const t: FloatTensor = { name, dims, type: GgmlType.F32, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5) };
      const e = edit ? edit(t) : t;
      if (e) out.push(e);
    }
    return out;
  }

  function write(file: string, ts: FloatTensor[], extraMetadata: Parameters<typeof writeLlamaGguf>[1]['extraMetadata'] = [], shape = SHAPE): LlamaModelFile {
    const p = path.join(tmp, file);
    writeLlamaGguf(p, { shape, name: file, tokenizer: new Map(), tensors: ts, extraMetadata });
    return LlamaModelFile.open(p);
  }

  test('a complete small model validates (the control for the cases below)', () => {
    const m = write('complete.gguf', tensors(SHAPE));
    try {
      m.validate();
      assert.equal(m.hparams.dHead, 4);
      assert.equal(m.hparams.nVocab, 40);
    } finally {
      m.close();
    }
  });

  test("a missing block tensor: 'missing-tensor', naming it", () => {
    const m = write('no-ffn-down.gguf', tensors(SHAPE, (t) => (t.name === 'blk.1.ffn_down.weight' ? undefined : t)));
    try {
      expectCode(() => m.validate(), 'missing-tensor', /blk\.1\.ffn_down\.weight/);
    } finally {
      m.close();
    }
  });

  test("W_K with rows that do not match the kv heads: 'bad-gguf'", () => {
    const m = write('bad-k.gguf', tensors(SHAPE, (t) => (t.name === 'blk.0.attn_k.weight' ? { ...t, dims: [16, 12], data: new Float32Array(16 * 12) } : t)));
    try {
      expectCode(() => m.validate(), 'bad-gguf', /blk\.0\.attn_k\.weight is \[16, 12\] but 8 rows/);
    } finally {
      m.close();
    }
  });

  test('attention.key_length sets d_head when heads are not d_model / n_heads wide', () => {
    // 4 heads of 8 on a 16-wide model (as Mistral Nemo's 32 heads of 128 on 5120)
    const wide = tensors(SHAPE, (t) => {
      const rows = /attn_q/.test(t.name) ? 32 : /attn_[kv]\./.test(t.name) ? 16 : 0;
      if (rows) return { ...t, dims: [16, rows], data: Float32Array.from({ length: 16 * rows }, (_, i) => i) };
      if (/attn_output/.test(t.name)) return { ...t, dims: [32, 16], data: new Float32Array(32 * 16) };
      return t;
    });
    const m = write('key-length.gguf', wide, [['llama.attention.key_length', gguf.u32(8)], ['llama.attention.value_length', gguf.u32(8)]]);
    try {
      assert.equal(m.hparams.dHead, 8);
      m.validate();
      const k = m.headSlice('W_K', 0, 3); // head 3 -> kv head 1: rows 8..15
      assert.equal(k.length, 8 * 16);
      assert.equal(k[0], 8 * 16);
    } finally {
      m.close();
    }
  });

  test('per-layer hyperparameter arrays (as llama.cpp accepts them) are read layer by layer', () => {
    // layer 0: 4 heads (2 kv), d_ff 24; layer 1: 2 heads (1 kv), d_ff 12; heads 4 wide
    const perLayer = { heads: [4, 2], kv: [2, 1], ff: [24, 12] };
    const ts = tensors(SHAPE, (t) => {
      const l = Number(/^blk\.(\d+)\./.exec(t.name)?.[1] ?? -1);
      if (l !== 1) return t;
      const rows = /attn_q\./.test(t.name) ? 8 : /attn_[kv]\./.test(t.name) ? 4 : /ffn_(gate|up)/.test(t.name) ? 12 : 0;
      if (rows) return { ...t, dims: [16, rows], data: Float32Array.from({ length: 16 * rows }, (_, i) => i) };
      if (/attn_output/.test(t.name)) return { ...t, dims: [8, 16], data: new Float32Array(8 * 16) };
      if (/ffn_down/.test(t.name)) return { ...t, dims: [12, 16], data: new Float32Array(12 * 16) };
      return t;
    });
    const arrays = (heads: number[], kv: number[], ff: number[]): Array<readonly [string, GgufValue]> =>
      llamaMetadata(SHAPE, 'per-layer').map(([k, v]): readonly [string, GgufValue] =>
        k === 'llama.attention.head_count' ? [k, gguf.i32s(Int32Array.from(heads))] : k === 'llama.attention.head_count_kv' ? [k, gguf.i32s(Int32Array.from(kv))] : k === 'llama.feed_forward_length' ? [k, gguf.i32s(Int32Array.from(ff))] : [k, v],
      );
    const open = (metadata: Array<readonly [string, GgufValue]>): LlamaModelFile => {
      const tb = encodeGguf({ metadata: [...metadata, ['llama.attention.key_length', gguf.u32(4)]], tensors: ts.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: new Uint8Array((t.data as Float32Array).buffer) })) });
      return new LlamaModelFile(GgufFile.fromSource(new BufferSource(tb)));
    };
    const m = open(arrays(perLayer.heads, perLayer.kv, perLayer.ff));
    // the scalar fields are layer 0's (llama.cpp's n_head(), n_head_kv(), n_ff())
    assert.deepEqual([m.hparams.nHeads, m.hparams.nKvHeads, m.hparams.dFf, m.hparams.dHead], [4, 2, 24, 4]);
    assert.deepEqual(m.layerShape(0), { nHeads: 4, nKvHeads: 2, dFf: 24 });
    assert.deepEqual(m.layerShape(1), { nHeads: 2, nKvHeads: 1, dFf: 12 });
    m.validate();
    const k = m.headSlice('W_K', 1, 1); // layer 1: both query heads read kv head 0, rows 0..3
    assert.equal(k[0], 0);
    assert.equal(m.kvHeadOf(1, 1), 0);
    assert.equal(m.kvHeadOf(3, 0), 1);
    expectCode(() => m.headSlice('W_Q', 1, 2), 'bad-argument', /head 2 is outside 0..1/);
    // an array of the wrong length, or heads that do not divide: refused with the reason
    expectCode(() => open(arrays([4, 2, 2], perLayer.kv, perLayer.ff)), 'bad-gguf', /head_count lists 3 values but the model has 2 layers/);
    expectCode(() => open(arrays([4, 3], [2, 2], perLayer.ff)), 'bad-gguf', /in layer 1: d_model 16, 3 heads of 4, 2 kv heads/);
    // a uniform array reads as its one value
    const u = open(arrays([4, 4], [2, 2], [24, 24]));
    assert.deepEqual([u.hparams.nHeads, u.hparams.nKvHeads, u.hparams.dFf], [4, 2, 24]);
  });

  test("no general.architecture: 'not-llama'; an architecture without its hyperparameters: 'not-llama'", () => {
    const noArch = GgufFile.fromSource(new BufferSource(encodeGguf({ metadata: [['general.name', gguf.str('vocab only')]], tensors: [] }), 'no-arch.gguf'));
    expectCode(() => new LlamaModelFile(noArch), 'not-llama', /general\.architecture/);
    const noHparams = GgufFile.fromSource(new BufferSource(encodeGguf({ metadata: [['general.architecture', gguf.str('llama')], ['llama.attention.head_count', gguf.u32(4)]], tensors: [] })));
    expectCode(() => new LlamaModelFile(noHparams), 'not-llama', /llama\.embedding_length/);
  });

  test("a file that is not GGUF: 'bad-gguf' from open", () => {
    const p = path.join(tmp, 'not.gguf');
    fs.writeFileSync(p, 'PK\x03\x04 a zip file, say');
    expectCode(() => LlamaModelFile.open(p), 'bad-gguf', /not a GGUF file/);
  });

  test("a tensor type we cannot decode: 'unsupported-tensor-type' naming the type", () => {
    const tb = encodeGguf({
      metadata: [
        ['general.architecture', gguf.str('llama')],
        ['llama.embedding_length', gguf.u32(32)],
        ['llama.attention.head_count', gguf.u32(4)],
        ['llama.block_count', gguf.u32(0)],
        ['llama.feed_forward_length', gguf.u32(64)],
      ],
      tensors: [{ name: 'token_embd.weight', dims: [32, 2], type: GgmlType.IQ4_NL, data: new Uint8Array(36) }],
    });
    const m = new LlamaModelFile(GgufFile.fromSource(new BufferSource(tb)));
    expectCode(() => m.rows(m.W_E, 1), 'unsupported-tensor-type', /unsupported tensor type IQ4_NL/);
  });
});
