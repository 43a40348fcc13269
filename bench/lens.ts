// The full lens against one plain forward pass, side by side in one process on the same backend:
// every layer x every position of a 40-token prompt x the whole vocabulary, through the input and
// the output dictionaries (top 5 each). Variants are interleaved round-robin, rotating which goes
// first, so that machine load hits them alike; ratios are per round, then the median.
// Also: the one-time upload of each dictionary, and the plain JavaScript projection of one
// position (33 queries) against the fast one, for the speedup and a top-k agreement check.
// Usage: node --import tsx bench/lens.ts [--reps 5] [--threads 2] [--model llama2-7b-q4k]
import * as os from 'node:os';
import { getBackend } from '../src/engine/llama/backend';
import { cpuExtraBufferTypes } from '../src/engine/llama/native';
import { ModelSession } from '../src/engine/llama/session';
import type { ActivationCache } from '../src/engine/activations';
import { inputDictionary, outputDictionary, type Dictionary } from '../src/engine/analysis/dictionary';
import { lens } from '../src/engine/analysis/lens';
import type { ProjectionEngine } from '../src/engine/analysis/engine';
import { ReferenceEngine } from '../src/engine/analysis/reference/projection';
import { ComputeDevice } from '../src/engine/compute/device';
import { GgmlEngine } from '../src/engine/compute/engine';
import { ensureBenchModel, type BenchModelName } from './models';
import { arg, median, ms, runMain } from './util';

const PROMPT_TOKENS = 40;
const TEXT =
  'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. It is a lot of fun, and afterwards we eat pizza by the river.';

function fullLens(engine: ProjectionEngine, dicts: Dictionary[], cache: ActivationCache, nLayers: number, positions: number[], text: (id: number) => string): void {
  for (const d of dicts) lens(engine, d, cache, { positions, nLayers, k: 5, tokenText: text });
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
  const threads = Number(arg('threads', String(os.availableParallelism())));
  const model = arg('model', 'llama2-7b-q4k') as BenchModelName;
  const file = await ensureBenchModel(model);
  const backend = await getBackend('auto');
  const s = await ModelSession.open(file, { threads, maxContext: 256 });
  const device = ComputeDevice.open(backend.native, { threads });
  const fast = new GgmlEngine(device); // Q8_0 copies on a CPU
  const exact = new GgmlEngine(device, { computeType: 'stored' });
  try {
    const tokens = s.tokenize(TEXT).tokens.map((t) => t.id).slice(0, PROMPT_TOKENS);
    if (tokens.length !== PROMPT_TOKENS) throw new Error(`the text gives ${tokens.length} tokens, need ${PROMPT_TOKENS}`);
    const nLayers = s.info.nLayers;
    const hooks = (n: string) => /hook_resid_post$|^hook_embed$/.test(n);
    const cache = s.run(tokens, { hooks });
    const positions = Array.from({ length: PROMPT_TOKENS }, (_, i) => i);
    const text = (id: number) => s.file.tokens[id]!;
    const dicts = [inputDictionary(s.file), outputDictionary(s.file)];

    // one-time uploads (dequantize + norms + requantize + copy to the backend)
    const uploads: Array<{ what: string; t: number }> = [];
    for (const d of dicts) {
      for (const [label, e] of [['Q8_0 copy', fast], ['stored type', exact]] as const) {
        const t = ms(() => void e.projector(d));
        const p = e.projector(d);
        uploads.push({ what: `${d.name} dictionary, ${label}: ${p.typeName} in ${p.bufferName} buffer`, t });
      }
    }

    const variants: Array<{ name: string; run: () => void }> = [
      { name: 'plain forward pass (llama_decode, no eval callback)', run: () => void s.runPlain(tokens) },
      { name: 'instrumented forward pass capturing every resid_post', run: () => void s.run(tokens, { hooks }) },
      { name: `full lens, Q8_0 copies (${positions.length} positions x ${nLayers + 1} layers x 2 dictionaries)`, run: () => fullLens(fast, dicts, cache, nLayers, positions, text) },
      { name: 'full lens, stored types (Q4_K input, Q6_K output)', run: () => fullLens(exact, dicts, cache, nLayers, positions, text) },
    ];
    for (const v of variants) v.run(); // warm-up
    const times = variants.map(() => [] as number[]);
    for (let r = 0; r < reps; r++) {
      for (let k = 0; k < variants.length; k++) {
        const i = (k + r) % variants.length;
        times[i]!.push(ms(variants[i]!.run));
      }
    }

    // plain JavaScript against ggml for one position (33 queries), input dictionary
    const one = [PROMPT_TOKENS - 1];
    const ref = new ReferenceEngine();
    let refResult: ReturnType<typeof lens> | undefined;
    let fastResult: ReturnType<typeof lens> | undefined;
    let exactResult: ReturnType<typeof lens> | undefined;
    const tRef = ms(() => (refResult = lens(ref, dicts[0]!, cache, { positions: one, nLayers, k: 10, tokenText: text })));
    const tFastOne = median([0, 1, 2].map(() => ms(() => (fastResult = lens(fast, dicts[0]!, cache, { positions: one, nLayers, k: 10, tokenText: text })))));
    const tExactOne = median([0, 1, 2].map(() => ms(() => (exactResult = lens(exact, dicts[0]!, cache, { positions: one, nLayers, k: 10, tokenText: text })))));
    // agreement with the plain top 10, and how close to the plain 10th value the rows that differ are
    const agreement = (got: ReturnType<typeof lens>) => {
      let same = 0;
      let total = 0;
      let worstGap = 0;
      let worstValue = 0;
      refResult!.positions[0]!.layers.forEach((l, i) => {
        const g = got.positions[0]!.layers[i]!.words;
        const plain = new Map(l.words.map((w) => [w.token, w.value]));
        const tenth = l.words[l.words.length - 1]!.value;
        for (const w of g) {
          total++;
          if (plain.has(w.token)) same++;
          else worstGap = Math.max(worstGap, (tenth - w.value) / Math.abs(tenth)); // how far below the plain cut a returned row is
        }
        g.forEach((w) => plain.has(w.token) && (worstValue = Math.max(worstValue, Math.abs(w.value - plain.get(w.token)!) / Math.abs(plain.get(w.token)!))));
      });
      return `${same}/${total} (rows outside the plain top 10 are within ${(100 * worstGap).toFixed(2)}% of its 10th value; shared rows' values differ by at most ${(100 * worstValue).toFixed(2)}%)`;
    };

    const base = times[0]!;
    const lines = [
      `### ${model}: ${s.info.nLayers} layers, d_model ${s.info.dModel}, ${s.info.nVocab} tokens; ${PROMPT_TOKENS}-token prompt; ${reps} rounds`,
      '',
      `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${threads} threads; backend ${backend.label}; CPU extra buffer types: ${cpuExtraBufferTypes(backend.native).join(', ') || 'none'}; compute device: ${device.label}.`,
      '',
      '| variant | median ms | min ms | max ms | median of per-round ratios to the plain forward pass |',
      '|---|---:|---:|---:|---:|',
      ...variants.map((v, i) => `| ${v.name} | ${median(times[i]!).toFixed(0)} | ${Math.min(...times[i]!).toFixed(0)} | ${Math.max(...times[i]!).toFixed(0)} | ${median(times[i]!.map((t, r) => t / base[r]!)).toFixed(2)}x |`),
      '',
      '| one-time upload | ms |',
      '|---|---:|',
      ...uploads.map((u) => `| ${u.what} | ${u.t.toFixed(0)} |`),
      '',
      `One position (${nLayers + 1} queries), input dictionary, top 10: plain JavaScript ${tRef.toFixed(0)} ms; ggml Q8_0 ${tFastOne.toFixed(1)} ms (${(tRef / tFastOne).toFixed(0)}x faster); ggml stored type ${tExactOne.toFixed(1)} ms (${(tRef / tExactOne).toFixed(0)}x).`,
      `Top-10 agreement with the plain result: Q8_0 ${agreement(fastResult!)}; stored type ${agreement(exactResult!)}.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    fast.dispose();
    exact.dispose();
    device.dispose();
    s.dispose();
  }
}

runMain(main);
