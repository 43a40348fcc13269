// The one test runner for every suite: node's built-in runner, TypeScript through tsx.
// Usage: node scripts/test.mjs [unit] [integration] [e2e]   (default: all, after typecheck, lint, build)
import { spawnSync } from 'node:child_process';
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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...testFiles], { stdio: 'inherit' });
process.exit(r.status ?? 1);
