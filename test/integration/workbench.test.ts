// The workbench behind the CLI and the engine process: captures made on demand (a view asking for
// a layer's attention gets it by one more decode, and the numbers equal a capture made up front),
// few pattern layers held at once, inspections evicted by bytes, per-token surprisal equal to a
// plain log-softmax of llama.cpp's own logits, and the pooled pattern window against brute force.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { headPattern, sinkMap } from '../../src/engine/analysis/attention';
import { patternHook, stateHook } from '../../src/engine/hookNames';
import { pooledPattern, runAnalysis } from '../../src/engine/workbench/analyses';
import { Workbench } from '../../src/engine/workbench/workbench';
import { ensureFixture } from '../fixtures/models';

const PROMPT = 'I like the red ball. We like to play.';

describe('workbench', () => {
  let wb: Workbench;
  before(async () => {
    wb = new Workbench(await ensureFixture('tiny-f32'), { gpu: 'cpu' });
  });
  after(() => wb.dispose());

  test('an attention view asks for a layer and gets exactly what an up-front capture gives', async () => {
    const session = await wb.session();
    const states = Array.from({ length: session.info.nLayers + 1 }, (_, l) => stateHook(l));
    const insp = await wb.inspections.inspect(PROMPT, { hooks: states });
    assert.deepEqual(insp.missing([patternHook(1)]), [patternHook(1)]);
    const r = await runAnalysis(wb, 'attention-layer', { inspectionId: insp.summary.id, layer: 1 });
    assert.deepEqual(insp.missing([patternHook(1)]), []);
    // independent: one decode capturing the pattern from the start
    const direct = session.run(insp.ids, { hooks: [patternHook(1)] });
    const expected = sinkMap(direct, 1, (id) => wb.tokenText(id));
    assert.equal(r.sink.values.length, expected.values.length);
    r.sink.values.forEach((v, k) => assert.ok(Math.abs(v - expected.values[k]!) < 1e-6, `sink ${k}: ${v} vs ${expected.values[k]}`));
    assert.deepEqual(r.sink.sentenceEnds, expected.sentenceEnds);
    assert.ok(r.sink.sentenceEnds.length >= 1, 'the first sentence end is found');
  });

  test('an inspection holds the patterns of at most two layers', async () => {
    const insp = await wb.inspections.inspect(PROMPT, { hooks: [stateHook(0)] });
    for (const layer of [0, 1, 2, 3]) await runAnalysis(wb, 'attention-layer', { inspectionId: insp.summary.id, layer });
    const held = [0, 1, 2, 3].filter((l) => insp.missing([patternHook(l)]).length === 0);
    assert.deepEqual(held, [2, 3]);
    // the states asked for first are kept
    assert.deepEqual(insp.missing([stateHook(0)]), []);
  });

  test('inspections are evicted by bytes, least recently used first, with a message that says what to do', async () => {
    const small = new Workbench(wb.modelPath, { gpu: 'cpu', inspectionBytes: 1 });
    try {
      const a = await small.inspections.inspect(PROMPT);
      const b = await small.inspections.inspect('the cat');
      assert.equal(small.inspections.size, 1);
      assert.ok(small.inspections.get(b.summary.id));
      assert.throws(() => small.inspections.get(a.summary.id), /inspect the selection again/);
    } finally {
      small.dispose();
    }
    const roomy = new Workbench(wb.modelPath, { gpu: 'cpu' });
    try {
      for (let k = 0; k < 12; k++) await roomy.inspections.inspect(`${PROMPT} ${k}`);
      assert.equal(roomy.inspections.size, 12, 'small inspections are not evicted by count');
      assert.ok(roomy.inspections.bytes > 0);
    } finally {
      roomy.dispose();
    }
  });

  test("per-token surprisal, entropy and rank equal a float64 log-softmax of llama.cpp's logits", async () => {
    const session = await wb.session();
    const insp = await wb.inspections.inspect(PROMPT);
    const logits = session.runPlain(insp.ids, { logits: true })!;
    const V = session.info.nVocab;
    const s = insp.summary.surprise;
    assert.equal(s[0]!.surprisal, undefined);
    for (let t = 1; t < insp.ids.length; t++) {
      const row = Array.from(logits.subarray((t - 1) * V, t * V));
      const max = Math.max(...row);
      const z = row.reduce((acc, x) => acc + Math.exp(x - max), 0);
      const logp = row.map((x) => x - max - Math.log(z));
      const surprisal = -logp[insp.ids[t]!]!;
      const entropy = -logp.reduce((acc, lp) => acc + Math.exp(lp) * lp, 0);
      const sorted = [...row].sort((a, b) => b - a);
      const rank = sorted.indexOf(row[insp.ids[t]!]!) + 1;
      assert.ok(Math.abs(s[t]!.surprisal! - surprisal) < 1e-4, `token ${t}: ${s[t]!.surprisal} vs ${surprisal}`);
      assert.ok(Math.abs(s[t]!.entropy! - entropy) < 1e-4);
      assert.equal(s[t]!.rank, rank);
    }
    // the next-token guess is the argmax of the last row
    const last = Array.from(logits.subarray((insp.ids.length - 1) * V));
    assert.equal(insp.summary.nextToken!.id, last.indexOf(Math.max(...last)));
  });

  test('the head-pattern window equals the pattern, and a pooled cell is the largest weight it covers', async () => {
    const insp = await wb.inspections.inspect(PROMPT);
    const n = insp.ids.length;
    const full = await runAnalysis(wb, 'head-pattern', { inspectionId: insp.summary.id, layer: 0, head: 1 });
    const plain = headPattern(insp.cache, 0, 1);
    assert.equal(full.stride, 1);
    assert.equal(full.cells, n);
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const v = full.values[q * n + k]!;
        if (k > q) assert.ok(Number.isNaN(v), 'above the diagonal is masked');
        else assert.equal(v, plain.values[q * n + k]);
      }
    }
    const pooled = pooledPattern(plain, { q0: 1, k0: 1, span: n - 1, size: 3 });
    assert.equal(pooled.stride, Math.ceil((n - 1) / 3));
    for (let i = 0; i < pooled.cells; i++) {
      for (let j = 0; j <= i; j++) {
        let m = -Infinity;
        for (let q = 1 + i * pooled.stride; q < Math.min(n, 1 + (i + 1) * pooled.stride); q++) for (let k = 1 + j * pooled.stride; k < Math.min(n, 1 + (j + 1) * pooled.stride); k++) if (k <= q) m = Math.max(m, plain.values[q * n + k]!);
        assert.equal(pooled.values[i * pooled.cells + j], m);
      }
    }
    await assert.rejects(runAnalysis(wb, 'head-pattern', { inspectionId: insp.summary.id, layer: 0, head: 99 }), /head 99 is outside/);
    await assert.rejects(runAnalysis(wb, 'attention-layer', { inspectionId: insp.summary.id, layer: 9 }), /layer 9 is outside/);
  });

  test('the dictionary precision policy is one: small dictionaries are exact in the CLI and the extension alike', async () => {
    const engine = await wb.engine();
    assert.match(engine.label, /stored/);
  });
});
