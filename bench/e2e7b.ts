// The model views end to end on a Llama-2-7B-shaped Q4_K_M file, on demand (test/e2e/modelViews7b.e2e.ts
// says why CI does not run it): generates the file into bench/.tmp when it is missing (minutes),
// builds the extension, runs the test file. Screenshots: test-results/e2e/images/7b-*.png.
// Usage: npm run bench:e2e-7b   (INNER_WORLD_E2E_MODEL=/path/to/file.gguf to use another file)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ensureBenchModel } from './models';

async function main(): Promise<number> {
  const model = process.env['INNER_WORLD_E2E_MODEL'] ?? (await ensureBenchModel('llama2-7b-q4km'));
  const root = path.join(__dirname, '..');
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) return build.status ?? 1;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/e2e/modelViews7b.e2e.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, INNER_WORLD_E2E_MODEL: model },
  });
  return run.status ?? 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
