// Block sums on every core: a large tensor's rows are split into one part per thread; this thread
// sums the first part while worker threads (blockSumsWorker.ts) sum the others, each reading its
// rows from the file through its own descriptor into its own kernel memory. The hand-off is
// synchronous (a SharedArrayBuffer and Atomics.wait): the reducer's interface stays a plain call,
// so the CLI, the engine process, the tests and the benchmark all get the threads without change.
// Rows are independent, so the parts' row sums are the single-thread ones exactly; the column
// sums are added part by part in float64 (a different order of a few float64 additions).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AxisSums, TensorSums } from '../analysis/weightStats';
import type { TensorShape } from './blockSums';
import { ROWS } from './blockSumsSimd';

/** Sums of rows [start, start + count) of the tensor at byte `base` of the file `file`. */
export type RangeSums = (file: string, base: number, t: TensorShape, start: number, count: number) => TensorSums;

/** What a worker is asked: one part of one tensor. Its answer goes into `shared`. */
export interface PartJob {
  file: string;
  base: number;
  t: TensorShape;
  start: number;
  count: number;
  /** Int32 [0]: 0 waiting, 1 done, 2 failed; [1]: 1 once the worker took the job, -1 withdrawn; then the sums (see partLayout) */
  shared: SharedArrayBuffer;
}

/** Below this many elements a tensor is summed in one thread: the hand-off costs about a millisecond. */
const MIN_PARALLEL_ELEMENTS = 1 << 21;
/** A worker that has not taken its job by then is taken for dead: this thread sums that part itself. */
const PICKUP_TIMEOUT_MS = 60_000;
const ERROR_BYTES = 1024;

/** Byte layout of a part's shared answer: status words, rows [3][count] f64, cols [3][n0] f64, an error message. */
export function partLayout(n0: number, count: number): { rows: number; cols: number; error: number; bytes: number } {
  const rows = 8;
  const cols = rows + 3 * count * 8;
  const error = cols + 3 * n0 * 8;
  return { rows, cols, error, bytes: error + ERROR_BYTES };
}

let threads = Math.max(1, Math.min(os.availableParallelism(), 8));
let workers: Worker[] = [];
let broken = false;

/** Threads the block sums use (this one included); 1 turns the workers off. Default: one per core, at most 8. */
export function setBlockSumThreads(n: number): void {
  threads = Math.max(1, Math.floor(n));
  broken = false;
}

export function blockSumThreads(): number {
  return broken ? 1 : threads;
}

/**
 * A worker thread. From the bundles (the engine process, the CLI): dist/blockSumsWorker.js beside
 * them. From the TypeScript source under tsx (tests, benchmarks): tsx's loader hooks do not reach a
 * worker that this thread then blocks on, so the worker registers tsx's require hook itself and
 * loads the source as CommonJS.
 */
function startWorker(): Worker {
  const ts = path.join(__dirname, 'blockSumsWorker.ts');
  if (__filename.endsWith('.ts') && fs.existsSync(ts)) {
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(ts)});`, { eval: true, execArgv: [] });
  }
  return new Worker(path.join(__dirname, 'blockSumsWorker.js'));
}

function pool(n: number): Worker[] {
  while (workers.length < n) {
    const w = startWorker();
    w.unref(); // idle workers never keep the CLI alive
    w.on('error', () => undefined); // a failure is seen through the job's status; see waitFor
    workers.push(w);
  }
  return workers.slice(0, n);
}

/** Stops the worker threads (they start again on the next large tensor). */
export async function stopBlockSumThreads(): Promise<void> {
  const ws = workers;
  workers = [];
  await Promise.all(ws.map((w) => w.terminate()));
}

function readPart(shared: SharedArrayBuffer, n0: number, count: number): TensorSums {
  const L = partLayout(n0, count);
  const r = new Float64Array(shared, L.rows, 3 * count);
  const c = new Float64Array(shared, L.cols, 3 * n0);
  const axis = (a: Float64Array, n: number, length: number): AxisSums => ({ length, sum: a.subarray(0, n), sumSq: a.subarray(n, 2 * n), sumAbs: a.subarray(2 * n, 3 * n) });
  return { rows: axis(r, count, n0), cols: axis(c, n0, count) };
}

/** Waits for a worker's part; false when the worker never took it (this thread then sums it). */
function waitFor(job: PartJob): boolean {
  const ctrl = new Int32Array(job.shared, 0, 2);
  const t0 = Date.now();
  while (Atomics.load(ctrl, 0) === 0) {
    Atomics.wait(ctrl, 0, 0, 1000);
    // not taken in time: withdraw it (the worker skips a withdrawn job) unless it was taken just now
    if (Date.now() - t0 > PICKUP_TIMEOUT_MS && Atomics.compareExchange(ctrl, 1, 0, -1) === 0) return false;
  }
  if (Atomics.load(ctrl, 0) === 2) {
    const L = partLayout(job.t.dims[0]!, job.count);
    const msg = Buffer.from(job.shared, L.error, ERROR_BYTES).toString('utf8').replace(/\0+$/, '');
    throw new Error(`block sums of ${job.t.name}, rows ${job.start}..${job.start + job.count - 1}: ${msg}`);
  }
  return true;
}

/** Row and column sums of a tensor in a file on disk, its rows split over the threads. */
export function parallelFileSums(file: string, base: number, t: TensorShape, rangeSums: RangeSums): TensorSums {
  const n0 = t.dims[0]!;
  const n1 = t.nElements / n0;
  const n = Math.min(blockSumThreads(), Math.floor(n1 / ROWS));
  if (n <= 1 || t.nElements < MIN_PARALLEL_ELEMENTS) return rangeSums(file, base, t, 0, n1);
  // parts of whole ROWS-row groups (the SIMD kernels' unit), the first part the largest
  const per = Math.ceil(n1 / n / ROWS) * ROWS;
  const jobs: PartJob[] = [];
  for (let start = per; start < n1; start += per) {
    const count = Math.min(per, n1 - start);
    jobs.push({ file, base, t: { type: t.type, dims: [...t.dims], nElements: t.nElements, name: t.name }, start, count, shared: new SharedArrayBuffer(partLayout(n0, count).bytes) });
  }
  const ws = pool(jobs.length);
  jobs.forEach((j, i) => ws[i]!.postMessage(j));
  const first = rangeSums(file, base, t, 0, Math.min(per, n1));
  const rows: AxisSums = { length: n0, sum: new Float64Array(n1), sumSq: new Float64Array(n1), sumAbs: new Float64Array(n1) };
  const cols: AxisSums = { length: n1, sum: first.cols.sum, sumSq: first.cols.sumSq, sumAbs: first.cols.sumAbs };
  const add = (part: TensorSums, start: number): void => {
    for (const s of ['sum', 'sumSq', 'sumAbs'] as const) {
      rows[s].set(part.rows[s], start);
      const c = cols[s];
      const p = part.cols[s];
      for (let i = 0; i < n0; i++) c[i]! += p[i]!;
    }
  };
  for (const s of ['sum', 'sumSq', 'sumAbs'] as const) rows[s].set(first.rows[s], 0);
  for (const j of jobs) {
    if (waitFor(j)) add(readPart(j.shared, n0, j.count), j.start);
    else {
      broken = true; // no more hand-offs to workers that do not answer
      add(rangeSums(file, base, t, j.start, j.count), j.start);
    }
  }
  return { rows, cols };
}
