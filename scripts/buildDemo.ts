// npm run build:demo [-- --force]: builds the demo model into .cache/models/ (when missing or made
// by an older builder, or always with --force) and prints its fit numbers.
import * as fs from 'node:fs';
import { projectCacheDir } from '../src/engine/assets';
import { demoModelPath, ensureDemoModel, readDemoReport, type DemoReport } from '../src/engine/demo/builder';

function rows(r: Omit<DemoReport, 'fileBytes' | 'buildSeconds'> & Partial<DemoReport>, fileBytes: number): Array<[string, string]> {
  const nats = (x: number): string => `${x.toFixed(4)} nats`;
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const list = (v: readonly number[]): string => v.map((x) => x.toFixed(2)).join(' ');
  return [
    ['builder version / seed', `${r.builderVersion} / ${r.seed}`],
    ['grammar words', String(r.words)],
    ['Llama-2 tokens used', String(r.usedTokens)],
    ['sentences / documents / positions', `${r.sentences} / ${r.documents} / ${r.positions}`],
    ['bigram CE: counted table', nats(r.bigram.tableCe)],
    ['bigram CE: model (direct path)', nats(r.bigram.modelCe)],
    ['top-1 agreement with the table', pct(r.bigram.top1Agreement)],
    ['trigram CE: counted table', nats(r.trigram.tableCe)],
    ['trigram CE: model without head', nats(r.trigram.withoutHeadCe)],
    ['trigram CE: model with head', nats(r.trigram.withHeadCe)],
    [`L${r.head.layer}H${r.head.head} weight on the previous token`, `min ${pct(r.head.prevWeightMin)}, mean ${pct(r.head.prevWeightMean)}`],
    ['largest mass outside the grammar', r.outsideMassMax.toExponential(1)],
    ['planned |h| by layer', list(r.depth.norm)],
    ['planned input-word amplitude', list(r.depth.amplitude)],
    ['planned logit-lens scale', list(r.depth.lensScale)],
    ['planned cos(h[l], h[l+1])', list(r.depth.gapCosine)],
    ['previous-token heads', r.circuits.prevTokenHeads.map((h) => `L${h.layer}H${h.head}`).join(', ')],
    ['induction head', `L${r.circuits.inductionHead.layer}H${r.circuits.inductionHead.head} (match ${r.circuits.inductionMatch}, sink ${r.circuits.inductionSink}, gain ${r.circuits.inductionGain} nats)`],
    [`sinks from layer ${r.circuits.firstSinkLayer}`, `scores ${r.circuits.sinkMin} to ${r.circuits.sinkMax}`],
    ['identity codes', `largest overlap ${r.circuits.idMaxOverlap.toFixed(2)}, ${r.circuits.weakIdentityTokens.length} frequent tokens weakened`],
    ['parameters', r.params.toLocaleString('en-US')],
    ['file size', `${(fileBytes / 2 ** 20).toFixed(1)} MiB`],
    ...(r.buildSeconds !== undefined ? [['build time', `${r.buildSeconds.toFixed(1)} s`] as [string, string]] : []),
  ];
}

async function main(): Promise<void> {
  const force = process.argv.includes('--force');
  const cache = projectCacheDir();
  let built: DemoReport | undefined;
  const file = await ensureDemoModel(cache, { force, onProgress: (s) => console.log(`... ${s}`), onBuilt: (r) => (built = r) });
  const report = built ?? readDemoReport(file);
  if (!report) throw new Error(`${file} holds no demo report`);
  console.log(built ? `built ${file}` : `${file} is current (use --force to rebuild)`);
  const table = rows(report, fs.statSync(demoModelPath(cache)).size);
  const width = Math.max(...table.map(([k]) => k.length));
  for (const [k, v] of table) console.log(`${k.padEnd(width)}  ${v}`);
  // node-llama-cpp keeps the event loop alive
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
