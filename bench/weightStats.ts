// Weight statistics over every matrix of a file (the 7 matrices of every layer and both
// dictionaries: every 2-D tensor) against one plain sequential read of the same file, for each
// model, all variants of all models interleaved round-robin in one process (the order rotates
// every round). Each timing records wall and CPU time and the machine's load average, since the
// machine is shared. Also the cost per weight of each reducer on one matrix of each type.
// Usage: node --import tsx bench/weightStats.ts [--reps 3] [--threads 1] [--sum-threads 1,2] [--models llama2-7b-q4km,llama2-7b-q8] [--ggml 0]
// (--sum-threads: the block sums' thread counts to compare, side by side; --threads: the ggml graph's)
// (--ggml 0 leaves out the ggml graph, which takes minutes per round on a 7B file)
import * as fs from 'node:fs';
import * as os from 'node:os';
import { getBackend } from '../src/engine/llama/backend';
import { LlamaModelFile } from '../src/engine/gguf/llamaModel';
import { typeName } from '../src/engine/gguf/ggmlTypes';
import type { TensorReducer } from '../src/engine/analysis/weightStats';
import { weightStats } from '../src/engine/analysis/weightStats';
import { ComputeDevice } from '../src/engine/compute/device';
import { GgmlReducer } from '../src/engine/compute/reducer';
import { blockSumsReducer } from '../src/engine/compute/blockSums';
import { setBlockSumThreads } from '../src/engine/compute/blockSumsThreads';
import { ensureBenchModel, type BenchModelName } from './models';
import { arg, median, runMain } from './util';

/** The baseline: read every byte of the file once, 16 MB at a time, doing nothing with it. */
function plainRead(path: string): number {
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.allocUnsafe(16 << 20);
  let pos = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return pos;
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

interface Timing {
  wall: number; // ms
  cpu: number; // ms, every thread of the process
  load: number; // 1-minute load average when it ended
}

function timed(f: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  f();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000, load: os.loadavg()[0]! };
}

/** Every 2-D tensor of the file through the reducer, as `inner-world weight-stats` and the dictionaries' moments do. */
function allStats(file: LlamaModelFile, reducer: TensorReducer): void {
  weightStats(file, reducer);
  reducer.reduce(file, file.W_E);
  if (!file.tiedEmbeddings) reducer.reduce(file, file.W_U);
}

const f0 = (x: number) => x.toFixed(0);
const f2 = (x: number) => x.toFixed(2);

async function main(): Promise<void> {
  const reps = Number(arg('reps', '3'));
  const threads = Number(arg('threads', '1'));
  const models = arg('models', 'llama2-7b-q4km,llama2-7b-q8').split(',') as BenchModelName[];
  const native = (await getBackend('cpu')).native;
  const device = ComputeDevice.open(native, { threads, gpu: false });
  const ggml = new GgmlReducer(device, { blockSums: false });
  const sumThreads = arg('sum-threads', `1,${os.availableParallelism()}`).split(',').map(Number);
  // the same reducer at each thread count: the count is set before every use
  const withThreads = (n: number): TensorReducer => ({
    label: `block sums, ${n} thread${n > 1 ? 's' : ''}`,
    reduce: (f, t) => (setBlockSumThreads(n), blockSumsReducer.reduce(f, t)),
  });
  const reducers: [string, TensorReducer][] = sumThreads.map((n) => [`block sums (WebAssembly SIMD and JavaScript, ${n} thread${n > 1 ? 's' : ''})`, withThreads(n)]);
  if (arg('ggml', '1') !== '0') reducers.push([`ggml graph (${device.label})`, ggml]);
  const files = await Promise.all(models.map(async (m) => ({ model: m, path: await ensureBenchModel(m) })));
  const opened = files.map((f) => ({ ...f, file: LlamaModelFile.open(f.path), size: fs.statSync(f.path).size }));
  try {
    const variants = opened.flatMap((o) => [
      { model: o.model, name: `plain sequential read of the file (${(o.size / 2 ** 30).toFixed(2)} GiB)`, read: true, run: () => void plainRead(o.path) },
      ...reducers.map(([name, r]) => ({ model: o.model, name, read: false, run: () => allStats(o.file, r) })),
    ]);
    for (const o of opened) plainRead(o.path); // page cache warm for every variant
    const times = variants.map(() => [] as Timing[]);
    const loads: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (let k = 0; k < variants.length; k++) {
        const i = (k + r) % variants.length;
        times[i]!.push(timed(variants[i]!.run));
      }
      loads.push(os.loadavg()[0]!);
      console.error(`round ${r + 1}/${reps} done, load ${os.loadavg().map(f2).join(' ')}`);
    }
    const lines: string[] = [
      `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores; ggml device: ${device.label}; ${reps} rounds.`,
      `Load average (1 min) after each round: ${loads.map(f2).join(', ')}.`,
      '',
    ];
    for (const o of opened) {
      const matrices = o.file.file.tensors.filter((t) => t.dims.length === 2);
      const weights = matrices.reduce((a, t) => a + t.nElements, 0);
      const types = [...new Set(matrices.map((t) => typeName(t.type)))].join(', ');
      const base = variants.findIndex((v) => v.model === o.model && v.read);
      lines.push(
        `### ${o.model}: ${matrices.length} matrices (${types}), ${(weights / 1e9).toFixed(2)} billion weights`,
        '',
        '| variant | median ms | min ms | max ms | ratio to the read: median (min-max) | CPU ns per weight (median) |',
        '|---|---:|---:|---:|---:|---:|',
      );
      variants.forEach((v, i) => {
        if (v.model !== o.model) return;
        const ts = times[i]!;
        const ratios = ts.map((t, r) => t.wall / times[base]![r]!.wall);
        const cpu = f2((median(ts.map((t) => t.cpu)) * 1e6) / weights);
        lines.push(`| ${v.name} | ${f0(median(ts.map((t) => t.wall)))} | ${f0(Math.min(...ts.map((t) => t.wall)))} | ${f0(Math.max(...ts.map((t) => t.wall)))} | ${f2(median(ratios))}x (${f2(Math.min(...ratios))}-${f2(Math.max(...ratios))}) | ${cpu} |`);
      });
      lines.push('');
    }
    // cost per weight of each reducer on one matrix of each type (the fastest of three, CPU time)
    lines.push('One matrix of each type, CPU ns per weight (fastest of 3):', '', '| matrix | type | ' + reducers.map(([n]) => n).join(' | ') + ' |', '|---|---|' + reducers.map(() => '---:|').join(''));
    const seen = new Set<number>();
    for (const o of opened) {
      for (const t of o.file.file.tensors) {
        if (t.dims.length !== 2 || seen.has(t.type) || t.name.startsWith('token_embd')) continue;
        seen.add(t.type);
        const cells = reducers.map(([, r]) => f2((Math.min(...[0, 1, 2].map(() => timed(() => void r.reduce(o.file, t)).cpu)) * 1e6) / t.nElements));
        lines.push(`| ${o.model} ${t.name} (${t.dims[1]} x ${t.dims[0]}) | ${typeName(t.type)} | ${cells.join(' | ')} |`);
      }
    }
    console.log(lines.join('\n'));
  } finally {
    for (const o of opened) o.file.close();
    ggml.dispose();
    device.dispose();
  }
}

runMain(main);
