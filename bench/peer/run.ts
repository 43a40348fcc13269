// Ours against the notebook (bench/peer/peer.py: PyTorch float32), side by side in one run on the
// same CPU with the same thread count: model load, capture (one forward pass keeping every state
// and attention pattern), the full lens (every state and position through both dictionaries, top
// 5) the first time and on a repeat, the first inspection (capture + full lens in a fresh
// process), and peak memory. Each session starts both workers afresh (alternating which goes
// first); within a session the repeats alternate ours and theirs round by round, so machine load
// hits both alike. Ratios are ours / theirs per session or round, then the median.
// Usage: npm run bench:peer -- [--sessions 3] [--repeats 3] [--threads 2] [--model tinyllama-q8]
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { ensureBenchModel, BENCH_DIR, type BenchModelName } from '../models';
import { arg, median, runMain } from '../util';
import { ensureF32Export } from './weights';

const PYTHON = '/usr/bin/python3'; // Debian's python3-torch lives there, not in a pyenv python
const PROMPT_TOKENS = 40;
const K = 5;
const TEXT =
  'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. It is a lot of fun, and afterwards we eat pizza by the river.';

/**
 * Debian's python3-torch with OpenBLAS, installed when missing (the benchmark's own setup). Debian's
 * torch multiplies through whichever libblas.so.3 is selected; without libopenblas0 that is the
 * reference BLAS, tens of times slower than a notebook on any real install.
 */
function ensureTorch(): void {
  const probe = () => spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
  const openblas = () => fs.existsSync('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3') || fs.existsSync('/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3');
  if (probe() && openblas()) return;
  console.error('installing python3-torch and OpenBLAS (Debian) for the notebook side ...');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch', 'python3-numpy', 'libopenblas0-pthread'], { stdio: 'inherit' });
  if (r.status !== 0 || !probe() || !openblas()) throw new Error('python3-torch with OpenBLAS is not installed and apt-get could not install it: run `apt-get install -y python3-torch libopenblas0-pthread` as root, then this benchmark again');
}

/** MemAvailable of /proc/meminfo in GB (what can be had without swapping), or undefined off Linux. */
function availableGb(): number | undefined {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024 ** 2;
  } catch {
    return undefined;
  }
}

const gb = (x: number | undefined): string => (x === undefined ? 'unknown' : `${x.toFixed(1)} GB`);

class Worker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d: Buffer) => process.stderr.write(`[${name}] ${d.toString()}`));
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async ask<T = { ms: number }>(cmd: Record<string, unknown>): Promise<T> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`${this.name} worker ended (command ${cmd.cmd})`);
    const r = JSON.parse(next.value) as T & { error?: string };
    if (r.error) throw new Error(`${this.name}: ${r.error}`);
    return r;
  }

  async quit(): Promise<void> {
    const exited = new Promise((res) => this.proc.once('exit', res));
    this.proc.stdin.write('{"cmd":"quit"}\n');
    await exited;
  }
}

interface SessionResult {
  load: number;
  capture: number;
  lensFirst: number;
  /** of lensFirst: making or reading the dictionary copies (ours only) */
  uploadFirst?: number;
  copies?: string;
  firstInspection: number;
  captureRepeat: number[];
  lensRepeat: number[];
  peakKb: number;
  top1: number[];
  rows: number[][];
  info?: string;
}

function startWorker(side: 'ours' | 'peer', threads: number): Worker {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  return side === 'ours'
    ? new Worker('ours', process.execPath, ['--import', 'tsx', path.join(__dirname, 'ours.ts')], env)
    : new Worker('notebook', PYTHON, [path.join(__dirname, 'peer.py')], env);
}

const DICTIONARIES = ['token_embd.weight', 'output.weight'] as const;

/**
 * For each dictionary, the cells (query rows) whose top-1 word differs between ours and the
 * notebook, scored by the notebook in float32: how far our word is below its own, in standard
 * deviations of that cell's 32000 scores. Small gaps mean the two disagree on near-ties only.
 */
async function disagreementScores(peer: Worker, ours: number[][], theirs: number[][]): Promise<string[]> {
  const out: string[] = [];
  for (const [d, dict] of DICTIONARIES.entries()) {
    const name = d === 0 ? 'input' : 'output';
    const cells: number[] = [];
    for (let c = 0; c < ours[d]!.length / K; c++) if (ours[d]![c * K] !== theirs[d]![c * K]) cells.push(c);
    if (cells.length === 0) {
      out.push(`${name} dictionary: no cell differs`);
      continue;
    }
    const r = await peer.ask<{ ours: number[]; theirs: number[]; sd: number[] }>({ cmd: 'score', dict, cells, ours: cells.map((c) => ours[d]![c * K]), theirs: cells.map((c) => theirs[d]![c * K]) });
    const gaps = cells.map((_, i) => (r.theirs[i]! - r.ours[i]!) / r.sd[i]!);
    const rel = cells.map((_, i) => (r.theirs[i]! - r.ours[i]!) / Math.abs(r.theirs[i]!));
    // equal float32 scores: the two words' rows are identical (a random-weight model repeats rows), ranked in another order
    const ties = cells.filter((_, i) => r.theirs[i] === r.ours[i]).length;
    out.push(
      `${name} dictionary, ${cells.length} cells, ${ties} of them exact ties: our word's float32 score below the notebook's top by a median ${median(gaps).toFixed(3)} and at most ${Math.max(...gaps).toFixed(3)} standard deviations of the cell's scores (median ${(100 * median(rel)).toFixed(2)}%, at most ${(100 * Math.max(...rel)).toFixed(2)}% of the top score)`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const sessions = Number(arg('sessions', '3'));
  const repeats = Number(arg('repeats', '3'));
  const threads = Number(arg('threads', '2'));
  const model = arg('model', 'tinyllama-q8') as BenchModelName;
  ensureTorch();
  const gguf = await ensureBenchModel(model);
  const manifest = await ensureF32Export(gguf);
  const cacheDir = path.join(BENCH_DIR, 'peer-cache');
  fs.rmSync(cacheDir, { recursive: true, force: true }); // the first session builds the dictionary copies; later ones load them
  const loadStart = os.loadavg();
  const availStart = availableGb();
  // the least memory left while both workers hold their models: how close the notebook came to not fitting
  let availLeast = availStart;
  const sampler = setInterval(() => {
    const a = availableGb();
    if (a !== undefined && (availLeast === undefined || a < availLeast)) availLeast = a;
  }, 500);

  // the prompt's ids, from our tokenizer (the notebook has none of its own here)
  const tw = startWorker('ours', threads);
  await tw.ask({ cmd: 'load', model: gguf, threads, cacheDir });
  const { tokens } = await tw.ask<{ tokens: number[] }>({ cmd: 'tokenize', text: TEXT, n: PROMPT_TOKENS });
  await tw.quit();
  if (tokens.length !== PROMPT_TOKENS) throw new Error(`the text gives ${tokens.length} tokens, need ${PROMPT_TOKENS}`);

  const results: Record<'ours' | 'peer', SessionResult[]> = { ours: [], peer: [] };
  const sessionLoad: number[] = [];
  let nearTies: string[] = [];
  for (let s = 0; s < sessions; s++) {
    sessionLoad.push(os.loadavg()[0]!);
    const order = s % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const);
    const workers = new Map<'ours' | 'peer', Worker>();
    const partial = new Map<'ours' | 'peer', SessionResult>();
    // a fresh process each: load, then the first inspection (capture + full lens)
    for (const side of order) {
      const w = startWorker(side, threads);
      workers.set(side, w);
      const load = (await w.ask({ cmd: 'load', model: gguf, manifest, threads, cacheDir })).ms;
      const cap = await w.ask<{ ms: number; top1: number[] }>({ cmd: 'capture', tokens });
      const first = await w.ask<{ ms: number; rows: number[][]; upload?: number; copies?: string }>({ cmd: 'lens', k: K, rows: true });
      partial.set(side, { load, capture: cap.ms, lensFirst: first.ms, uploadFirst: first.upload, copies: first.copies, firstInspection: cap.ms + first.ms, captureRepeat: [], lensRepeat: [], peakKb: 0, top1: cap.top1, rows: first.rows });
    }
    // repeats, alternating sides and rotating which goes first
    for (let r = 0; r < repeats; r++) {
      const sides = (s + r) % 2 === 0 ? order : ([...order].reverse() as Array<'ours' | 'peer'>);
      for (const side of sides) partial.get(side)!.captureRepeat.push((await workers.get(side)!.ask({ cmd: 'capture', tokens })).ms);
      for (const side of [...sides].reverse()) partial.get(side)!.lensRepeat.push((await workers.get(side)!.ask({ cmd: 'lens', k: K })).ms);
    }
    // where the first lenses disagree on the top word: the notebook's own scores of both words (untimed)
    if (s === 0) nearTies = await disagreementScores(workers.get('peer')!, partial.get('ours')!.rows, partial.get('peer')!.rows);
    for (const side of order) {
      const m = await workers.get(side)!.ask<{ peakKb: number; torch?: string; threads?: number; blas?: string }>({ cmd: 'memory' });
      const p = partial.get(side)!;
      p.peakKb = m.peakKb;
      if (m.torch) p.info = `PyTorch ${m.torch} (Debian), ${m.threads} threads, BLAS mapped: ${m.blas}`;
      await workers.get(side)!.quit();
      results[side].push(p);
    }
    console.error(`session ${s + 1}/${sessions}: ours lens first ${partial.get('ours')!.lensFirst.toFixed(0)} ms, notebook ${partial.get('peer')!.lensFirst.toFixed(0)} ms`);
  }
  const loadEnd = os.loadavg();
  const availEnd = availableGb();
  clearInterval(sampler);

  // agreement (first session: both sides' first answers)
  const o = results.ours[0]!;
  const p = results.peer[0]!;
  const top1Same = o.top1.filter((t, i) => t === p.top1[i]).length;
  const agree = [0, 1].map((d) => {
    const a = o.rows[d]!;
    const b = p.rows[d]!;
    const cells = a.length / K;
    let first = 0;
    let overlap = 0;
    for (let c = 0; c < cells; c++) {
      if (a[c * K] === b[c * K]) first++;
      const set = new Set(b.slice(c * K, (c + 1) * K));
      overlap += a.slice(c * K, (c + 1) * K).filter((x) => set.has(x)).length;
    }
    return { cells, first, overlap };
  });

  // ratios: per session for the one-time phases, per round for the repeats
  const per = (f: (r: SessionResult) => number) => results.ours.map((r, i) => f(r) / f(results.peer[i]!));
  const repeatRatios = (f: (r: SessionResult) => number[]) => results.ours.flatMap((r, i) => f(r).map((t, j) => t / f(results.peer[i]!)[j]!));
  const med = (f: (r: SessionResult) => number, side: 'ours' | 'peer') => median(results[side].map(f));
  const rows: Array<{ what: string; ours: number; peer: number; ratio: number; target: number; unit: string }> = [
    { what: 'model load', ours: med((r) => r.load, 'ours'), peer: med((r) => r.load, 'peer'), ratio: median(per((r) => r.load)), target: 0.05, unit: 'ms' },
    { what: 'capture, first (fresh process)', ours: med((r) => r.capture, 'ours'), peer: med((r) => r.capture, 'peer'), ratio: median(per((r) => r.capture)), target: 0.8, unit: 'ms' },
    { what: 'capture, repeat', ours: median(results.ours.flatMap((r) => r.captureRepeat)), peer: median(results.peer.flatMap((r) => r.captureRepeat)), ratio: median(repeatRatios((r) => r.captureRepeat)), target: 0.8, unit: 'ms' },
    { what: 'full lens, first', ours: med((r) => r.lensFirst, 'ours'), peer: med((r) => r.lensFirst, 'peer'), ratio: median(per((r) => r.lensFirst)), target: 0.5, unit: 'ms' },
    { what: 'full lens, repeat', ours: median(results.ours.flatMap((r) => r.lensRepeat)), peer: median(results.peer.flatMap((r) => r.lensRepeat)), ratio: median(repeatRatios((r) => r.lensRepeat)), target: 0.5, unit: 'ms' },
    { what: 'first inspection (capture + full lens, fresh process)', ours: med((r) => r.firstInspection, 'ours'), peer: med((r) => r.firstInspection, 'peer'), ratio: median(per((r) => r.firstInspection)), target: 0.7, unit: 'ms' },
    { what: 'peak memory (max RSS)', ours: med((r) => r.peakKb / 1024, 'ours'), peer: med((r) => r.peakKb / 1024, 'peer'), ratio: median(per((r) => r.peakKb)), target: 0.4, unit: 'MB' },
  ];
  const pairs = (a: number[], b: number[]) => a.map((t, j) => `${(t / 1000).toFixed(2)} vs ${(b[j]! / 1000).toFixed(2)}`).join(', ');
  const firstSession = results.ours.map((r, i) => `${(r.lensFirst / 1000).toFixed(2)} s (of which ${((r.uploadFirst ?? 0) / 1000).toFixed(2)} s the dictionary copies: ${r.copies}) vs ${(results.peer[i]!.lensFirst / 1000).toFixed(2)} s`);
  const lines = [
    `### ${model}: ${PROMPT_TOKENS}-token prompt, ${threads} threads each, ${sessions} sessions x ${repeats} repeats`,
    '',
    `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GB; load average ${loadStart.map((x) => x.toFixed(1)).join(' ')} at the start, ${loadEnd.map((x) => x.toFixed(1)).join(' ')} at the end; memory available ${gb(availStart)} at the start, ${gb(availEnd)} at the end (both workers stopped), ${gb(availLeast)} at the least (sampled every 0.5 s). Notebook: ${p.info}.`,
    '',
    '| phase | ours (median) | notebook (median) | ours / notebook (median of per-session or per-round ratios) | target | met |',
    '|---|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.what} | ${r.ours.toFixed(0)} ${r.unit} | ${r.peer.toFixed(0)} ${r.unit} | ${r.ratio.toFixed(3)}x | <= ${r.target}x | ${r.ratio <= r.target ? 'met' : '**not met**'} |`),
    '',
    `Full lens first, per session (ours vs notebook; session 1 builds our dictionary copies, later sessions load them from the cache): ${firstSession.join('; ')}.`,
    '',
    `Load average (1 minute) at each session's start: ${sessionLoad.map((x) => x.toFixed(1)).join(', ')}.`,
    '',
    ...(nearTies.length ? [`Where the top words differ (session 1, the notebook's float32 scores of both words): ${nearTies.join('; ')}.`, ''] : []),
    `Repeats, per session (ours vs notebook, seconds, round by round): ${results.ours.map((r, i) => `session ${i + 1}: capture ${pairs(r.captureRepeat, results.peer[i]!.captureRepeat)}, full lens ${pairs(r.lensRepeat, results.peer[i]!.lensRepeat)}`).join('; ')}.`,
    '',
    `Agreement (session 1): next-token top-1 ${top1Same}/${PROMPT_TOKENS} positions; lens top-1 word, input dictionary ${agree[0]!.first}/${agree[0]!.cells} cells, output dictionary ${agree[1]!.first}/${agree[1]!.cells}; top-5 overlap ${agree[0]!.overlap}/${agree[0]!.cells * K} and ${agree[1]!.overlap}/${agree[1]!.cells * K}.`,
  ];
  console.log(lines.join('\n'));
}

runMain(main);
