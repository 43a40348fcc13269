// Smoke suite in desktop VS Code through @vscode/test-electron, for machines that can download
// VS Code (a laptop, a public CI). Not part of `npm test`: offline machines use the code-server
// e2e suite instead, and here the download failure is a skip, said plainly, exit 0.
//
//   npm run test:vscode           (INNER_WORLD_VSCODE_VERSION=1.90.0 to pick a version; default stable)
//   on Linux without a display:   xvfb-run -a npm run test:vscode
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { toolCacheRoot } from '../../scripts/e2e/codeServer';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

async function main(): Promise<number> {
  const version = process.env.INNER_WORLD_VSCODE_VERSION || 'stable';
  let vscodeExecutablePath: string;
  try {
    vscodeExecutablePath = await downloadAndUnzipVSCode({ version, cachePath: path.join(toolCacheRoot(), 'vscode-test'), timeout: 20_000 });
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    console.log(`skipped: cannot download VS Code (${reason})`);
    console.log('The offline equivalent is the e2e suite: npm run test:e2e (code-server + Chromium).');
    return 0;
  }

  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building the extension failed (node scripts/build.mjs)');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-vscode-test-'));
  try {
    // the extension host require()s the suite: bundle it to CommonJS, vscode left to the host
    const suite = path.join(tmp, 'suite.js');
    await esbuild.build({ entryPoints: [path.join(import.meta.dirname, 'suite', 'index.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'], outfile: suite, logLevel: 'warning' });
    const results = path.join(tmp, 'results.json');
    const workspace = path.join(tmp, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'prompt.txt'), 'I like the red ball\n');

    let code: number;
    try {
      code = await runTests({
        vscodeExecutablePath,
        extensionDevelopmentPath: REPO_ROOT,
        extensionTestsPath: suite,
        extensionTestsEnv: { INNER_WORLD_VSCODE_RESULTS: results },
        launchArgs: [workspace, '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions'), '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', '--disable-gpu'],
      });
    } catch (e) {
      code = 1;
      console.error(`VS Code test run failed: ${(e as Error).message}`);
      if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) console.error('No display: on Linux run it under xvfb-run -a.');
    }
    if (!fs.existsSync(results)) {
      console.log('0 passed, 1 failed');
      console.error('the suite wrote no results: the extension host did not run it');
      return 1;
    }
    const r = JSON.parse(fs.readFileSync(results, 'utf8')) as { passed: number; failed: number };
    console.log(`${r.passed} passed, ${r.failed} failed`);
    return r.failed === 0 && code === 0 ? 0 : 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
