// llama.cpp itself must load every generated fixture and produce finite logits.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureFixture, FIXTURE_NAMES, FIXTURES } from '../fixtures/models';
import { ModelSession } from '../../src/engine/llama/session';

describe('generated fixtures load in llama.cpp', () => {
  const sessions: ModelSession[] = [];
  after(() => sessions.forEach((s) => s.dispose()));

  for (const name of FIXTURE_NAMES) {
    test(name, async () => {
      const s = await ModelSession.open(await ensureFixture(name));
      sessions.push(s);
      const spec = FIXTURES[name];
      assert.equal(s.info.nLayers, spec.shape.nLayers);
      assert.equal(s.info.dModel, spec.shape.dModel);
      assert.equal(s.info.nKvHeads, spec.shape.nKvHeads);
      assert.equal(s.info.nVocab, 32000);
      const ids = s.tokenize('I like the red ball').tokens.map((t) => t.id);
      assert.deepEqual(ids, [1, 306, 763, 278, 2654, 8287]);
      const cache = s.run(ids, { hooks: [], logits: true });
      const last = cache.logitsAt(ids.length - 1);
      assert.equal(last.length, 32000);
      assert.ok(last.every(Number.isFinite), 'logits are finite');
      assert.ok(Math.max(...last) > Math.min(...last), 'logits are not constant');
    });
  }
});
