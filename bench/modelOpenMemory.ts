// Anonymous memory of an opened model with and without llama.cpp's weight repacking (its CPU extra
// buffer types), and the time of one short decode with each: what the model costs before any
// inspection (bench/results/inspectionMemory.md). Usage: node --import tsx bench/modelOpenMemory.ts <model.gguf>
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ModelSession } from '../src/engine/llama/session';
const anon = () => Number(/RssAnon:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024; // kB to MiB
(async () => {
  const file = process.argv[2]!;
  for (const repack of [false, true]) {
    const a0 = anon();
    const t0 = Date.now();
    const s = await ModelSession.open(file, { gpu: 'cpu', threads: 2, repackWeights: repack });
    const a1 = anon();
    const tok = s.tokenize('I like the red ball but my girlfriend likes the larger ball').tokens.map((t) => t.id);
    const c0 = process.cpuUsage(); const w0 = Date.now();
    s.run(tok, { hooks: [], logits: true });
    const c = process.cpuUsage(c0);
    console.log(`repack ${repack}: RssAnon before ${a0.toFixed(0)} MiB, after open ${a1.toFixed(0)} MiB (+${((a1 - a0) / 1024).toFixed(2)} GiB), open ${(t0 && (w0 - t0) / 1000).toFixed(1)} s; decode ${tok.length} tokens: ${((Date.now() - w0) / 1000).toFixed(1)} s wall, ${((c.user + c.system) / 1e6).toFixed(1)} s CPU; load ${os.loadavg()[0]!.toFixed(1)}`);
    s.dispose();
  }
})();
