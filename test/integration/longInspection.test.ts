// What keeps a long inspection small (bench/results/inspectionMemory.md, 4,096 tokens at the
// Llama-2-7B shape): the logits reduced to per-token numbers micro-batch by micro-batch, the
// states held as halves, and a q8_0 KV cache (llama.cpp's flash attention) for decodes that
// capture no pattern. Each is checked against an independent computation: a float64 log-softmax
// of llama.cpp's own logits, the float-to-half rounding (tested against ggml's encoder in
// dequantOracle.test.ts), and a plain decode with the same cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { heldBytes, isHalf } from '../../src/engine/activations';
import { patternHook, stateHook } from '../../src/engine/hookNames';
import { ModelSession, STATES_F32_MAX_BYTES } from '../../src/engine/llama/session';
import { runAnalysis } from '../../src/engine/workbench/analyses';
import { floatToHalf, halfToFloat } from '../../src/engine/util/half';
import { Workbench } from '../../src/engine/workbench/workbench';
import { ensureFixture } from '../fixtures/models';
import { maxAbs, maxAbsDiff } from '../fixtures/compare';

// about 700 tokens: two micro-batches of 512
const LONG = Array.from({ length: 60 }, (_, k) => `I like the red ball ${k}. We play.`).join(' ');

function logSoftmax(row: Float32Array): number[] {
  const max = Math.max(...row);
  const z = row.reduce((acc, x) => acc + Math.exp(x - max), 0);
  return Array.from(row, (x) => x - max - Math.log(z));
}

describe('a long inspection', () => {
  let wb: Workbench;
  before(async () => {
    wb = new Workbench(await ensureFixture('tiny-f32'), { gpu: 'cpu' });
  });
  after(() => wb.dispose());

  test("per-token numbers across micro-batches equal a float64 log-softmax of llama.cpp's logits", async () => {
    const insp = await wb.inspections.inspect(LONG);
    const n = insp.ids.length;
    assert.ok(n > 512 && n <= 1024, `${n} tokens span two micro-batches`);
    const session = await wb.session();
    const V = session.info.nVocab;
    const logits = session.runPlain(insp.ids, { logits: true })!; // [pos, d_vocab]
    const s = insp.summary.surprise;
    assert.equal(s.length, n);
    assert.equal(s[0]!.surprisal, undefined);
    for (let t = 1; t < n; t++) {
      const row = logits.subarray((t - 1) * V, t * V);
      const lp = logSoftmax(row);
      const entropy = -lp.reduce((acc, l) => acc + Math.exp(l) * l, 0);
      const rank = 1 + Array.from(row).filter((x) => x > row[insp.ids[t]!]!).length;
      assert.ok(Math.abs(s[t]!.surprisal! + lp[insp.ids[t]!]!) < 1e-4, `token ${t}: ${s[t]!.surprisal} vs ${-lp[insp.ids[t]!]!}`);
      assert.ok(Math.abs(s[t]!.entropy! - entropy) < 1e-4, `entropy at ${t}`);
      assert.equal(s[t]!.rank, rank, `rank at ${t}`);
    }
    const last = Array.from(logits.subarray((n - 1) * V));
    assert.equal(insp.summary.nextToken!.id, last.indexOf(Math.max(...last)));
    assert.equal(maxAbsDiff(insp.lastLogits, logits.subarray((n - 1) * V)), 0, 'the last row is kept as llama.cpp gave it');
  });
});

describe('states held as halves', () => {
  let f32: ModelSession;
  let f16: ModelSession;
  before(async () => {
    const path = await ensureFixture('tiny-f32');
    f32 = await ModelSession.open(path, { threads: 2, gpu: 'cpu', stateType: 'f32' });
    f16 = await ModelSession.open(path, { threads: 2, gpu: 'cpu', stateType: 'f16' });
  });
  after(() => {
    f32.dispose();
    f16.dispose();
  });

  test('every value is the float32 capture rounded to half, in half the bytes; patterns stay float32', () => {
    const tokens = f32.tokenize(LONG).tokens.map((t) => t.id);
    const hooks = [...Array.from({ length: f32.info.nLayers + 1 }, (_, l) => stateHook(l)), patternHook(1)];
    const a = f32.run(tokens, { hooks });
    const b = f16.run(tokens, { hooks });
    for (let l = 0; l <= f32.info.nLayers; l++) {
      const ha = a.held(stateHook(l));
      const hb = b.held(stateHook(l));
      assert.ok(!isHalf(ha) && isHalf(hb), `layer ${l}: float32 against halves`);
      assert.equal(heldBytes(hb) * 2, heldBytes(ha));
      const exact = a.get(stateHook(l)).data;
      const halves = b.get(stateHook(l)).data;
      let worst = 0;
      for (let i = 0; i < exact.length; i++) {
        assert.equal(halves[i], halfToFloat(floatToHalf(exact[i]!)), `layer ${l} value ${i}`);
        if (Math.abs(exact[i]!) >= 2 ** -14) worst = Math.max(worst, Math.abs(halves[i]! - exact[i]!) / Math.abs(exact[i]!));
      }
      assert.ok(worst > 0 && worst <= 2 ** -11, `relative rounding ${worst} of normal values is a half's`);
      // a row read alone decodes the same values
      const pos = tokens.length - 1;
      assert.deepEqual(Array.from(b.state(l, pos)), Array.from(halves.subarray(pos * f32.info.dModel, (pos + 1) * f32.info.dModel)));
    }
    assert.ok(!isHalf(b.held(patternHook(1))), 'the pattern is float32');
    assert.equal(maxAbsDiff(a.pattern(1).data, b.pattern(1).data), 0);
  });

  test('attention patterns computed from halves stay within 1e-3 of those from the float32 states', async () => {
    const path = await ensureFixture('tiny-f32');
    const patterns = async (stateType: 'f32' | 'f16'): Promise<Float32Array[]> => {
      const w = new Workbench(path, { gpu: 'cpu', session: { stateType } });
      try {
        const s = await w.session();
        const insp = await w.inspections.inspect(LONG, { hooks: Array.from({ length: s.info.nLayers + 1 }, (_, l) => stateHook(l)) });
        await runAnalysis(w, 'attention-layer', { inspectionId: insp.summary.id, layer: 1 });
        const heads = insp.cache.patternHeads(1)!;
        return Array.from({ length: heads.nHeads }, (_, h) => heads.head(h).slice());
      } finally {
        w.dispose();
      }
    };
    const exact = await patterns('f32');
    const half = await patterns('f16');
    const worst = Math.max(...exact.map((p, h) => maxAbsDiff(p, half[h]!)));
    assert.ok(worst > 0 && worst < 1e-3, `largest difference ${worst}`);
  });

  test("stateType 'auto' keeps float32 up to STATES_F32_MAX_BYTES and halves beyond", async () => {
    const s = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2, gpu: 'cpu' });
    try {
      const states = Array.from({ length: s.info.nLayers + 1 }, (_, l) => stateHook(l));
      const perToken = states.length * s.info.dModel * 4;
      const limit = Math.floor(STATES_F32_MAX_BYTES / perToken);
      assert.equal(s.halfStatesFor(states, limit), false);
      assert.equal(s.halfStatesFor(states, limit + 1), true);
      assert.equal(s.halfStatesFor([stateHook(0)], limit + 1), false, 'one layer of the same length is small');
      // Llama-2-7B, 33 states of d_model 4096: float32 up to 1,985 tokens
      assert.equal(Math.floor(STATES_F32_MAX_BYTES / (33 * 4096 * 4)), 1985);
    } finally {
      s.dispose();
    }
  });
});

describe('a q8_0 KV cache with flash attention', () => {
  let q8: ModelSession;
  before(async () => {
    q8 = await ModelSession.open(await ensureFixture('small-q4k'), { threads: 2, gpu: 'cpu', kvType: 'q8_0' });
  });
  after(() => q8.dispose());

  test('capturing the states changes no logit, and the logits stay near an f32 cache', async () => {
    const tokens = q8.tokenize(LONG).tokens.map((t) => t.id).slice(0, 600);
    const captured = q8.run(tokens, { hooks: [stateHook(0), stateHook(q8.info.nLayers)], logits: true });
    const plain = q8.runPlain(tokens, { logits: true })!;
    assert.equal(maxAbsDiff(captured.logits!.data, plain), 0, 'the eval callback changes nothing in the q8_0 decode');
    const path = await ensureFixture('small-q4k');
    const logitsWith = async (kvType: 'f32' | 'f16'): Promise<Float32Array> => {
      const s = await ModelSession.open(path, { threads: 2, gpu: 'cpu', kvType });
      try {
        // the embedding does not depend on the cache at all
        assert.equal(maxAbsDiff(captured.get(stateHook(0)).data, s.run(tokens, { hooks: [stateHook(0)] }).get(stateHook(0)).data), 0);
        return s.runPlain(tokens, { logits: true })!;
      } finally {
        s.dispose();
      }
    };
    const exact = await logitsWith('f32');
    const half = await logitsWith('f16');
    // against the f32 cache: the q8_0 cache is about as close as the f16 cache long selections used before
    // (this random-weight model's logits are near ties, so even f16 moves some top-1 tokens)
    const V = q8.info.nVocab;
    const against = (other: Float32Array): { same: number; worst: number } => {
      let same = 0;
      for (let p = 0; p < tokens.length; p++) if (argmax(other.subarray(p * V, (p + 1) * V)) === argmax(exact.subarray(p * V, (p + 1) * V))) same++;
      return { same, worst: maxAbsDiff(other, exact) };
    };
    const q = against(plain);
    const h = against(half);
    assert.ok(q.worst > 0, 'the q8_0 cache is a different computation');
    assert.ok(q.worst < 2 * h.worst && q.worst < 0.05 * maxAbs(exact), `largest logit difference ${q.worst} (f16 cache: ${h.worst})`);
    assert.ok(q.same >= h.same - 0.02 * tokens.length && q.same >= 0.9 * tokens.length, `top-1 equal at ${q.same} of ${tokens.length} positions (f16 cache: ${h.same})`);
  });

  test('a pattern cannot come from a flash-attention decode: an explicit q8_0 refuses it with the reason', () => {
    assert.throws(() => q8.run([1, 2, 3], { hooks: [patternHook(0)] }), /q8_0 KV cache.*flash attention.*kvType f16 or auto/);
    // and the session still works
    assert.equal(q8.run([1, 2, 3], { hooks: [stateHook(1)] }).get(stateHook(1)).shape[0], 3);
  });

  test("kvType 'auto' beyond KV_F32_MAX_BYTES: q8_0 unless the decode captures patterns or heads are not whole q8_0 blocks", async () => {
    const auto = await ModelSession.open(await ensureFixture('small-q4k'), { threads: 2, gpu: 'cpu' });
    const narrow = await ModelSession.open(await ensureFixture('tiny-f32'), { threads: 2, gpu: 'cpu' });
    try {
      const big = 1 << 20;
      assert.equal(auto.info.dHead % 32, 0);
      assert.equal(auto.kvTypeFor(big), 'q8_0');
      assert.equal(auto.kvTypeFor(big, { patterns: true }), 'f16');
      assert.equal(auto.kvTypeFor(256), 'f32');
      assert.equal(narrow.info.dHead % 32 === 0, false);
      assert.equal(narrow.kvTypeFor(big), 'f16');
      assert.ok(Math.abs(auto.kvBytes(4096, 'q8_0') / auto.kvBytes(4096, 'f32') - 34 / 128) < 1e-12);
    } finally {
      auto.dispose();
      narrow.dispose();
    }
  });
});

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
}
