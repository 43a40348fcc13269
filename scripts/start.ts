// `npm start`: from a fresh clone to the extension running on the demo model.
// Builds the extension and the demo model, then opens VS Code on the demo workspace: the desktop
// `code` command when there is one (Extension Development Host), otherwise VS Code for the web
// (code-server, installed into a cache folder outside the repo) at a printed localhost address,
// on the same port every run unless it is taken.
// Flags: --browser forces code-server; --no-open only builds.
// Environment: INNER_WORLD_PORT (default 8642), INNER_WORLD_CACHE (demo model, code-server and its profile).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { projectCacheDir } from '../src/engine/assets';
import { ensureDemoModel } from '../src/engine/demo';
import { ensureCodeServer, QUIET_SETTINGS, startCodeServer } from './e2e/codeServer';

const root = path.resolve(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));
const DEFAULT_PORT = 8642;
/** the user's demo folder: made from demo/ on the first run, ignored by git, never overwritten or deleted */
const WORKSPACE = path.join(root, 'demo-workspace');
const FIRST_FILE = 'prompt.txt';
const HOW_TO = `In ${FIRST_FILE}, select "I like the red ball", right-click, "Inner World: Inspect Selection". The walkthrough: Help > Welcome > "Get started with LLM Inner World".`;

async function main(): Promise<void> {
  const t0 = Date.now();
  step('building the extension');
  run(process.execPath, ['scripts/build.mjs']);
  step('building the demo model (seconds, first run only)');
  const model = await ensureDemoModel(projectCacheDir(), { onProgress: (m: string) => console.log(`  ${m}`) });
  console.log(`  ${path.relative(root, model) || model}`);
  const created = ensureDemoWorkspace();
  console.log(`\n> demo workspace: ${path.relative(root, WORKSPACE)}/ (${created.length ? `created: ${created.join(', ')}` : 'kept from before'}; yours to edit, git ignores it)`);
  if (args.has('--no-open')) return process.exit(0);

  const env = { ...process.env, INNER_WORLD_CACHE: projectCacheDir() };
  const code = args.has('--browser') ? undefined : which('code');
  if (code) {
    step(`opening VS Code (${code}) with the extension on the demo workspace`);
    spawn(code, [`--extensionDevelopmentPath=${root}`, '--new-window', WORKSPACE, path.join(WORKSPACE, FIRST_FILE)], { env, stdio: 'inherit', detached: true }).unref();
    console.log(`  ${HOW_TO}`);
    return process.exit(0);
  }
  step('starting VS Code for the web (code-server)');
  await ensureCodeServer((line) => console.log(`  ${line}`));
  const preferred = Number(process.env.INNER_WORLD_PORT) || DEFAULT_PORT;
  const port = await freePort(preferred);
  if (port !== preferred) console.log(`  port ${preferred} is taken; using ${port}`);
  const server = await startCodeServer({
    env,
    workspace: WORKSPACE,
    // settings, open editors and UI state survive between runs
    profileDir: path.join(projectCacheDir(), 'code-server-profile'),
    port,
    settings: { ...QUIET_SETTINGS, 'workbench.startupEditor': 'welcomePage', 'editor.hover.delay': 300 },
  });
  // the payload opens prompt.txt in the folder (VS Code for the web's openFile)
  const file = `vscode-remote://127.0.0.1:${server.port}${path.join(WORKSPACE, FIRST_FILE)}`;
  const url = `${server.url}?folder=${encodeURIComponent(WORKSPACE)}&payload=${encodeURIComponent(JSON.stringify([['openFile', file]]))}`;
  console.log(`\n  VS Code is served at ${server.url} (ready in ${((Date.now() - t0) / 1000).toFixed(0)} s). Open in a browser:\n\n  ${url}\n`);
  console.log(`  ${HOW_TO}`);
  console.log('  Ctrl+C stops it (the demo workspace stays).\n');
  const stop = (): void => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Copy each file of demo/ into the demo workspace unless it is there: the user's edits are never overwritten. */
function ensureDemoWorkspace(): string[] {
  const templates = path.join(root, 'demo');
  const created: string[] = [];
  for (const rel of fs.readdirSync(templates, { recursive: true }).map(String)) {
    const from = path.join(templates, rel);
    const to = path.join(WORKSPACE, rel);
    if (fs.statSync(from).isDirectory() || fs.existsSync(to)) continue;
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    created.push(rel);
  }
  return created;
}

/** `preferred` when nothing listens there, else a free port the system picks. */
async function freePort(preferred: number): Promise<number> {
  const tryListen = (port: number): Promise<number | undefined> =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(undefined));
      srv.listen(port, '127.0.0.1', () => {
        const got = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(got));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0))!;
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
