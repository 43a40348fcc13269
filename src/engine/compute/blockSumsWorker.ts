// A block-sums worker thread (blockSumsThreads.ts): sums the rows of one part of a tensor from the
// file, through its own descriptor and its own WebAssembly memory, and writes the sums into the
// job's shared buffer, then wakes the thread that waits for them. Bundled as dist/blockSumsWorker.js.
import { parentPort } from 'node:worker_threads';
import { fileRangeSums } from './blockSums';
import { partLayout, type PartJob } from './blockSumsThreads';

parentPort?.on('message', (job: PartJob) => {
  const ctrl = new Int32Array(job.shared, 0, 2);
  if (Atomics.compareExchange(ctrl, 1, 0, 1) !== 0) return; // withdrawn: the waiting thread summed it itself
  try {
    const n0 = job.t.dims[0]!;
    const L = partLayout(n0, job.count);
    const s = fileRangeSums(job.file, job.base, job.t, job.start, job.count);
    const rows = new Float64Array(job.shared, L.rows, 3 * job.count);
    const cols = new Float64Array(job.shared, L.cols, 3 * n0);
    (['sum', 'sumSq', 'sumAbs'] as const).forEach((k, i) => {
      rows.set(s.rows[k], i * job.count);
      cols.set(s.cols[k], i * n0);
    });
    Atomics.store(ctrl, 0, 1);
  } catch (e) {
    const L = partLayout(job.t.dims[0]!, job.count);
    const room = Math.max(0, Math.min(L.bytes, job.shared.byteLength) - L.error);
    const msg = Buffer.from(e instanceof Error ? e.message : String(e), 'utf8');
    if (room) new Uint8Array(job.shared, L.error, room).set(msg.subarray(0, room));
    Atomics.store(ctrl, 0, 2);
  }
  Atomics.notify(ctrl, 0);
});
