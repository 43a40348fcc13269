// Our side of the peer benchmark, as a worker like the notebook's (peer.py): one JSON command per
// line on stdin, one JSON answer per line on stdout, times taken here around the work alone. It goes
// through the Workbench, as the extension does: the session, the one precision policy, the cached
// dictionary copies.
import * as readline from 'node:readline';
import type { ActivationCache } from '../../src/engine/activations';
import { lens } from '../../src/engine/analysis/lens';
import { patternHook, stateHook, type HookName } from '../../src/engine/hookNames';
import { GgmlEngine } from '../../src/engine/compute/engine';
import { Workbench } from '../../src/engine/workbench/workbench';

let wb: Workbench | undefined;
let cache: ActivationCache | undefined;

const now = (): number => performance.now();

async function handle(c: { cmd: string; [k: string]: unknown }): Promise<unknown> {
  switch (c.cmd) {
    case 'load': {
      const t0 = now();
      wb = new Workbench(c.model as string, { gpu: 'cpu', threads: c.threads as number, cacheDir: c.cacheDir as string, session: { maxContext: 256 } });
      await wb.session();
      return { ms: now() - t0 };
    }
    case 'tokenize': {
      const s = await wb!.session();
      return { tokens: s.tokenize(c.text as string).tokens.map((t) => t.id).slice(0, c.n as number) };
    }
    case 'capture': {
      const s = await wb!.session();
      const tokens = c.tokens as number[];
      const n = s.info.nLayers;
      const hooks: HookName[] = [...Array.from({ length: n + 1 }, (_, l) => stateHook(l)), ...Array.from({ length: n }, (_, l) => patternHook(l))];
      const t0 = now();
      cache = s.run(tokens, { hooks, logits: true });
      const t = now() - t0;
      const V = s.info.nVocab;
      const logits = cache.logits!.data; // [pos, d_vocab]
      const top1 = tokens.map((_, p) => {
        let best = 0;
        for (let j = 1; j < V; j++) if (logits[p * V + j]! > logits[p * V + best]!) best = j;
        return best;
      });
      return { ms: t, top1 };
    }
    case 'lens': {
      const t0 = now();
      const engine = await wb!.engine();
      const nLayers = wb!.file().hparams.nLayers;
      const positions = cache!.tokens.map((_, i) => i);
      const rows: number[][] = [];
      let upload = 0;
      const copies: string[] = [];
      for (const name of ['input', 'output'] as const) {
        const dict = await wb!.dictionary(name);
        if (engine instanceof GgmlEngine) {
          // the dictionary's device copy, made (or read from the disk cache) on first use: timed apart
          const u0 = now();
          const p = engine.projector(dict);
          upload += now() - u0;
          copies.push(`${p.typeName}${p.fromCache ? ' from the disk cache' : ''}`);
        }
        const r = lens(engine, dict, cache!, { positions, nLayers, k: c.k as number, tokenText: (id) => wb!.tokenText(id) });
        rows.push(r.positions.flatMap((p) => p.layers.flatMap((l) => l.words.map((w) => w.token))));
      }
      const t = now() - t0;
      return { ms: t, upload, copies: copies.join(', '), ...(c.rows ? { rows } : {}) };
    }
    case 'memory':
      return { peakKb: process.resourceUsage().maxRSS };
    default:
      return { error: `unknown command ${c.cmd}` };
  }
}

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
  const c = JSON.parse(line) as { cmd: string };
  if (c.cmd === 'quit') {
    queue = queue.then(() => {
      wb?.dispose();
      process.exit(0);
    });
    return;
  }
  queue = queue.then(async () => {
    let r: unknown;
    try {
      r = await handle(c);
    } catch (e) {
      r = { error: String((e as Error).stack ?? e) };
    }
    process.stdout.write(`${JSON.stringify(r)}\n`);
  });
});
