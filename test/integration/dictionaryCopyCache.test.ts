// Dictionary copies in another compute type (the Q8_0 copy of a Q6_K dictionary) are built once per
// model file and cached on disk: a second Workbench on the same file loads the copy instead of
// converting, with the same rows, norms and lens results; a damaged cache is rebuilt; a stored-type
// dictionary needs no copy and computes its norms only when asked, equal to the plain ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outputDictionary } from '../../src/engine/analysis/dictionary';
import { ReferenceEngine } from '../../src/engine/analysis/reference/projection';
import { GgmlEngine } from '../../src/engine/compute/engine';
import { GgmlType } from '../../src/engine/gguf/ggmlTypes';
import { checksumPath } from '../../src/engine/util/cacheFile';
import { Rng } from '../../src/engine/util/random';
import { normalized } from '../../src/engine/analysis/math';
import { Workbench } from '../../src/engine/workbench/workbench';
import { ensureFixture } from '../fixtures/models';

describe('dictionary copies cached on disk', () => {
  let model: string;
  let cacheDir: string;
  before(async () => {
    model = await ensureFixture('small-q4k'); // output dictionary stored as Q6_K
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iw-copies-'));
  });
  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  /** A fresh Workbench's Q8_0 copy of the output dictionary, its top 5 for fixed queries, and where it came from. */
  async function session(): Promise<{ fromCache: boolean; rows: number[]; values: number[]; norms: Float32Array; files: string[] }> {
    const wb = new Workbench(model, { gpu: 'cpu', threads: 2, cacheDir });
    try {
      const engine = (await wb.engine()) as GgmlEngine;
      const dict = outputDictionary(wb.file());
      const p = engine.projector(dict, 'q8_0');
      assert.equal(p.type, GgmlType.Q8_0);
      const rng = new Rng(5);
      const q = new Float32Array(4 * dict.dModel);
      for (let i = 0; i < 4; i++) q.set(normalized(rng.normals(dict.dModel)), i * dict.dModel);
      const r = p.topK(q, { k: 5 });
      const dir = path.join(cacheDir, 'dictionaries');
      return { fromCache: p.fromCache, rows: Array.from(r.rows), values: Array.from(r.values), norms: p.rowNorms.slice(), files: fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [] };
    } finally {
      wb.dispose();
    }
  }

  test('the first session converts and writes the copy; a second Workbench on the same file loads it, with the same results', async () => {
    const first = await session();
    assert.equal(first.fromCache, false);
    assert.equal(first.files.length, 2, `the copy and its checksum: ${first.files.join(', ')}`);
    assert.ok(first.files.some((f) => f.endsWith('.bin.sha256')));
    const second = await session();
    assert.equal(second.fromCache, true, 'the second session read the cached copy');
    assert.deepEqual(second.rows, first.rows);
    assert.deepEqual(second.values, first.values);
    assert.deepEqual(Array.from(second.norms), Array.from(first.norms));
    // the norms kept with the copy are the stored rows' norms
    const wb = new Workbench(model, { gpu: 'cpu', reference: true });
    try {
      const ref = new ReferenceEngine().rowNorms(outputDictionary(wb.file()));
      for (let r = 0; r < ref.length; r += 331) assert.ok(Math.abs(second.norms[r]! - ref[r]!) <= 1e-5 * ref[r]!, `norm of row ${r}`);
    } finally {
      wb.dispose();
    }
  });

  test('a damaged copy, or one without its checksum, is rebuilt and not trusted', async () => {
    const dir = path.join(cacheDir, 'dictionaries');
    const good = await session(); // written by the test before, or now
    const bin = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.bin'))!);
    const bytes = fs.readFileSync(bin);
    bytes[100] ^= 0xff; // one flipped byte in the rows
    fs.writeFileSync(bin, bytes);
    const afterFlip = await session();
    assert.equal(afterFlip.fromCache, false, 'a copy that fails its checksum is converted again');
    assert.deepEqual(afterFlip.rows, good.rows);
    assert.equal((await session()).fromCache, true, 'and the rebuilt copy is trusted afterwards');
    fs.rmSync(checksumPath(bin));
    assert.equal((await session()).fromCache, false, 'no checksum: rebuilt');
    fs.writeFileSync(bin, bytes.subarray(0, 1000)); // truncated, checksum present
    assert.equal((await session()).fromCache, false, 'truncated: rebuilt');
  });

  test('a dictionary in its stored type is uploaded as stored, with no copy written; its norms on demand equal the plain ones', async () => {
    const wb = new Workbench(model, { gpu: 'cpu', threads: 2, cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), 'iw-copies-stored-')) });
    try {
      const engine = (await wb.engine()) as GgmlEngine;
      const dict = outputDictionary(wb.file());
      const p = engine.projector(dict, 'stored');
      assert.equal(p.type, GgmlType.Q6_K);
      assert.equal(p.fromCache, false);
      assert.ok(!fs.existsSync(path.join(wb.opts.cacheDir!, 'dictionaries')), 'nothing cached for the stored type');
      const ref = new ReferenceEngine().rowNorms(dict);
      for (let r = 0; r < ref.length; r += 97) assert.ok(Math.abs(p.rowNorms[r]! - ref[r]!) <= 1e-5 * ref[r]!, `norm of row ${r}`);
      // cosine: a dictionary row read through its own dictionary finds itself first
      const rows = [3, 1234, dict.nRows - 1];
      const q = new Float32Array(rows.length * dict.dModel);
      rows.forEach((r, i) => q.set(normalized(rowOf(wb, r)), i * dict.dModel));
      const got = p.topK(q, { k: 3, rowNormalize: true });
      rows.forEach((r, i) => assert.equal(got.rows[i * 3], r));
      fs.rmSync(wb.opts.cacheDir!, { recursive: true, force: true });
    } finally {
      wb.dispose();
    }
  });
});

function rowOf(wb: Workbench, r: number): Float32Array {
  const t = wb.file().W_U;
  return wb.file().rows(t, r, 1);
}
