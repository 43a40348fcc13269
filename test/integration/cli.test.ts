// The CLI as a user runs it: a child process per command line. Its JSON is checked against the
// library or plain computations, and its exit codes and messages are part of the contract.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFixture, TOK } from '../fixtures/models';
import { projectCacheDir } from '../../src/engine/assets';
import { DEMO_PREV_TOKEN_HEAD, ensureDemoModel } from '../../src/engine/demo/builder';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { weightStats } from '../../src/engine/analysis/weightStats';
import { referenceReducer } from '../../src/engine/analysis/reference/reducer';
import { failure } from '../../src/cli/main';
import type { AttentionResult, InfoResult, MiddleResult, StatesResult } from '../../src/cli/format';
import type { TensorRow } from '../../src/engine/analysis/anatomy';
import type { WeightStats } from '../../src/engine/analysis/weightStats';
import type { Heatmap } from '../../src/engine/analysis/heatmap';
import type { HeadMap } from '../../src/engine/analysis/headMap';
import type { Neighbours, SimilarityMatrix } from '../../src/engine/analysis/similarity';
import type { DictionaryStats } from '../../src/engine/analysis/dictStats';
import type { LensResult } from '../../src/engine/analysis/lens';
import type { HeadPattern, HeadScore } from '../../src/engine/analysis/attention';
import { UsageError } from '../../src/engine/workbench/options';
import { InnerWorldError } from '../../src/engine/errors';

const ROOT = path.resolve(__dirname, '../..');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, INNER_WORLD_DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Run, expect exit 0, parse stdout as the command's result type. */
async function json<T>(...args: string[]): Promise<T> {
  const r = await cli(...args);
  assert.equal(r.code, 0, `inner-world ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe('inner-world CLI', () => {
  let tiny: string;
  let demo: string;
  let tmp: string;
  before(async () => {
    tiny = await ensureFixture('tiny-f32');
    demo = await ensureDemoModel(projectCacheDir());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('usage errors exit 1 with a message on stderr and nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /usage: inner-world/],
      [['frobnicate', 'x.gguf'], /unknown command "frobnicate"/],
      [['info'], /needs a model file/],
      [['info', 'a.gguf', 'b.gguf'], /unexpected argument "b.gguf"/],
      [['lens', 'x.gguf', '--prompt', 'hi', '--bogus'], /Unknown option '--bogus'/],
      [['head-map', 'x.gguf', '--layer', 'one', '--head', '0'], /--layer takes a whole number, not "one"/],
      [['head-map', 'x.gguf', '--head', '0'], /--layer is required/],
      [['lens', 'x.gguf', '--prompt', 'hi', '--norm', 'fancy'], /--norm takes one of article, cosine, logit-lens/],
      [['lens', 'x.gguf'], /--prompt is required/],
      [['heatmap', 'x.gguf', '--matrix', 'W_X', '--layer', '0'], /--matrix takes one of W_Q/],
      [['info', 'x.gguf', '--threads', '0'], /--threads must be at least 1/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code} (${r.stderr})`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 usage, 2 bad input or model, 3 internal error/);
    const cmdHelp = await cli('lens', '--help');
    assert.equal(cmdHelp.code, 0);
    assert.match(cmdHelp.stdout, /--norm article\|cosine\|logit-lens/);
  });

  test('bad input or model exits 2', async () => {
    const notGguf = path.join(tmp, 'notes.gguf');
    fs.writeFileSync(notGguf, 'hello, not a model');
    const cases: Array<[string[], RegExp]> = [
      [['info', path.join(tmp, 'missing.gguf')], /Model file not found/],
      [['info', notGguf], /not a readable GGUF model.*not a GGUF file/],
      [['info', tmp], /Not a file/],
      [['head-map', tiny, '--layer', '4', '--head', '0'], /layer 4 is outside 0\.\.3/],
      [['head-map', tiny, '--layer', '0', '--head', '4'], /head 4 is outside 0\.\.3/],
      [['neighbours', tiny, '--word', 'Supercalifragilistic'], /is \d+ tokens .* not one/],
      [['neighbours', tiny, '--word', '#99999'], /token id 99999 is outside the vocabulary/],
      [['lens', tiny, '--prompt', ''], /empty/],
      [['lens', tiny, '--prompt', 'the red ball', '--pos', '9'], /position 9 is outside the prompt's 4 tokens/],
      [['weight-stats', tiny, '--layers', '7'], /layer 7 is outside 0\.\.3/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} (${r.stderr})`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  test('internal errors map to exit 3; engine errors by kind', () => {
    const internal = failure(new TypeError('cannot read x of undefined'));
    assert.equal(internal.code, 3);
    assert.match(internal.stderr, /internal error: cannot read x of undefined/);
    assert.equal(failure(new UsageError('x')).code, 1);
    assert.equal(failure(new InnerWorldError('not-llama', 'x')).code, 2);
    assert.equal(failure(new InnerWorldError('prompt-too-long', 'x')).code, 2);
    assert.equal(failure(new InnerWorldError('engine-crashed', 'x')).code, 3);
  });

  test('info: the tally from the file, the 8 frequencies a GGUF does not store', async () => {
    const r = await json<InfoResult>('info', tiny, '--tokens', '100');
    const f = LlamaModelFile.open(tiny);
    const total = f.file.tensors.reduce((a, t) => a + t.nElements, 0);
    f.close();
    assert.equal(r.tally.file.total, total);
    assert.equal(r.tally.article.total - r.tally.file.total, 8);
    assert.match(r.tally.notes[0], /rope_freqs/);
    assert.equal(r.cache.stateBytes, 5 * 100 * 64 * 2);
    const t = await cli('info', tiny, '--table');
    assert.match(t.stdout, /total\s+4,260,424\s+4,260,416/);
  });

  test('tensors, weight-stats, heatmap, head-map: file-only views', async () => {
    const tensors = await json<TensorRow[]>('tensors', tiny, '--layer', '0');
    assert.deepEqual(tensors.map((x) => x.role), ['ln1', 'W_Q', 'W_K', 'W_V', 'W_O', 'ln2', 'W_gate', 'W_in', 'W_out']);
    const ws = await json<WeightStats>('weight-stats', tiny, '--roles', 'W_K,Q', '--layers', '0,1');
    const f = LlamaModelFile.open(tiny);
    const want = weightStats(f, referenceReducer, { roles: ['W_K', 'W_Q'], layers: [0, 1] });
    f.close();
    assert.equal(ws.entries.length, 4);
    ws.entries.forEach((e, i) => {
      assert.equal(e.role, want.entries[i]!.role);
      assert.ok(Math.abs(e.alongModel - want.entries[i]!.alongModel) < 1e-5 && Math.abs(e.across - want.entries[i]!.across) < 1e-5);
    });
    const hm = await json<Heatmap>('heatmap', tiny, '--matrix', 'W_O', '--layer', '2', '--size', '10');
    assert.deepEqual([hm.zoom.rows, hm.zoom.cols, hm.blocks.rows, hm.blocks.cols], [10, 10, 4, 4]);
    const map = await json<HeadMap>('head-map', tiny, '--layer', '0', '--head', '1', '--top', '2');
    assert.deepEqual(map.rows.slice(0, 4).map((r) => [r.row, r.tokens[0]!.token]).sort(), [[0, TOK.ball], [1, TOK.court], [2, TOK.play], [3, TOK.game]]);
    const table = await cli('head-map', tiny, '--layer', '0', '--head', '1', '--table');
    assert.match(table.stdout, /court/);
  });

  test('dictionary views: twins, similarity, statistics', async () => {
    const n = await json<Neighbours>('neighbours', tiny, '--word', 'red', '--k', '3');
    assert.equal(n.neighbours[0]!.token, TOK.blue);
    const across = await json<Neighbours>('neighbours', demo, '--word', 'red', '--to', 'output', '--k', '5');
    assert.equal(across.normalization, 'article');
    assert.ok(across.neighbours.some((x) => x.text === '▁ball'));
    const sim = await json<SimilarityMatrix>('similarity', tiny, '--words', 'red,blue,cat,#6635');
    assert.ok(sim.matrix[0]![1]! > 0.99);
    assert.ok(Math.abs(sim.matrix[2]![3]! - 1) < 1e-6, 'cat and #6635 are the same token');
    const stats = await json<DictionaryStats>('dict-stats', tiny, '--sample', '16', '--token-sample', '200', '--singular', '2');
    assert.equal(stats.sample, 16);
    assert.ok(Math.abs(stats.input.fractionPositive - 0.5) < 0.03);
    assert.equal(stats.input.singularValues.length, 2);
  });

  test('prompt views: lens, attention, states, middle dictionary', async () => {
    const prompt = 'I like the red ball. We like to go to the basketball court to play ball together.';
    const lens = await json<LensResult & { tokens: string[] }>('lens', demo, '--prompt', prompt, '--pos', '4', '--dict', 'output', '--k', '5', '--layers', '0');
    assert.equal(lens.tokens[4], '▁red');
    const words = lens.positions[0]!.layers[0]!.words.map((w) => w.text);
    for (const w of ['▁ball', '▁apple', '▁car']) assert.ok(words.includes(w), words.join(' '));
    const all = await json<LensResult>('lens', tiny, '--prompt', 'the red ball', '--pos', 'all', '--every', '2', '--dict', 'input', '--norm', 'cosine', '--k', '2');
    assert.deepEqual(all.positions.map((p) => p.pos), [0, 1, 2, 3]);
    assert.deepEqual(all.positions[2]!.layers.map((l) => l.layer), [0, 2, 4]);
    assert.equal(all.positions[2]!.layers[0]!.words[0]!.token, TOK.red);
    const att = await json<AttentionResult & { pattern: HeadPattern; previousTokenHeads: HeadScore[] }>('attention', demo, '--prompt', prompt, '--layer', '0', '--head', '0');
    assert.deepEqual([att.previousTokenHeads[0]!.layer, att.previousTokenHeads[0]!.head], [DEMO_PREV_TOKEN_HEAD.layer, DEMO_PREV_TOKEN_HEAD.head]);
    assert.equal(att.pattern.nPos, att.tokens.length);
    assert.deepEqual(att.sink.sentenceEnds.map((i) => att.tokens[i]), ['.', '.']);
    const states = await json<StatesResult>('states', tiny, '--prompt', prompt, '--gaps', '1,2');
    assert.deepEqual(states.layerGaps.curves.map((c) => c.gap), [1, 2]);
    assert.equal(states.amplitudes.rms.length, 5);
    const cache = path.join(tmp, 'middle');
    const m1 = await json<MiddleResult>('middle', tiny, '--middle-words', '30', '--cache', cache);
    assert.deepEqual([m1.rows, m1.fromCache], [30, false]);
    const m2 = await json<MiddleResult>('middle', tiny, '--middle-words', '30', '--cache', cache);
    assert.equal(m2.fromCache, true);
    const mid = await json<LensResult>('lens', tiny, '--prompt', 'the red ball', '--pos', '3', '--dict', 'middle', '--middle-words', '30', '--cache', cache, '--basis', 'prompt', '--no-bos', '--k', '3');
    assert.ok(mid.positions[0]!.layers.every((l) => l.words.every((w) => w.token !== 1)));
    const table = await cli('lens', demo, '--prompt', prompt, '--pos', '4', '--table');
    assert.match(table.stdout, /position 4 "red": output dictionary, article, vocabulary/);
  });
});
