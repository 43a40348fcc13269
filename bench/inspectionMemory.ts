// Memory of a long inspection in the engine process, as the extension uses it: a selection of
// --tokens tokens inspected, the layers view (one token's lens) and the grid (pages of 48 tokens)
// read, then the attention view opened on one layer and then others. Reports the engine
// process's anonymous resident memory (RssAnon: everything but the model's mapped file) after
// each step and its peak, sampled every 20 ms from /proc, and how responsive this process (which
// plays the extension host's part) stayed while the engine worked: its event loop's delay (max and
// p99, perf_hooks.monitorEventLoopDelay) per step.
//   npm run bench:inspection-memory -- --model llama2-7b-q4k --tokens 2000
//   --attention "5;6,7,8" (default: layer 5 with one head's pattern, then layers 6, 7, 8) or none
// Targets (issue: views): layers + grid within 3 GB beyond the mapped file; one layer's attention
// adds at most 1 GB; patterns of every layer are never held at once.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EngineClient } from '../src/engine/worker/engineClient';
import { BENCH_MODELS, ensureBenchModel, type BenchModelName } from './models';
import { arg } from './util';

const GB = 1024 ** 3;

function rssAnon(pid: number): number {
  const m = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Words of the demo grammar's kind, repeated into a text of about `tokens` tokens. */
function longText(tokens: number): string {
  const words = 'I like the red ball but my girlfriend likes the larger ball We like to go to the basketball court to play ball together It is a lot of fun'.split(' ');
  const out: string[] = [];
  for (let i = 0; out.length < tokens; i++) out.push(words[i % words.length]! + (i % 17 === 16 ? '.' : ''));
  return out.join(' ');
}

async function main(): Promise<void> {
  const name = arg('model', 'llama2-7b-q4k') as BenchModelName;
  if (!(name in BENCH_MODELS)) throw new Error(`--model takes one of ${Object.keys(BENCH_MODELS).join(', ')}`);
  const tokens = Number(arg('tokens', '2000'));
  const modelPath = await ensureBenchModel(name);
  const client = new EngineClient({ script: path.join(__dirname, '..', 'src', 'engine', 'worker', 'engineProcess.ts'), execArgv: ['--import', 'tsx'] });
  const attention = arg('attention', '5;6,7,8');
  const [firstLayer, moreLayers] = attention === 'none' ? [undefined, []] : [Number(attention.split(';')[0]), (attention.split(';')[1] ?? '').split(',').filter(Boolean).map(Number)];
  const rows: Array<[string, number, number, number, number, number]> = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const load0 = os.loadavg();
  let peak = 0;
  let pid = 0;
  const timer = setInterval(() => {
    if (pid) peak = Math.max(peak, rssAnon(pid));
  }, 20);
  const step = async (label: string, f: () => Promise<unknown>): Promise<void> => {
    peak = pid ? rssAnon(pid) : 0;
    loop.reset();
    const t0 = performance.now();
    await f();
    pid = client.pid ?? pid;
    const [maxDelay, p99Delay] = [loop.max / 1e6, loop.percentile(99) / 1e6]; // ms
    rows.push([label, rssAnon(pid), peak, (performance.now() - t0) / 1000, maxDelay, p99Delay]);
    console.log(
      `${label.padEnd(44)} RssAnon ${(rssAnon(pid) / GB).toFixed(2)} GB, peak ${(peak / GB).toFixed(2)} GB, ${((performance.now() - t0) / 1000).toFixed(1)} s, event loop delay max ${maxDelay.toFixed(0)} ms p99 ${p99Delay.toFixed(0)} ms, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
  };
  try {
    await step('open the model', () => client.call('open', { modelPath, options: { gpu: 'cpu', maxContext: tokens + 64 }, cacheDir: path.join(__dirname, '.tmp', 'cache') }));
    let id = 0;
    let n = 0;
    await step(`inspect ${tokens} tokens (states of every layer)`, async () => {
      const s = await client.call('inspect', { text: longText(tokens), overflow: 'truncate' });
      id = s.id;
      n = s.tokens.length;
    });
    await step('layers view: one token, every layer, both dictionaries', async () => {
      for (const dictionary of ['input', 'output'] as const) await client.analysis('lens', { inspectionId: id, positions: [n - 1], dictionary, normalization: 'article', k: 5 });
    });
    await step('grid view: 4 pages of 48 tokens', async () => {
      for (let p = 0; p < 4; p++) await client.analysis('lens', { inspectionId: id, positions: Array.from({ length: 48 }, (_, k) => p * 48 + k), dictionary: 'output', normalization: 'logit-lens', k: 1 });
    });
    const base = rows[rows.length - 1]![1];
    let oneLayer = NaN;
    let onePeak = NaN;
    let manyLayers = NaN;
    if (firstLayer !== undefined) {
      await step(`attention view: layer ${firstLayer} (sink map, one head)`, async () => {
        await client.analysis('attention-layer', { inspectionId: id, layer: firstLayer });
        await client.analysis('head-pattern', { inspectionId: id, layer: firstLayer, head: 0, size: 160 });
      });
      oneLayer = rows[rows.length - 1]![1] - base;
      onePeak = rows[rows.length - 1]![2] - base;
    }
    if (moreLayers.length) {
      await step(`attention view: layers ${moreLayers.join(', ')} in turn`, async () => {
        for (const layer of moreLayers) await client.analysis('attention-layer', { inspectionId: id, layer });
      });
      manyLayers = rows[rows.length - 1]![1] - base;
    }
    const shape = BENCH_MODELS[name].shape;
    const table = [
      `model ${name} (d_model ${shape.dModel}, ${shape.nLayers} layers, ${shape.nHeads} heads), ${n} tokens, CPU, ${new Date().toISOString().slice(0, 16)} UTC, load average ${load0[0]!.toFixed(1)} at the start and ${os.loadavg()[0]!.toFixed(1)} at the end`,
      '',
      '| step | RssAnon after | peak during | seconds | event loop delay max / p99 (ms) |',
      '|---|---|---|---|---|',
      ...rows.map(([l, r, p, s, mx, p99]) => `| ${l} | ${(r / GB).toFixed(2)} GB | ${(p / GB).toFixed(2)} GB | ${s.toFixed(1)} | ${mx.toFixed(0)} / ${p99.toFixed(0)} |`),
      '',
      `layers + grid held: ${(base / GB).toFixed(2)} GB (target <= 3 GB); one layer's attention added ${(oneLayer / GB).toFixed(2)} GB held and peaked ${(onePeak / GB).toFixed(2)} GB above the layers + grid (target <= 1 GB); after more layers ${(manyLayers / GB).toFixed(2)} GB above the layers + grid.`,
    ].join('\n');
    console.log(`\n${table}`);
  } finally {
    clearInterval(timer);
    loop.disable();
    client.dispose();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
