// `npm start`: from a fresh clone to the extension running on the demo model.
// Builds the extension and the demo model, then opens VS Code on a demo workspace: the desktop
// `code` command when there is one (Extension Development Host), otherwise VS Code for the web
// (code-server, installed into a cache folder outside the repo) at a printed localhost address.
// Flags: --browser forces code-server; --no-open only builds.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectCacheDir } from '../src/engine/assets';
import { ensureDemoModel } from '../src/engine/demo';
import { ensureCodeServer, startCodeServer } from './e2e/codeServer';

const root = path.resolve(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));

async function main(): Promise<void> {
  step('building the extension');
  run(process.execPath, ['scripts/build.mjs']);
  step('building the demo model (seconds; reused afterwards)');
  const model = await ensureDemoModel(projectCacheDir(), { onProgress: (m: string) => console.log(`  ${m}`) });
  console.log(`  ${path.relative(root, model)}`);
  if (args.has('--no-open')) return process.exit(0);

  const env = { ...process.env, INNER_WORLD_CACHE: projectCacheDir() };
  const code = args.has('--browser') ? undefined : which('code');
  if (code) {
    step(`opening VS Code (${code}) with the extension on the demo workspace`);
    spawn(code, [`--extensionDevelopmentPath=${root}`, '--new-window', path.join(root, 'demo')], { env, stdio: 'inherit', detached: true }).unref();
    console.log('  In demo/prompt.txt, select "I like the red ball" and run "Inner World: Inspect Selection".');
    return process.exit(0);
  }
  step('starting VS Code for the web (code-server); the first run installs it (about 2 minutes)');
  ensureCodeServer((line) => console.log(`  ${line}`));
  const server = await startCodeServer({ env, files: { 'prompt.txt': fs.readFileSync(path.join(root, 'demo', 'prompt.txt'), 'utf8') } });
  console.log(`\n  Open ${server.url}?folder=${encodeURIComponent(server.workspace)} in a browser.`);
  console.log('  In prompt.txt, select "I like the red ball" and run "Inner World: Inspect Selection" (right-click or F1).');
  console.log('  Ctrl+C stops it.\n');
  const stop = (): void => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function step(text: string): void {
  console.log(`\n> ${text}`);
}

function run(cmd: string, argv: string[]): void {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed`);
}

function which(cmd: string): string | undefined {
  const r = spawnSync(process.platform === 'win32' ? 'where' : 'which', [cmd], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]!.trim() || undefined : undefined;
}

main().catch((e) => {
  console.error(`npm start failed: ${(e as Error).message}`);
  process.exit(1);
});
