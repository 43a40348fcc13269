// The CLI's commands, run in-process through runCli (what main() runs), and a few real child
// processes for the exit codes a shell sees, including a crash contained in the worker process.
// Its JSON is checked against the library or plain computations; exit codes and messages are
// part of the contract.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureFixture, TOK, vocabPath } from '../fixtures/models';
import { projectCacheDir } from '../../src/engine/assets';
import { DEMO_PREV_TOKEN_HEAD, ensureDemoModel } from '../../src/engine/demo/builder';
import { LlamaModelFile } from '../../src/engine/gguf/llamaModel';
import { weightStats } from '../../src/engine/analysis/weightStats';
import { referenceReducer } from '../../src/engine/analysis/reference/reducer';
import { crashLine, failure, runCli } from '../../src/cli/main';
import { GgufFile } from '../../src/engine/gguf/reader';
import { BufferSource } from '../../src/engine/gguf/source';
import { writeGguf, type TensorToWrite } from '../../src/engine/gguf/writer';
import { GgufValueType as T, type GgufValue } from '../../src/engine/gguf/values';
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

/** The real executable: a child process (and, for a command, its worker child). */
function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, INNER_WORLD_DEBUG: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** In-process: the same runCli main() calls, without a process start per command line. */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args);
}

/** A failure a user reads: one line on stderr, nothing on stdout, no raw control byte. */
function oneClearLine(r: { stdout: string; stderr: string }, what: string): void {
  assert.equal(r.stdout, '', what);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${what}: one line, not ${r.stderr}`);
  assert.doesNotMatch(r.stderr.trimEnd(), /[\u0000-\u0008\u000b-\u001f\u007f]/, `${what}: raw control bytes`);
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

  test('the executable: exit codes 0, 1, 2 as a shell sees them, output through the worker process', async () => {
    const help = await cliProcess(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: inner-world/);
    const usage = await cliProcess(['lens', tiny]);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--prompt is required/);
    const bad = await cliProcess(['info', path.join(tmp, 'missing.gguf')]);
    assert.equal(bad.code, 2);
    oneClearLine(bad, 'missing file');
    const info = await cliProcess(['info', tiny]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as InfoResult).hparams.nLayers, 4);
  });

  test('a native crash in the worker process: exit 3 and one line, not a silent death', async () => {
    // the worker aborts as llama.cpp does on a failed GGML_ASSERT (SIGABRT); the parent reports it
    const r = await cliProcess(['info', tiny], { INNER_WORLD_TEST_ABORT: '1' });
    assert.equal(r.code, 3, r.stderr);
    oneClearLine(r, 'crash');
    assert.match(r.stderr, /^inner-world: the engine crashed \(SIGABRT\) running "info" on ".*tiny-f32[^"]*\.gguf"\. /);
    // what the parent quotes from the worker's last words: the assertion, escaped, one line
    const line = crashLine(['lens', 'm.gguf'], 'SIGABRT', 'llama_model_load: loading\n/src/ggml.c:123: GGML_ASSERT(eps >= 0.0f) failed\x1b[0m\n  3: 0x12 abort\n  at f (x.js:1)\n');
    assert.match(line, /it last said "\/src\/ggml\.c:123: GGML_ASSERT\(eps >= 0\.0f\) failed\\x1b\[0m"/);
    assert.ok(!line.includes('\n'));
  });

  test('bad input or model exits 2', async () => {
    const notGguf = path.join(tmp, 'notes.gguf');
    fs.writeFileSync(notGguf, 'hello, not a model');
    const cases: Array<[string[], RegExp]> = [
      [['info', path.join(tmp, 'missing.gguf')], /Model file not found/],
      [['info', notGguf], /notes\.gguf" cannot be used: not a GGUF file/],
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

  test('malformed models llama.cpp would abort on, and hyperparameters the file cannot hold: exit 2, one clear line', async () => {
    const base = await ensureFixture('tiny-tied-q8');
    const f = GgufFile.open(base);
    const metadata = new Map(f.metadata);
    const tensors: TensorToWrite[] = f.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: f.readTensorBytes(t) }));
    f.close();
    const tokens = metadata.get('tokenizer.ggml.tokens')!.value as string[];
    const withMeta = (name: string, edit: (m: Map<string, GgufValue>) => void): string => {
      const m = new Map(metadata);
      edit(m);
      const file = path.join(tmp, `${name}.gguf`);
      writeGguf(file, { metadata: m, tensors });
      return file;
    };
    const patchedBytes = (name: string, edit: (b: Buffer) => void): string => {
      const b = fs.readFileSync(base);
      edit(b);
      const file = path.join(tmp, `${name}.gguf`);
      fs.writeFileSync(file, b);
      return file;
    };
    /** the byte where a tensor's offset field is, from the layout: after its name, n_dims, dims and type */
    const offsetFieldOf = (b: Buffer, tensor: string): number => {
      const at = b.indexOf(Buffer.from(tensor)) + Buffer.byteLength(tensor);
      return at + 4 + b.readUInt32LE(at) * 8 + 4;
    };
    const u32 = (v: number): GgufValue => ({ type: T.UINT32, value: v });
    const realigned = (file: string, alignment: number): string => {
      const b = fs.readFileSync(file);
      const key = Buffer.from('general.alignment');
      b.writeUInt32LE(alignment, b.indexOf(key) + key.byteLength + 4); // after the key, its value type
      fs.writeFileSync(file, b);
      return file;
    };
    const cases: Array<[string, string, RegExp]> = [
      [withMeta('layers-0', (m) => m.set('llama.block_count', u32(0))), 'lens', /block_count is 0/],
      [withMeta('layers-2e31', (m) => m.set('llama.block_count', u32(2 ** 31 - 1))), 'weight-stats', /block_count is 2147483647, more layers than llama\.cpp's limit of 512/],
      [withMeta('layers-1e6', (m) => m.set('llama.block_count', u32(1e6))), 'lens', /block_count is 1000000/],
      [withMeta('layers-u64', (m) => m.set('llama.block_count', { type: T.UINT64, value: 2n ** 62n })), 'weight-stats', /block_count is \d+, more layers/],
      [withMeta('layers-more-than-tensors', (m) => m.set('llama.block_count', u32(300))), 'weight-stats', /block_count is 300 but the file has only \d+ tensors/],
      [withMeta('eps-negative', (m) => m.set('llama.attention.layer_norm_rms_epsilon', { type: T.FLOAT32, value: -1e-5 })), 'lens', /layer_norm_rms_epsilon is -0\.00000999.*finite number of at least 0/],
      [withMeta('eps-nan', (m) => m.set('llama.attention.layer_norm_rms_epsilon', { type: T.FLOAT32, value: NaN })), 'lens', /layer_norm_rms_epsilon is NaN/],
      [withMeta('bert-tokenizer', (m) => m.set('tokenizer.ggml.model', { type: T.STRING, value: 'bert' })), 'lens', /a "llama" model with a "bert" tokenizer: the families LLM Inner World runs use SentencePiece/],
      [withMeta('no-tokenizer', (m) => { for (const k of [...m.keys()]) if (k.startsWith('tokenizer.')) m.delete(k); }), 'lens', /has no vocabulary/],
      [withMeta('duplicate-tokens', (m) => m.set('tokenizer.ggml.tokens', { type: T.ARRAY, elementType: T.STRING, value: tokens.map((t, i) => (i === 500 ? tokens[400]! : t)) })), 'lens', /token 500 .* repeats token 400/],
      [withMeta('no-byte-tokens', (m) => m.set('tokenizer.ggml.tokens', { type: T.ARRAY, elementType: T.STRING, value: tokens.map((t) => (/^<0x[0-9A-F]{2}>$/.test(t) ? `${t}!` : t)) })), 'lens', /lacks 256 of its 256 byte tokens/],
      [withMeta('heads-vs-shapes', (m) => m.set('llama.attention.head_count_kv', u32(2))), 'lens', /blk\.0\.attn_k\.weight is \[.*\] but the hyperparameters say/],
      // written aligned to 32, then the header claims 1024: the tensors are not where the alignment puts them
      [realigned(withMeta('alignment-32', (m) => m.set('general.alignment', u32(32))), 1024), 'lens', /not aligned to 1024/],
      [patchedBytes('overlap', (b) => b.writeBigUInt64LE(0n, offsetFieldOf(b, 'blk.0.attn_k.weight'))), 'lens', /overlaps tensor "blk\.0\.attn_q\.weight"/],
      [patchedBytes('count-short', (b) => b.writeBigUInt64LE(b.readBigUInt64LE(8) - 1n, 8)), 'lens', /bytes after the end of its \d+ tensor/],
      // a token string with an escape sequence, a NUL and 200,000 more bytes, twice: quoted escaped and cut
      [withMeta('hostile-duplicate', (m) => { const evil = `\u001b[31m\u0000${'k'.repeat(200_000)}`; m.set('tokenizer.ggml.tokens', { type: T.ARRAY, elementType: T.STRING, value: tokens.map((t, i) => (i === 400 || i === 500 ? evil : t)) }); }), 'lens', /token 500 "\\x1b\[31m\\x00k+\.\.\." \(200006 characters\) repeats token 400/],
    ];
    for (const [file, command, reason] of cases) {
      const args = command === 'lens' ? [command, file, '--prompt', 'the red ball'] : [command, file];
      const r = await cli(...args);
      const what = `${path.basename(file)} (${command})`;
      assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}`);
      oneClearLine(r, what);
      assert.match(r.stderr, reason, what);
      assert.equal(r.stderr.split(path.basename(file)).length - 1, 1, `${what}: the path once: ${r.stderr}`);
      assert.ok(r.stderr.length < 500, `${what}: ${r.stderr.length} characters`);
    }
  });

  test('fuzzed model files through the CLI: exit 0 or 2 with one clear line in-process; the executable contains whatever gets past', async () => {
    const base = fs.readFileSync(await ensureFixture('tiny-tied-q8'));
    const headerEnd = GgufFile.fromSource(new BufferSource(new Uint8Array(base), 'base')).dataOffset;
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const codes = new Map<number, number>();
    const variants: string[] = [];
    for (let i = 0; i < 40; i++) {
      const b = Buffer.from(base);
      // half the flips in the first KB (counts, hyperparameters, the first keys), half anywhere in the header
      for (let k = 0; k < 3; k++) b[i % 2 === 0 ? rand(1024) : rand(headerEnd)] = rand(256);
      const file = path.join(tmp, `fuzz-${i}.gguf`);
      fs.writeFileSync(file, b);
      variants.push(file);
      const r = await cli('info', file);
      codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
      assert.ok(r.code === 0 || r.code === 2, `fuzz-${i}: exit ${r.code}: ${r.stderr}`);
      if (r.code === 2) {
        oneClearLine(r, `fuzz-${i}`);
        assert.match(r.stderr, /^inner-world: .*fuzz-\d+\.gguf/, 'names the file');
      } else {
        assert.equal(r.stderr, '');
      }
    }
    assert.ok((codes.get(2) ?? 0) > 0, `some variants are refused: ${JSON.stringify([...codes])}`);
    // through the executable, a prompt view: exit 0, 2, or 3 for a crash the worker contained; one line when not 0
    for (const file of variants.slice(0, 4)) {
      const r = await cliProcess(['lens', file, '--prompt', 'the red ball']);
      assert.ok([0, 2, 3].includes(r.code), `${path.basename(file)}: exit ${r.code}: ${r.stderr}`);
      if (r.code !== 0) oneClearLine(r, path.basename(file));
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
    assert.equal(r.tally.article!.total - r.tally.file.total, 8);
    assert.match(r.tally.notes[0], /rope_freqs/);
    assert.equal(r.cache.stateBytes, 5 * 100 * 64 * 2);
    const t = await cli('info', tiny, '--table');
    assert.match(t.stdout, /total\s+4,260,424\s+4,260,416/);
  });

  test("info on a vocabulary-only file: no weights, the article's tally does not apply, no negative difference", async () => {
    const r = await json<InfoResult>('info', vocabPath());
    assert.equal(r.tally.applies, false);
    assert.equal(r.tally.article, null);
    assert.equal(r.tally.difference, null);
    assert.equal(r.tally.file.total, 0);
    assert.match(r.tally.notes.join(' '), /vocabulary and no weights/);
    const t = await cli('info', vocabPath(), '--table');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /note: This file holds a vocabulary and no weights/);
    assert.doesNotMatch(t.stdout, /tied|-\d/);
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
