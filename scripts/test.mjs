// The one test runner for every suite: node's built-in runner, TypeScript through tsx.
// Usage: node scripts/test.mjs [unit] [integration] [e2e]   (default: all, after typecheck, lint, build)
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const all = ['unit', 'integration', 'e2e'];
const asked = process.argv.slice(2).filter((a) => all.includes(a));
const suites = asked.length ? asked : all;
const full = asked.length === 0;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function files(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(dir, f))
    .sort();
}

const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
if (full) {
  run(npx, ['tsc', '-p', '.']);
  run(npx, ['eslint', '.']);
}
if (full || suites.includes('e2e')) run(process.execPath, ['scripts/build.mjs']);
if (suites.some((s) => s !== 'unit')) run(process.execPath, ['--import', 'tsx', 'test/fixtures/prepare.ts']);

const testFiles = suites.flatMap((s) => files(path.join('test', s)));
if (testFiles.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// Run the suites, echoing their output, and end with one plain line a CI log reader can trust:
// "N passed, N failed" (a run that executed no test shows 0 passed).
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...testFiles], { stdio: ['inherit', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (b) => {
  process.stdout.write(b);
  tail = (tail + b.toString()).slice(-4096);
});
child.on('close', (code, signal) => {
  const count = (name) => Number(new RegExp(`[ℹ#] ${name} (\\d+)`).exec(tail)?.[1] ?? 0);
  const passed = count('pass');
  const failed = count('fail') + count('cancelled');
  console.log(`\n${passed} passed, ${failed} failed`);
  const status = code ?? (signal ? 1 : 0);
  process.exit(status !== 0 ? status : passed === 0 ? 1 : 0);
});
