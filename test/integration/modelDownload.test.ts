// Download through node-llama-cpp's own downloader against an HTTP server on 127.0.0.1 that serves
// a fixture GGUF with Range support and drops the connection midway: the download resumes (a
// request starting past byte 0 arrives) and the file on disk is byte-identical (SHA-256). Also a
// Hugging Face reference resolved against the same server, a cancelled download resumed later,
// and a link to something that is not a GGUF.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInnerWorldError } from '../../src/engine/errors';
import { downloadModel, KNOWN_MODELS, knownModelMemory, modelUri } from '../../src/engine/models/download';
import { ensureFixture } from '../fixtures/models';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-download-'));
let fixture: Buffer;
let server: http.Server;
let base: string;
/** every GET with the byte it started at (ranged: it had a Range header; ipull first probes without one) */
const requests: { url: string; start: number; ranged: boolean }[] = [];
/** the ranged request for this path starting at `start` is cut after `bytes` bytes (once, then served whole) */
const dropAfter = new Map<string, { start: number; bytes: number }>();
/** requests for these paths that start past byte 0 stall after this many bytes until the client goes away */
const stallAfter = new Map<string, number>();

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  fixture = fs.readFileSync(await ensureFixture('tiny-f32'));
  server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]!;
    const body = url.includes('missing') ? undefined : url.endsWith('.gguf') ? fixture : url.endsWith('.bin') ? Buffer.from('<html>not a model</html>'.padEnd(4096, ' ')) : undefined;
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Number(range[2]) : body.length - 1;
    const headers = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ETag: `"${sha(body).slice(0, 16)}"` };
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...headers, 'Content-Length': body.length }).end();
      return;
    }
    requests.push({ url, start, ranged: range !== null });
    const slice = body.subarray(start, end + 1);
    res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': slice.length, ...(range ? { 'Content-Range': `bytes ${start}-${end}/${body.length}` } : {}) });
    const drop = dropAfter.get(url);
    const stall = stallAfter.get(url);
    if (drop !== undefined && range && drop.start === start) {
      dropAfter.delete(url);
      // part of the wanted bytes, flushed, then the socket is destroyed mid-response
      res.write(slice.subarray(0, Math.min(drop.bytes, slice.length)), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    if (stall !== undefined && start > 0) {
      res.write(slice.subarray(0, Math.min(stall, slice.length)));
      return; // never ends; the client cancels
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a connection dropped midway is resumed from where it broke, and the file is byte-identical', async () => {
  const dir = path.join(tmp, 'dropped');
  // ipull fetches 5 MiB chunks over parallel ranged requests; the one for the third chunk breaks halfway
  const CHUNK = 5 * 1024 * 1024;
  dropAfter.set('/models/tiny.gguf', { start: 2 * CHUNK, bytes: CHUNK / 2 });
  requests.length = 0;
  const progress: number[] = [];
  const file = await downloadModel({ reference: `${base}/models/tiny.gguf`, dirPath: dir, onProgress: (p) => progress.push(p.downloadedBytes) });
  assert.equal(path.dirname(file), dir);
  assert.equal(sha(fs.readFileSync(file)), sha(fixture));
  assert.ok(!dropAfter.has('/models/tiny.gguf'), 'the server never dropped a connection');
  // the broken range was asked for again from its start; the chunks that had arrived were not
  const ranged = requests.filter((r) => r.url === '/models/tiny.gguf' && r.ranged).map((r) => r.start);
  assert.equal(ranged.filter((st) => st === 2 * CHUNK).length, 2, JSON.stringify(ranged));
  assert.equal(ranged.filter((st) => st !== 2 * CHUNK).length, new Set(ranged.filter((st) => st !== 2 * CHUNK)).size, `a chunk fetched twice: ${JSON.stringify(ranged)}`);
  assert.ok(progress.length > 0 && Math.max(...progress) === fixture.length, `progress ended at ${Math.max(...progress)}`);
  // no temporary file is left behind
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)]);
});

test('a Hugging Face reference user/repo/file.gguf resolves through the hub endpoint', async () => {
  const dir = path.join(tmp, 'hf');
  requests.length = 0;
  const file = await downloadModel({ reference: 'someone/Tiny-GGUF/tiny-q8.gguf', dirPath: dir, huggingFaceEndpoint: `${base}/` });
  assert.ok(requests.some((r) => r.url === '/someone/Tiny-GGUF/resolve/main/tiny-q8.gguf'), JSON.stringify(requests));
  assert.equal(sha(fs.readFileSync(file)), sha(fixture));
});

test('a cancelled download keeps its partial file and the next download continues from it', async () => {
  const dir = path.join(tmp, 'cancel');
  const url = '/models/cancel-me.gguf';
  // ipull writes whole 5 MiB chunks: the first one arrives whole, the others stall
  const CHUNK = 5 * 1024 * 1024;
  stallAfter.set(url, 1000);
  requests.length = 0;
  const ac = new AbortController();
  const partial = (): string | undefined => (fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.ipull')) : undefined);
  let waiting = false;
  const started = downloadModel({
    reference: `${base}${url}`,
    dirPath: dir,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.downloadedBytes < CHUNK || waiting) return;
      waiting = true;
      // cancel once the first chunk is on disk
      const poll = setInterval(() => {
        if (partial() && fs.statSync(path.join(dir, partial()!)).size >= CHUNK) {
          clearInterval(poll);
          ac.abort();
        }
      }, 20);
    },
  });
  await assert.rejects(started, (e) => isInnerWorldError(e) && e.code === 'cancelled' && /kept/.test(e.message));
  const kept = fs.readdirSync(dir);
  assert.ok(kept.length === 1 && kept[0]!.endsWith('.ipull'), `kept: ${kept.join(', ')}`);
  stallAfter.delete(url);
  const before = requests.length;
  const file = await downloadModel({ reference: `${base}${url}`, dirPath: dir });
  assert.equal(sha(fs.readFileSync(file)), sha(fixture));
  // the second download fetched only what was missing: no ranged request of it starts before the kept chunk's end
  const second = requests.slice(before).filter((r) => r.url === url && r.ranged);
  assert.ok(second.length > 0 && second.every((r) => r.start >= CHUNK), `the second download started over: ${JSON.stringify(second)}`);
});

test('a link to something that is not a GGUF is refused after download, saying so', async () => {
  const dir = path.join(tmp, 'html');
  await assert.rejects(downloadModel({ reference: `${base}/page.bin`, dirPath: dir }), (e) => isInnerWorldError(e) && e.code === 'download-failed' && /not a GGUF model/.test(e.message));
  await assert.rejects(downloadModel({ reference: `${base}/missing.gguf`, dirPath: dir, resumeAttempts: 1 }), (e) => isInnerWorldError(e) && e.code === 'download-failed');
});

test('references: URLs as given, Hugging Face forms to hf:, anything else refused with what to type', () => {
  assert.equal(modelUri(' https://example.com/a.gguf '), 'https://example.com/a.gguf');
  assert.equal(modelUri('Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf'), 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf');
  assert.equal(modelUri('hf:a/b/sub/c.gguf'), 'hf:a/b/sub/c.gguf');
  assert.equal(modelUri('https://huggingface.co/a/b/blob/main/c.gguf'), 'hf:a/b/c.gguf');
  assert.equal(modelUri('https://huggingface.co/a/b/resolve/dev/c.gguf?download=true'), 'hf:a/b/c.gguf#dev');
  for (const bad of ['', 'just-a-name', 'a/b', '../../etc/passwd']) assert.throws(() => modelUri(bad), (e) => isInnerWorldError(e) && e.code === 'bad-argument');
});

test('the well-known models name a GGUF file, a size and the memory they need (weights + KV cache + reserve)', () => {
  assert.ok(KNOWN_MODELS.length >= 3);
  for (const m of KNOWN_MODELS) {
    assert.match(modelUri(m.reference), /^hf:[^/]+\/[^/]+\/.+\.gguf$/);
    const mem = knownModelMemory(m);
    // e.g. Llama 3.2 1B: 16 layers x 4096 tokens x 8 kv heads x 64 x 2 (K, V) x 4 bytes = 256 MiB of cache
    const ctx = Math.min(4096, m.shape.nCtxTrain);
    assert.equal(mem - m.bytes - 512 * 2 ** 20, 2 * m.shape.nLayers * ctx * m.shape.nKvHeads * m.shape.dHead * 4);
  }
  assert.ok(KNOWN_MODELS.some((m) => /TinyLlama/.test(m.label)) && KNOWN_MODELS.some((m) => /Qwen 2\.5/.test(m.label)) && KNOWN_MODELS.some((m) => /Llama 3\.2 1B/.test(m.label)));
});
