// Weight statistics over every matrix of the file (the 7 matrices of every layer and both
// dictionaries: every 2-D tensor) against one plain sequential read of the whole file, side by
// side in one process, interleaved round-robin. The file is read once first so both run from the
// page cache. Also the plain JavaScript reducer against the ggml one on one tensor.
// Usage: node --import tsx bench/weightStats.ts [--reps 3] [--threads 2] [--model llama2-7b-q4k]
import * as fs from 'node:fs';
import * as os from 'node:os';
import { getBackend } from '../src/engine/llama/backend';
import { LlamaModelFile } from '../src/engine/gguf/llamaModel';
import { typeName } from '../src/engine/gguf/ggmlTypes';
import { weightStats } from '../src/engine/analysis/weightStats';
import { referenceReducer } from '../src/engine/analysis/reference/reducer';
import { ComputeDevice } from '../src/engine/compute/device';
import { GgmlReducer } from '../src/engine/compute/reducer';
import { ensureBenchModel, type BenchModelName } from './models';
import { arg, median, ms } from './util';

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

async function main(): Promise<void> {
  const reps = Number(arg('reps', '3'));
  const threads = Number(arg('threads', String(os.availableParallelism())));
  const model = arg('model', 'llama2-7b-q4k') as BenchModelName;
  const path = await ensureBenchModel(model);
  const native = (await getBackend('cpu')).native;
  const device = ComputeDevice.open(native, { threads, gpu: false });
  const reducer = new GgmlReducer(device);
  const file = LlamaModelFile.open(path);
  try {
    const size = fs.statSync(path).size;
    const matrices = file.file.tensors.filter((t) => t.dims.length === 2);
    const statBytes = matrices.reduce((a, t) => a + t.nBytes, 0);
    const allStats = () => {
      weightStats(file, reducer);
      reducer.reduce(file, file.W_E);
      if (!file.tiedEmbeddings) reducer.reduce(file, file.W_U);
    };
    const variants = [
      { name: `plain sequential read of the file (${(size / 2 ** 30).toFixed(2)} GiB)`, run: () => void plainRead(path) },
      { name: `weight statistics, ggml reducer: ${matrices.length} matrices (${(statBytes / 2 ** 30).toFixed(2)} GiB), rows and columns`, run: allStats },
    ];
    plainRead(path); // page cache warm for both
    const times = variants.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) {
      for (let k = 0; k < variants.length; k++) {
        const i = (k + r) % variants.length;
        times[i]!.push(ms(variants[i]!.run));
      }
    }
    // plain JavaScript against ggml on one FFN matrix
    const t = file.weight('W_in', 0);
    const tRef = ms(() => void referenceReducer.reduce(file, t));
    const tFast = median([0, 1, 2].map(() => ms(() => void reducer.reduce(file, t))));
    const base = times[0]!;
    const lines = [
      `### ${model}: ${file.hparams.nLayers} layers, d_model ${file.hparams.dModel}, ${reps} rounds`,
      '',
      `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${threads} threads; compute device: ${device.label}.`,
      '',
      '| variant | median ms | min ms | max ms | median of per-round ratios to the plain read |',
      '|---|---:|---:|---:|---:|',
      ...variants.map((v, i) => `| ${v.name} | ${median(times[i]!).toFixed(0)} | ${Math.min(...times[i]!).toFixed(0)} | ${Math.max(...times[i]!).toFixed(0)} | ${median(times[i]!.map((x, r) => x / base[r]!)).toFixed(2)}x |`),
      '',
      `One matrix, ${t.name} (${typeName(t.type)}, ${t.dims[1]} x ${t.dims[0]}): plain JavaScript ${tRef.toFixed(0)} ms, ggml ${tFast.toFixed(0)} ms (${(tRef / tFast).toFixed(1)}x faster).`,
    ];
    console.log(lines.join('\n'));
  } finally {
    file.close();
    reducer.dispose();
    device.dispose();
  }
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
