// What capturing costs: a plain llama_decode (a context with no eval callback) against the
// instrumented decode, side by side in one process, on the same loaded model, with the variants
// interleaved round-robin (rotating which goes first) so that machine load hits them alike.
// The machine is shared: each round waits (up to 20 s) for a moment when the CPUs are idle, and
// besides wall time the process's CPU time is recorded, which a busy neighbour inflates less
// (with one thread, not at all: there is no spinning barrier to wait at).
// Usage: node --import tsx bench/capture.ts [--reps 7] [--threads 2] [--models l32-d512-q4k,llama2-7b-q4k]
// Prints a markdown table; bench/results/capture.md records a run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { allHookNames } from '../src/engine/hookNames';
import { cpuExtraBufferTypes } from '../src/engine/llama/native';
import { getBackend } from '../src/engine/llama/backend';
import { ModelSession } from '../src/engine/llama/session';
import { BENCH_MODELS, ensureBenchModel, type BenchModelName } from './models';
import { arg, median } from './util';

const PROMPT_TOKENS = 40;
const TEXT =
  'The quick brown fox jumps over the lazy dog while the red ball rolls down the long hill, and the children laugh as they run after it through the green field near the old stone house by the river.';

interface Variant {
  readonly name: string;
  readonly run: (s: ModelSession, tokens: number[]) => void;
}

function variants(nLayers: number): Variant[] {
  const resid = Array.from({ length: nLayers }, (_, l) => `blocks.${l}.hook_resid_post`);
  const patterns = Array.from({ length: nLayers }, (_, l) => `blocks.${l}.attn.hook_pattern`);
  return [
    { name: 'plain llama_decode (no eval callback)', run: (s, t) => void s.runPlain(t) },
    { name: 'callback installed, nothing captured', run: (s, t) => void s.run(t, { hooks: [] }) },
    { name: 'resid_post of every layer', run: (s, t) => void s.run(t, { hooks: resid }) },
    { name: 'resid_post + attention pattern of every layer', run: (s, t) => void s.run(t, { hooks: [...resid, ...patterns] }) },
    { name: `every hook (${allHookNames(nLayers).length})`, run: (s, t) => void s.run(t, { hooks: allHookNames(nLayers) }) },
  ];
}

/** Share of CPU time spent idle over `ms` (Linux /proc/stat; 1 elsewhere). */
function idleShare(ms: number): number {
  const read = (): number[] | undefined => {
    try {
      return fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    } catch {
      return undefined;
    }
  };
  const a = read();
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* sample window: busy-waiting would count as load, so sleep instead */
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, until - Date.now());
  }
  const b = read();
  if (!a || !b) return 1;
  const d = b.map((v, i) => v - a[i]!);
  const total = d.reduce((x, y) => x + y, 0);
  return total > 0 ? (d[3]! + (d[4] ?? 0)) / total : 1;
}

/** Wait for a quiet moment (at least 85% idle over 250 ms), at most `maxMs`; returns whether one came. */
function waitQuiet(maxMs: number): boolean {
  const until = Date.now() + maxMs;
  while (Date.now() < until) if (idleShare(250) >= 0.85) return true;
  return false;
}

async function benchModel(name: BenchModelName, reps: number, threads: number): Promise<string[]> {
  const file = await ensureBenchModel(name);
  const s = await ModelSession.open(file, { threads, maxContext: 256 });
  try {
    const tokens = s.tokenize(TEXT).tokens.map((t) => t.id).slice(0, PROMPT_TOKENS);
    if (tokens.length !== PROMPT_TOKENS) throw new Error(`the text gives ${tokens.length} tokens, need ${PROMPT_TOKENS}`);
    const vs = variants(s.info.nLayers);
    for (const v of vs) v.run(s, tokens); // warm-up: contexts created, weights paged in
    const wall = vs.map(() => [] as number[]);
    const cpu = vs.map(() => [] as number[]);
    let quietRounds = 0;
    for (let r = 0; r < reps; r++) {
      if (waitQuiet(20_000)) quietRounds++;
      for (let k = 0; k < vs.length; k++) {
        const i = (k + r) % vs.length; // rotate the order every repetition
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        vs[i]!.run(s, tokens);
        wall[i]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
        const c = process.cpuUsage(c0);
        cpu[i]!.push((c.user + c.system) / 1e3);
      }
    }
    const spec = BENCH_MODELS[name].shape;
    const lines = [
      `### ${name} (${spec.nLayers} layers, d_model ${spec.dModel}, ${PROMPT_TOKENS}-token prompt, ${threads} threads, ${reps} rounds, ${quietRounds} began on an idle machine)`,
      '',
      '| decode | wall median ms | wall min ms | wall max ms | wall: ratio of medians | wall: median of per-round ratios | CPU median ms | CPU: ratio of medians |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    ];
    vs.forEach((v, i) => {
      const perRound = median(wall[i]!.map((t, r) => t / wall[0]![r]!));
      const w = median(wall[i]!);
      const c = median(cpu[i]!);
      lines.push(
        `| ${v.name} | ${w.toFixed(1)} | ${Math.min(...wall[i]!).toFixed(1)} | ${Math.max(...wall[i]!).toFixed(1)} | ${(w / median(wall[0]!)).toFixed(3)}x | ${perRound.toFixed(3)}x | ${c.toFixed(1)} | ${(c / median(cpu[0]!)).toFixed(3)}x |`,
      );
    });
    return lines;
  } finally {
    s.dispose();
  }
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '7'));
  const threads = Number(arg('threads', '2'));
  const models = arg('models', 'l32-d512-q4k,llama2-7b-q4k').split(',') as BenchModelName[];
  const { native } = await getBackend();
  const out = [
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${threads} threads, CPU backend` +
      ` (extra buffer types: ${cpuExtraBufferTypes(native).join(', ') || 'none'}); load average at start ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    '',
  ];
  for (const m of models) {
    out.push(...(await benchModel(m, reps, threads)), '');
    console.error(`done ${m}`);
  }
  out.push(`Load average at end: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(out.join('\n'));
}

void main();
