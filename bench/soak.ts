// Soak: many inspections in one session of the real extension (code-server + Chromium, the demo
// model), with the attention, states and grid views opened and closed along the way. Samples the
// resident memory (VmRSS) of the engine process and of the extension host every --every
// inspections and writes the curve to bench/results/soak.md, with the growth per 100 inspections
// after the warm-up (a least-squares slope over the second half of the run).
//   npm run bench:soak -- --inspections 200 --every 10
// Target (issue 13): neither process keeps growing; the slope after warm-up stays within the
// noise of the samples (a few MB per 100 inspections, not the tens a leaked buffer per inspection gives).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectCacheDir } from '../src/engine/assets';
import { ensureDemoModel } from '../src/engine/demo';
import { Workbench } from '../test/e2e/harness';
import { extensionProcesses, vmRss } from '../test/e2e/processes';
import { viewFrame } from '../test/e2e/viewHelpers';
import { arg } from './util';

const MB = 1024 * 1024;
const COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'pink', 'brown', 'black', 'white', 'golden'];
const OBJECTS = ['ball', 'car', 'hat', 'boat', 'cup', 'kite', 'bus', 'box', 'book', 'lamp', 'pen', 'key'];
/** one sentence per line, each ending on a different object than the line before; 20 lines stay on screen (no scrolling under the tabs) */
const LINES = Array.from({ length: 20 }, (_, i) => `I like the ${COLOURS[i % COLOURS.length]} ${OBJECTS[i % OBJECTS.length]}`);
const VIEWS = [
  ['Show Attention', 'Attention'],
  ['Show State Vectors', 'State Vectors'],
  ['Show Token × Layer Grid', 'Token × Layer Grid'],
] as const;

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** bench/results/soak.md from the samples so far (written after each, so a stopped run keeps its curve). */
function writeResults(samples: ReadonlyArray<{ n: number; engine: number; host: number; seconds: number }>, total: number, every: number): void {
  const done = samples.at(-1)!.n;
  const half = samples.filter((s) => s.n > done / 2);
  const perHundred = (key: 'engine' | 'host'): number => (half.length > 1 ? (slope(half.map((s) => s.n), half.map((s) => s[key])) * 100) / MB : 0);
  const first = samples.find((s) => s.n >= done / 2)!;
  const lastS = samples.at(-1)!;
  const out = [
    '# Soak: inspections in one session (bench/soak.ts)',
    '',
    `\`npm run bench:soak -- --inspections ${total} --every ${every}\`, ${new Date().toISOString().slice(0, 10)}, the demo model in code-server + Chromium`,
    `on the project's shared 2-core machine (load average ${fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at the last sample)${done < total ? `; the run had done ${done} of ${total} inspections at this writing` : ''}.`,
    'Each inspection: a sentence selected and inspected, the layers view waited for; every fourth, the',
    'attention, states or grid view opened, read and closed. VmRSS of the engine process and of the extension host.',
    '',
    '| inspections | engine process (MB) | extension host (MB) | elapsed (s) |',
    '| ---: | ---: | ---: | ---: |',
    ...samples.map((s) => `| ${s.n} | ${(s.engine / MB).toFixed(0)} | ${(s.host / MB).toFixed(0)} | ${s.seconds.toFixed(0)} |`),
    '',
    `Growth in the second half (least-squares slope over inspections ${first.n} to ${lastS.n}): engine ${perHundred('engine').toFixed(1)} MB per 100 inspections,`,
    `extension host ${perHundred('host').toFixed(1)} MB per 100 inspections. From inspection ${first.n} to ${lastS.n}: engine ${((lastS.engine - first.engine) / MB).toFixed(0)} MB, extension host ${((lastS.host - first.host) / MB).toFixed(0)} MB.`,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'soak.md'), out);
}

async function main(): Promise<void> {
  const total = Number(arg('inspections', '200'));
  const every = Number(arg('every', '10'));
  await ensureDemoModel(projectCacheDir());
  const wb = await Workbench.start({ name: 'soak', files: { 'prompt.txt': LINES.join('\n') + '\n' }, env: { INNER_WORLD_CACHE: projectCacheDir() } });
  const samples: Array<{ n: number; engine: number; host: number; seconds: number }> = [];
  const t0 = performance.now();
  let enginePid: number | undefined;
  try {
    // quick open's file search can be slow to list the file on a busy machine: try again
    for (let attempt = 1; ; attempt++) {
      try {
        await wb.openFile('prompt.txt');
        break;
      } catch (e) {
        if (attempt === 3) throw e;
        await wb.page.keyboard.press('Escape');
      }
    }
    for (let n = 1; n <= total; n++) {
      const line = LINES[(n - 1) % LINES.length]!;
      await wb.runCommand('View: Focus First Editor Group');
      await wb.selectText(line);
      await wb.runCommand('Inner World: Inspect Selection');
      const layers = await viewFrame(wb, 'Layers');
      // the chips spell this line (a word may be split into pieces, "##ite"); the line before differs
      const spelled = `<s>${line.replace(/ /g, '')}`;
      for (const deadline = Date.now() + 120_000; ; ) {
        if ((await layers.locator('#tokens .chip').allTextContents()).join('').replace(/##/g, '') === spelled) break;
        if (Date.now() > deadline) throw new Error(`the layers view never showed "${line}"`);
        await wb.page.waitForTimeout(200);
      }
      await layers.locator('#status[data-kind="ok"]').waitFor({ timeout: 120_000 });
      // a view opened, read and closed every few inspections (its jobs, its webview, its listeners)
      if (n % 4 === 0) {
        const [command, title] = VIEWS[(n / 4) % VIEWS.length]!;
        await wb.runCommand(`Inner World: ${command}`);
        const v = await viewFrame(wb, title);
        await v.locator('#status[data-kind="ok"]').waitFor({ timeout: 120_000 });
        // by the tab's close button: the palette's Close Editor closes whichever group has focus
        const tab = wb.page.locator('.tabs-container .tab', { hasText: `Inner World: ${title}` }).first();
        await tab.hover();
        await tab.locator('.tab-actions .action-label').first().click();
        await tab.waitFor({ state: 'detached' });
      }
      if (n === 1 || n % every === 0) {
        const found = extensionProcesses(wb.server.pid);
        if (enginePid !== undefined && found.engine !== enginePid) throw new Error(`the engine process changed (${enginePid} -> ${found.engine}): it restarted during the soak`);
        enginePid = found.engine;
        if (!found.engine || !found.host) throw new Error(`engine ${found.engine}, extension host ${found.host}: not found under code-server ${wb.server.pid}`);
        const s = { n, engine: vmRss(found.engine), host: vmRss(found.host), seconds: (performance.now() - t0) / 1000 };
        samples.push(s);
        writeResults(samples, total, every);
        console.log(`${String(n).padStart(4)} inspections: engine ${(s.engine / MB).toFixed(0)} MB, extension host ${(s.host / MB).toFixed(0)} MB, ${s.seconds.toFixed(0)} s`);
      }
    }
  } finally {
    await wb.close();
  }
  writeResults(samples, total, every);
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
