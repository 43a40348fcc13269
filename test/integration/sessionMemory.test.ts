// What an inspection holds between decodes (bench/results/inspectionMemory.md): a context whose KV
// cache is large is freed after its decode and made again for the next one, with the same numbers;
// the KV cache is f32 while small (every test model: captures stay exact) and f16 beyond.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KV_F32_MAX_BYTES, ModelSession } from '../../src/engine/llama/session';
import { ensureFixture, TOK } from '../fixtures/models';
import { maxAbsDiff } from '../fixtures/compare';

describe('inspection contexts between decodes', () => {
  test('a context over the keep limit is freed after its decode; the next decode makes it again, same logits', async (t) => {
    const s = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2, keepContextBytes: 0 });
    t.after(() => s.dispose());
    const tokens = [TOK.BOS, TOK.red, TOK.ball, TOK.play];
    const a = s.run(tokens, { hooks: ['blocks.1.hook_resid_post'], logits: true });
    assert.equal(s.heldKvBytes, 0, 'nothing is held after the decode');
    const b = s.run(tokens, { hooks: ['blocks.1.hook_resid_post'], logits: true });
    assert.equal(s.heldKvBytes, 0);
    assert.equal(maxAbsDiff(a.logits!.data, b.logits!.data), 0, 'a fresh context decodes the same logits');
    assert.equal(maxAbsDiff(a.get('blocks.1.hook_resid_post')!.data, b.get('blocks.1.hook_resid_post')!.data), 0);
    // under the default limit a small model's context stays for the next decode
    const kept = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2 });
    t.after(() => kept.dispose());
    const c = kept.run(tokens, { hooks: [], logits: true });
    assert.ok(kept.heldKvBytes > 0, 'the small context is kept');
    assert.equal(maxAbsDiff(a.logits!.data, c.logits!.data), 0, 'freeing changes nothing in the numbers');
  });

  test("kvType 'auto': f32 up to KV_F32_MAX_BYTES, f16 beyond; an explicit type is kept", async (t) => {
    const s = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2 });
    t.after(() => s.dispose());
    const i = s.info;
    const perPosition = 2 * i.nLayers * i.nKvHeads * i.dHead * 4; // K and V, every layer, f32
    assert.equal(s.kvBytes(256, 'f32'), 256 * perPosition);
    assert.equal(s.kvBytes(256, 'f16'), 128 * perPosition);
    const limit = Math.floor(KV_F32_MAX_BYTES / perPosition);
    assert.equal(s.kvTypeFor(256), 'f32');
    assert.equal(s.kvTypeFor(limit), 'f32');
    assert.equal(s.kvTypeFor(limit + 1), 'f16');
    // Llama-2-7B: 1 MiB per position in f32, so a 2,064-token selection gets f16
    assert.equal(2 * 32 * 32 * 128 * 4, 1024 ** 2);
    const f32 = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2, kvType: 'f32' });
    t.after(() => f32.dispose());
    assert.equal(f32.kvTypeFor(limit + 1), 'f32');
  });
});
