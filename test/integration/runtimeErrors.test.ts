// Bad input gets an InnerWorldError with a code and a message naming what is wrong, and the
// session (and the process) keep working afterwards. node-llama-cpp's own API shares the process
// and the libraries: it keeps working next to our instrumented decodes, and neither changes the
// other's results.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Llama, Token } from 'node-llama-cpp';
import { isInnerWorldError, type ErrorCode } from '../../src/engine/errors';
import { isDequantizable } from '../../src/engine/gguf/dequant';
import { GgmlType, typeName } from '../../src/engine/gguf/ggmlTypes';
import { readTokenizerMetadata, writeLlamaGguf, type FloatTensor } from '../../src/engine/gguf/llamaWriter';
import { gguf } from '../../src/engine/gguf/values';
import { writeGguf } from '../../src/engine/gguf/writer';
import { GgufFile } from '../../src/engine/gguf/reader';
import { getBackend } from '../../src/engine/llama/backend';
import { ggmlToFloat } from '../../src/engine/llama/native';
import { writeBadModels } from '../fixtures/badModels';
import { ggmlQuantizer } from '../../src/engine/llama/quantize';
import { ModelSession } from '../../src/engine/llama/session';
import { ensureFixture, FIXTURES, fixtureTensors, fullShape, vocabPath } from '../fixtures/models';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-errors-'));
const PROMPT = 'I like the red ball';

function fixtureLike(file: string, tensors: (ts: FloatTensor[]) => FloatTensor[], quantize?: Parameters<typeof writeLlamaGguf>[1]['quantize']): string {
  const spec = FIXTURES['tiny-f32'];
  writeLlamaGguf(file, { shape: fullShape(spec), name: path.basename(file), tokenizer: readTokenizerMetadata(vocabPath()), tensors: tensors(fixtureTensors(spec)), quantize });
  return file;
}

/** Set the ggml type id of one tensor in a written file's header (for types no writer accepts). */
function patchTensorType(file: string, tensor: string, type: number): void {
  const buf = fs.readFileSync(file);
  const at = buf.indexOf(Buffer.from(tensor)) + Buffer.byteLength(tensor);
  const nDims = buf.readUInt32LE(at);
  buf.writeUInt32LE(type, at + 4 + nDims * 8);
  fs.writeFileSync(file, buf);
}

async function rejects(file: string, code: ErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(ModelSession.open(file, { threads: 2 }), (e) => {
    assert.ok(isInnerWorldError(e), `an InnerWorldError, not ${String(e)}`);
    assert.equal(e.code, code, `code of "${e.message}"`);
    assert.match(e.message, message);
    return true;
  });
}

describe('runtime errors', () => {
  let good: ModelSession;
  let baseline: Float32Array;
  let ids: number[];
  before(async () => {
    good = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2 });
    ids = good.tokenize(PROMPT).tokens.map((t) => t.id);
    baseline = good.run(ids, { hooks: [], logits: true }).logits!.data;
  });
  after(() => {
    good.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The session still gives the same logits, bit for bit. */
  function stillWorks(): void {
    assert.deepEqual(good.run(ids, { hooks: [], logits: true }).logits!.data, baseline, 'the session still works, with the same result');
  }

  test('a GGUF of another architecture (gpt2): not-llama, naming it', async () => {
    // the same gpt2 file a user may pick by mistake in the e2e tests
    const file = writeBadModels(dir).gpt2;
    await rejects(file, 'not-llama', /"gpt2"/);
    stillWorks();
  });

  test('what llama.cpp would abort on is refused before it sees the file: block_count 0, a NaN epsilon, an SPM vocabulary without byte tokens', async () => {
    const spec = FIXTURES['tiny-f32'];
    const tokenizer = readTokenizerMetadata(vocabPath());
    const write = (name: string, edit: (meta: Map<string, ReturnType<typeof gguf.u32>>) => void): string => {
      const file = path.join(dir, `${name}.gguf`);
      writeLlamaGguf(file, { shape: fullShape(spec), name, tokenizer, tensors: fixtureTensors(spec) });
      const f = GgufFile.open(file);
      const meta = new Map(f.metadata);
      const tensors = f.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: f.readTensorBytes(t) }));
      f.close();
      edit(meta);
      writeGguf(file, { metadata: meta, tensors });
      return file;
    };
    await rejects(write('no-layers', (m) => m.set('llama.block_count', gguf.u32(0))), 'bad-gguf', /no-layers\.gguf" cannot be used: llama\.block_count is 0/);
    await rejects(write('nan-eps', (m) => m.set('llama.attention.layer_norm_rms_epsilon', gguf.f32(NaN))), 'bad-gguf', /layer_norm_rms_epsilon is NaN/);
    const tokens = tokenizer.get('tokenizer.ggml.tokens')!.value as string[];
    await rejects(write('no-bytes', (m) => m.set('tokenizer.ggml.tokens', gguf.strings(tokens.map((t) => (t === '<0x41>' ? '<0x41>?' : t))))), 'bad-gguf', /lacks 1 of its 256 byte tokens \(<0x41>\)/);
    stillWorks();
  });

  test('missing tensors: missing-tensor, naming them', async () => {
    const file = fixtureLike(path.join(dir, 'missing.gguf'), (ts) => ts.filter((t) => t.name !== 'blk.1.ffn_up.weight' && t.name !== 'output_norm.weight'));
    await rejects(file, 'missing-tensor', /output_norm\.weight.*blk\.1\.ffn_up\.weight|blk\.1\.ffn_up\.weight.*output_norm\.weight/);
    stillWorks();
  });

  test('a weight of a type ggml cannot multiply with (I32): unsupported-tensor-type, before llama.cpp crashes on it', async () => {
    // llama.cpp loads such a file and then segfaults in the first decode: it must never get there
    const file = fixtureLike(path.join(dir, 'i32.gguf'), (ts) => ts);
    patchTensorType(file, 'blk.0.attn_q.weight', GgmlType.I32); // same 4 bytes per value as F32
    await rejects(file, 'unsupported-tensor-type', /blk\.0\.attn_q\.weight.*I32/);
    stillWorks();
  });

  test('a tensor type this ggml does not know (id 4, the removed Q4_2): bad-gguf, naming the tensor', async () => {
    const file = fixtureLike(path.join(dir, 'q4_2.gguf'), (ts) => ts);
    patchTensorType(file, 'blk.1.attn_k.weight', 4);
    await rejects(file, 'bad-gguf', /blk\.1\.attn_k\.weight.*type 4/);
    stillWorks();
  });

  test('a type llama.cpp runs but our readers cannot dequantize: the session runs, reading the dictionary says unsupported-tensor-type', async () => {
    const { native } = await getBackend();
    // the first of these that ggml quantizes without an importance matrix and we cannot read
    const type = [GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.MXFP4, GgmlType.TQ2_0].find((t) => !isDequantizable(t) && !native.base.ggml_quantize_requires_imatrix(t) && 64 % native.base.ggml_blck_size(t) === 0);
    assert.ok(type !== undefined, 'a ggml type our dequantizers do not read is left to test with; update this test');
    const file = fixtureLike(path.join(dir, 'unreadable.gguf'), (ts) => ts.map((t) => (t.dims.length === 2 ? { ...t, type } : t)), ggmlQuantizer(native));
    const s = await ModelSession.open(file, { threads: 2 });
    try {
      const c = s.run(ids, { hooks: ['hook_embed'], logits: true });
      assert.ok(c.logits!.data.every(Number.isFinite), 'llama.cpp computes finite logits');
      // the embedding rows are ggml's own dequantization of W_E
      const W_E = s.file.W_E;
      const rowBytes = native.base.ggml_type_size(type) * (W_E.dims[0]! / native.base.ggml_blck_size(type));
      ids.forEach((tok, p) => {
        const bytes = s.file.file.readTensorBytes(W_E, tok * rowBytes, rowBytes);
        assert.deepEqual(c.row('hook_embed', p), ggmlToFloat(native, type, bytes, W_E.dims[0]!), `hook_embed row ${p}`);
      });
      assert.throws(
        () => s.file.rows(W_E, 1),
        (e) => isInnerWorldError(e) && e.code === 'unsupported-tensor-type' && e.message.includes(typeName(type)) && e.message.includes('token_embd.weight'),
      );
    } finally {
      s.dispose();
    }
    stillWorks();
  });

  test('a file that is not GGUF, and a truncated one: bad-gguf', async () => {
    const text = path.join(dir, 'notes.gguf');
    fs.writeFileSync(text, 'These are my notes, not a model.\n');
    await rejects(text, 'bad-gguf', /not a GGUF file/);
    const cut = path.join(dir, 'truncated.gguf');
    const whole = fs.readFileSync(await ensureFixture('tiny-f32'));
    fs.writeFileSync(cut, whole.subarray(0, whole.length >> 1));
    await rejects(cut, 'bad-gguf', /truncated\.gguf/);
    stillWorks();
  });

  test('a file that does not exist: model-load-failed, naming the path', async () => {
    await rejects(path.join(dir, 'nowhere.gguf'), 'model-load-failed', /not found.*nowhere\.gguf/);
    stillWorks();
  });

  test('token ids outside the vocabulary: bad-argument, in run and runBatch', () => {
    for (const bad of [[1, 32000], [1, -1], [1, 2.5], [1, Number.NaN]]) {
      assert.throws(() => good.run(bad, { hooks: [] }), (e) => isInnerWorldError(e) && e.code === 'bad-argument' && /outside the vocabulary/.test(e.message), `run ${bad}`);
      assert.throws(() => good.runBatch([[1, 306], bad], 'hook_embed'), (e) => isInnerWorldError(e) && e.code === 'bad-argument', `runBatch ${bad}`);
    }
    assert.throws(() => good.runBatch([[1, 306]], 'blocks.9.hook_resid_post'), (e) => isInnerWorldError(e) && e.code === 'bad-argument' && /4 layers/.test(e.message));
    assert.throws(() => good.runBatch([[1, 306]], 'blocks.0.attn.hook_pattern'), (e) => isInnerWorldError(e) && e.code === 'bad-argument');
    assert.throws(() => good.runBatch([[1, 306], []], 'hook_embed'), (e) => isInnerWorldError(e) && e.code === 'empty-prompt');
    stillWorks();
  });

  test('a released session says no-model', async () => {
    const s = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2 });
    s.dispose();
    assert.throws(() => s.run(ids, { hooks: [] }), (e) => isInnerWorldError(e) && e.code === 'no-model');
    stillWorks();
  });
});

describe("node-llama-cpp's own API in the same process", () => {
  test('keeps working before and after our instrumented decodes; neither changes the other', async () => {
    const file = await ensureFixture('tiny-f32');
    const ours = await ModelSession.open(file, { threads: 2 });
    const llama = (await (await getBackend()).nodeLlama()) as Llama;
    const model = await llama.loadModel({ modelPath: file });
    const context = await model.createContext({ contextSize: 256 });
    try {
      const ids = ours.tokenize(PROMPT).tokens.map((t) => t.id);
      const hooks = ['blocks.3.hook_resid_post', 'blocks.1.attn.hook_pattern'];
      const before = ours.run(ids, { hooks, logits: true });

      const greedy = async (): Promise<number[]> => {
        const seq = context.getSequence();
        const out: number[] = [];
        try {
          for await (const tok of seq.evaluate(ids as Token[], { temperature: 0 })) {
            out.push(tok);
            if (out.length === 4) break;
          }
        } finally {
          seq.dispose();
        }
        return out;
      };
      const first = await greedy();

      const during = ours.run(ids, { hooks, logits: true });
      for (const h of hooks) assert.deepEqual(during.get(h).data, before.get(h).data, `${h} unchanged by node-llama-cpp's decode`);
      assert.deepEqual(during.logits!.data, before.logits!.data, "logits unchanged by node-llama-cpp's decode");

      const second = await greedy();
      assert.deepEqual(second, first, "node-llama-cpp's greedy continuation is the same after our decodes");

      // and it is the continuation our logits predict, token by token
      const ourGreedy: number[] = [];
      for (let k = 0; k < 4; k++) {
        const c = ours.run([...ids, ...ourGreedy], { hooks: [], logits: true });
        const last = c.logitsAt(c.nPos - 1);
        ourGreedy.push(last.indexOf(Math.max(...last)));
      }
      assert.deepEqual(ourGreedy, first, 'our argmax continuation equals node-llama-cpp greedy generation');
    } finally {
      await context.dispose();
      await model.dispose();
    }
    const afterwards = ours.run(ours.tokenize(PROMPT).tokens.map((t) => t.id), { hooks: ['blocks.3.hook_resid_post'], logits: true });
    assert.ok(afterwards.logits!.data.every(Number.isFinite));
    ours.dispose();
  });
});
