// Model discovery on a fixture home folder laid out like Ollama's store, LM Studio's models folder
// (new and old location), the Hugging Face hub cache (snapshots symlinked into blobs) and
// node-llama-cpp's models folder, with the traps real stores hold: non-GGUF files, dangling
// symlinks, unreadable manifests, split models, vision projectors, a store moved by environment.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverModels, type FoundModel } from '../../src/engine/models/discovery';
import { encodeGguf } from '../../src/engine/gguf/writer';
import { GgufValueType } from '../../src/engine/gguf/values';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-discovery-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** a small real GGUF (header and one key), distinct per name */
function gguf(name: string): Uint8Array {
  return encodeGguf({ metadata: [['general.name', { type: GgufValueType.STRING, value: name }]], tensors: [] });
}

function put(p: string, data: Uint8Array | string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
}

/** Ollama: the blob under its digest, the manifest naming it. Returns the blob path. */
function ollamaModel(root: string, registry: string, namespace: string, model: string, tag: string, data: Uint8Array): string {
  const hex = createHash('sha256').update(data).digest('hex');
  const blob = path.join(root, 'blobs', `sha256-${hex}`);
  put(blob, data);
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${'0'.repeat(64)}`, size: 2 },
    layers: [
      { mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}`, size: data.byteLength },
      { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${'1'.repeat(64)}`, size: 10 },
    ],
  };
  put(path.join(root, 'manifests', registry, namespace, model, tag), JSON.stringify(manifest));
  return blob;
}

function fixtureHome(name: string): string {
  const home = path.join(tmp, name);
  fs.mkdirSync(home, { recursive: true });
  return home;
}

const byName = (found: FoundModel[]): Map<string, FoundModel> => new Map(found.map((m) => [m.name, m]));

test('Ollama: models are named model:tag from their manifests, the path is the blob, never the hash as name', async () => {
  const home = fixtureHome('ollama');
  const root = path.join(home, '.ollama', 'models');
  const qwen = ollamaModel(root, 'registry.ollama.ai', 'library', 'qwen2.5', '0.5b', gguf('qwen'));
  const user = ollamaModel(root, 'registry.ollama.ai', 'someone', 'tiny', 'latest', gguf('tiny'));
  const hf = ollamaModel(root, 'hf.co', 'bartowski', 'Llama-3.2-1B-Instruct-GGUF', 'Q4_K_M', gguf('llama'));
  // a manifest whose model layer is missing, one that is not JSON, one naming a path instead of a digest
  put(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'broken', 'latest'), '{not json');
  put(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'nolayer', 'latest'), JSON.stringify({ layers: [] }));
  put(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'escape', 'latest'), JSON.stringify({ layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: 'sha256:../../../etc/passwd' }] }));
  // a manifest whose blob is not a GGUF (a safetensors import, say)
  const notGguf = Buffer.from('not a gguf file at all');
  const hex = createHash('sha256').update(notGguf).digest('hex');
  put(path.join(root, 'blobs', `sha256-${hex}`), notGguf);
  put(path.join(root, 'manifests', 'registry.ollama.ai', 'library', 'other', 'latest'), JSON.stringify({ layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}` }] }));

  const found = await discoverModels({ home, env: {} });
  assert.deepEqual(found.map((m) => m.name).sort(), ['hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M', 'qwen2.5:0.5b', 'someone/tiny:latest']);
  const m = byName(found);
  assert.equal(m.get('qwen2.5:0.5b')!.path, qwen);
  assert.equal(m.get('qwen2.5:0.5b')!.source, 'ollama');
  assert.equal(m.get('qwen2.5:0.5b')!.bytes, fs.statSync(qwen).size);
  assert.equal(m.get('someone/tiny:latest')!.path, user);
  assert.equal(m.get('hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M')!.path, hf);
  for (const f of found) assert.ok(!/[0-9a-f]{64}/.test(f.name), `a hash in the name ${f.name}`);
});

test('OLLAMA_MODELS moves the store; the default one is then not read', async () => {
  const home = fixtureHome('ollama-env');
  ollamaModel(path.join(home, '.ollama', 'models'), 'registry.ollama.ai', 'library', 'athome', 'latest', gguf('home'));
  const moved = path.join(tmp, 'elsewhere', 'ollama');
  ollamaModel(moved, 'registry.ollama.ai', 'library', 'moved', '1b', gguf('moved'));
  const found = await discoverModels({ home, env: { OLLAMA_MODELS: moved } });
  assert.deepEqual(found.map((m) => m.name), ['moved:1b']);
});

test('LM Studio (both folders), split models once with all their bytes, no projectors, no non-GGUF files', async () => {
  const home = fixtureHome('lmstudio');
  const a = path.join(home, '.lmstudio', 'models', 'lmstudio-community', 'Qwen2.5-0.5B-Instruct-GGUF', 'Qwen2.5-0.5B-Instruct-Q4_K_M.gguf');
  put(a, gguf('a'));
  put(path.join(path.dirname(a), 'mmproj-model-f16.gguf'), gguf('projector'));
  put(path.join(path.dirname(a), 'README.md'), '# readme');
  // a .gguf name on a file that is not one
  put(path.join(path.dirname(a), 'fake.gguf'), 'GGML but not GGUF');
  const old = path.join(home, '.cache', 'lm-studio', 'models', 'TheBloke', 'TinyLlama-GGUF', 'tinyllama.Q2_K.gguf');
  put(old, gguf('old'));
  const dir = path.join(home, '.lmstudio', 'models', 'pub', 'Big-GGUF');
  const part1 = path.join(dir, 'big-Q8_0-00001-of-00002.gguf');
  const part2 = path.join(dir, 'big-Q8_0-00002-of-00002.gguf');
  put(part1, gguf('part one'));
  put(part2, new Uint8Array(1000)); // later parts carry only tensor data in practice

  const found = await discoverModels({ home, env: {} });
  const m = byName(found);
  assert.deepEqual([...m.keys()].sort(), ['TheBloke/TinyLlama-GGUF/tinyllama.Q2_K.gguf', 'lmstudio-community/Qwen2.5-0.5B-Instruct-GGUF/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf', 'pub/Big-GGUF/big-Q8_0-00001-of-00002.gguf']);
  assert.equal(m.get('TheBloke/TinyLlama-GGUF/tinyllama.Q2_K.gguf')!.path, old);
  assert.equal(m.get('pub/Big-GGUF/big-Q8_0-00001-of-00002.gguf')!.bytes, fs.statSync(part1).size + fs.statSync(part2).size);
  assert.ok(found.every((f) => f.source === 'lmstudio'));
});

test('Hugging Face hub cache: snapshot symlinks into blobs, one entry per file across revisions, HF_HOME and HF_HUB_CACHE', async () => {
  const home = fixtureHome('hf');
  const makeRepo = (hub: string, repoDir: string, files: Record<string, Uint8Array>, revs: string[]): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [name, data] of Object.entries(files)) {
      const blob = path.join(hub, repoDir, 'blobs', createHash('sha256').update(data).digest('hex'));
      put(blob, data);
      for (const rev of revs) {
        const link = path.join(hub, repoDir, 'snapshots', rev, name);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.relative(path.dirname(link), blob), link);
        out[`${rev}/${name}`] = link;
      }
    }
    return out;
  };
  const hub = path.join(home, '.cache', 'huggingface', 'hub');
  const links = makeRepo(hub, 'models--Qwen--Qwen2.5-0.5B-Instruct-GGUF', { 'qwen2.5-0.5b-instruct-q4_k_m.gguf': gguf('q'), 'config.json': Buffer.from('{}') }, ['aaaa', 'bbbb']);
  makeRepo(hub, 'models--unsloth--gemma-GGUF', { 'Q4_K_M/gemma-Q4_K_M.gguf': gguf('g') }, ['cccc']);
  // a dangling snapshot link (its blob was deleted) and a dataset repo are skipped
  const dangling = path.join(hub, 'models--gone--x', 'snapshots', 'dddd', 'x.gguf');
  fs.mkdirSync(path.dirname(dangling), { recursive: true });
  fs.symlinkSync('../../blobs/missing', dangling);
  put(path.join(hub, 'datasets--a--b', 'snapshots', 'eeee', 'd.gguf'), gguf('dataset'));

  const found = await discoverModels({ home, env: {} });
  assert.deepEqual(found.map((m) => m.name).sort(), ['Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf', 'unsloth/gemma-GGUF/Q4_K_M/gemma-Q4_K_M.gguf']);
  const q = byName(found).get('Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf')!;
  assert.equal(q.source, 'huggingface');
  // the two revisions name one blob: listed once, with the blob's size, not the link's
  assert.ok([links['aaaa/qwen2.5-0.5b-instruct-q4_k_m.gguf'], links['bbbb/qwen2.5-0.5b-instruct-q4_k_m.gguf']].includes(q.path));
  assert.equal(q.bytes, gguf('q').byteLength);

  const hfHome = path.join(tmp, 'hf-home');
  makeRepo(path.join(hfHome, 'hub'), 'models--a--b', { 'b.gguf': gguf('b') }, ['ffff']);
  assert.deepEqual((await discoverModels({ home, env: { HF_HOME: hfHome } })).map((m) => m.name), ['a/b/b.gguf']);
  const hubCache = path.join(tmp, 'hub-cache');
  makeRepo(hubCache, 'models--c--d', { 'd.gguf': gguf('d') }, ['0000']);
  assert.deepEqual((await discoverModels({ home, env: { HF_HOME: hfHome, HF_HUB_CACHE: hubCache } })).map((m) => m.name), ['c/d/d.gguf']);
});

test('node-llama-cpp models and recent models: recent first, in their order, a file listed once, missing ones dropped', async () => {
  const home = fixtureHome('mixed');
  const nlc = path.join(home, '.node-llama-cpp', 'models', 'hf_bartowski_Llama-3.2-1B-Instruct.Q4_K_M.gguf');
  put(nlc, gguf('nlc'));
  put(path.join(home, '.node-llama-cpp', 'models', 'partial.gguf.ipull'), 'partial download');
  const ollamaBlob = ollamaModel(path.join(home, '.ollama', 'models'), 'registry.ollama.ai', 'library', 'llama3.2', '1b', gguf('ollama'));
  const own = path.join(home, 'work', 'mine.gguf');
  put(own, gguf('mine'));
  const found = await discoverModels({ home, env: {}, recent: [own, path.join(home, 'deleted.gguf'), nlc] });
  assert.deepEqual(
    found.map((m) => [m.source, m.name]),
    [
      ['recent', 'mine.gguf'],
      ['recent', 'hf_bartowski_Llama-3.2-1B-Instruct.Q4_K_M.gguf'],
      ['ollama', 'llama3.2:1b'],
    ],
  );
  assert.equal(found[2]!.path, ollamaBlob);
  // a recent model from Ollama's store keeps its Ollama name, not the blob's
  const again = await discoverModels({ home, env: {}, recent: [ollamaBlob] });
  assert.deepEqual(again.map((m) => [m.source, m.name]), [['recent', 'llama3.2:1b'], ['node-llama-cpp', 'hf_bartowski_Llama-3.2-1B-Instruct.Q4_K_M.gguf']]);
});

test('an unreadable folder is skipped quietly, and an empty home gives an empty list', async () => {
  assert.deepEqual(await discoverModels({ home: path.join(tmp, 'no-such-home'), env: {} }), []);
  const home = fixtureHome('unreadable');
  const dir = path.join(home, '.lmstudio', 'models', 'pub', 'repo');
  put(path.join(dir, 'a.gguf'), gguf('a'));
  const locked = path.join(home, '.lmstudio', 'models', 'locked');
  put(path.join(locked, 'repo', 'b.gguf'), gguf('b'));
  fs.chmodSync(locked, 0o000);
  try {
    const names = (await discoverModels({ home, env: {} })).map((m) => m.name);
    // root can read anything: then the locked model is simply found
    if (process.getuid?.() === 0) assert.deepEqual(names, ['locked/repo/b.gguf', 'pub/repo/a.gguf']);
    else assert.deepEqual(names, ['pub/repo/a.gguf']);
  } finally {
    fs.chmodSync(locked, 0o755);
  }
});

test('the walk is bounded: a budget already spent returns at once with what it has (here nothing)', async () => {
  const home = fixtureHome('budget');
  put(path.join(home, '.node-llama-cpp', 'models', 'a.gguf'), gguf('a'));
  assert.equal((await discoverModels({ home, env: {}, budgetMs: 10_000 })).length, 1);
  assert.deepEqual(await discoverModels({ home, env: {}, budgetMs: -1 }), []);
});
