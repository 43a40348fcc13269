// The block-sum kernels alone on one matrix held in memory (no file read): CPU ns per weight of the
// whole kernel and of its parts, to see where the time goes. The parts are the same kernel built
// with steps left out: `decode` forms every value (ggml's float32 x) and only keeps one running
// sum of them alive; `cols` adds the column sums; `rows` the row sums; `all` is the shipped kernel.
// Usage: node --import tsx bench/blockSumsKernel.ts [--reps 5] [--models llama2-7b-q4km,llama2-7b-q8]
import * as os from 'node:os';
import { LlamaModelFile } from '../src/engine/gguf/llamaModel';
import { GgmlType, bytesFor, typeName } from '../src/engine/gguf/ggmlTypes';
import { simdSums } from '../src/engine/compute/blockSumsWasm';
import { KERNEL_PARTS, type KernelParts } from '../src/engine/compute/blockSumsSimd';
import { ensureBenchModel, type BenchModelName } from './models';
import { arg, runMain } from './util';

function cpuMs(f: () => void): number {
  const c0 = process.cpuUsage();
  f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
  const models = arg('models', 'llama2-7b-q4km,llama2-7b-q8').split(',') as BenchModelName[];
  const lines = [`Load average (1 min) before: ${os.loadavg()[0]!.toFixed(2)}`, '', '| matrix | type | ' + KERNEL_PARTS.join(' | ') + ' |', '|---|---|' + KERNEL_PARTS.map(() => '---:|').join('')];
  for (const m of models) {
    const file = LlamaModelFile.open(await ensureBenchModel(m));
    try {
      const seen = new Set<number>();
      for (const t of file.file.tensors) {
        if (t.dims.length !== 2 || seen.has(t.type) || t.name.startsWith('token_embd') || !([GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0] as number[]).includes(t.type)) continue;
        seen.add(t.type);
        const n0 = t.dims[0]!, n1 = t.dims[1]!;
        const rowBytes = bytesFor(t.type, n0);
        const bytes = file.file.readRowBytes(t, 0, n1).slice();
        const readRowsInto = (s: number, c: number, into: Uint8Array) => into.set(bytes.subarray(s * rowBytes, (s + c) * rowBytes));
        const cells = KERNEL_PARTS.map((part: KernelParts) => {
          const run = () => void simdSums(t.type, n0, n1, () => { throw new Error('unused'); }, readRowsInto, part);
          run();
          return ((Math.min(...Array.from({ length: reps }, () => cpuMs(run))) * 1e6) / (n0 * n1)).toFixed(3);
        });
        lines.push(`| ${m} ${t.name} (${n1} x ${n0}) | ${typeName(t.type)} | ${cells.join(' | ')} |`);
      }
    } finally {
      file.close();
    }
  }
  lines.push('', `Load average (1 min) after: ${os.loadavg()[0]!.toFixed(2)}`);
  console.log(lines.join('\n'));
}

runMain(main);
