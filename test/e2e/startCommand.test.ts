// The README's front door, run as a newcomer runs it: `npm start` through npm, in a fresh clone,
// with an empty HOME and an empty cache, so code-server is installed from scratch (into the scratch
// folder) by the very command under test. It must print the served address, answer /healthz,
// open prompt.txt of the demo workspace in a browser, stop on Ctrl+C and leave the workspace;
// a second run keeps the user's edits and moves off a port that is taken.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CODE_SERVER_VERSION, findChromium, findCodeServer, installEnv } from '../../scripts/e2e/codeServer';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const RESULTS = path.join(REPO_ROOT, 'test-results', 'e2e', 'start-command');
const ARTICLE_PROMPT = 'I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. It is a lot of fun.';
const SERVED = /VS Code is served at (http:\/\/127\.0\.0\.1:(\d+)\/)/;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-start-'));
const clone = path.join(scratch, 'clone');
const home = path.join(scratch, 'home');
const cache = path.join(scratch, 'cache');

/** A shell environment as a user has it: no npm_* from an outer npm (this test may run under `npm test`), no `code` on PATH (a desktop VS Code would be opened instead), empty HOME and caches. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|INIT_CWD$|NODE$)/i.test(k)) env[k] = v;
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((dir) => dir && !fs.existsSync(path.join(dir, 'code')) && !dir.includes(`${path.sep}node_modules${path.sep}`))
    .join(path.delimiter);
  return {
    ...env,
    HOME: home,
    XDG_CACHE_HOME: path.join(scratch, 'xdg-cache'),
    XDG_CONFIG_HOME: path.join(scratch, 'xdg-config'),
    INNER_WORLD_CACHE: cache,
    // npm's download cache (content-addressed tarballs, nothing else) is the runner's own, so the
    // test does not depend on the registry's speed; the install itself starts from nothing
    npm_config_cache: npmCache,
    ...extra,
  };
}
const npmCache = spawnSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).stdout.trim();

interface Started {
  child: ChildProcess;
  output: () => string;
  url: string;
  port: number;
  exited: Promise<number | string>;
}

/** `npm start` in the clone; resolves when it prints the served address, rejects if it exits first. */
async function npmStart(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Started> {
  // its own process group, so that Ctrl+C can be sent to npm and everything under it, as a terminal does
  const child = spawn('npm', ['start'], { cwd: clone, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
  let gone: number | string | undefined;
  void exited.then((c) => (gone = c));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const m = SERVED.exec(out);
    if (m) return { child, output: () => out, url: m[1]!, port: Number(m[2]), exited };
    if (gone !== undefined) throw new Error(`npm start exited (${gone}) before serving:\n${out}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  killTree(child, 'SIGKILL');
  throw new Error(`npm start printed no address within ${timeoutMs / 1000} s:\n${out}`);
}

/** Ctrl+C: SIGINT to the whole group; resolves with npm's exit once everything is down. */
async function ctrlC(s: Started): Promise<number | string> {
  process.kill(-s.child.pid!, 'SIGINT');
  const timer = setTimeout(() => killTree(s.child, 'SIGKILL'), 30_000);
  const code = await s.exited;
  clearTimeout(timer);
  return code;
}

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // gone
  }
}

/** Processes whose command line names the scratch folder (code-server runs in its own group): none may outlive the test. */
function leftovers(): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(scratch)) pids.push(Number(p));
    } catch {
      // ended meanwhile
    }
  }
  return pids;
}

async function healthz(url: string): Promise<number> {
  try {
    return (await fetch(new URL('healthz', url))).status;
  } catch {
    return 0;
  }
}

async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('npm start from a fresh clone with an empty HOME (README "Try it")', { timeout: 30 * 60_000 }, () => {
  after(() => {
    for (const pid of leftovers()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  });

  test("an npm run under code-server's Node 24 sees Node 24 once an outer npm's variables are cleaned", () => {
    // the bug: code-server's postinstall reads the Node major from npm_config_user_agent, which an
    // inner npm takes from the environment an outer `npm start` (Node 20) left
    const pkg = fs.mkdtempSync(path.join(scratch, 'agent-'));
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'agent', version: '1.0.0', scripts: { agent: 'echo "agent=$npm_config_user_agent"' } }));
    const node24 = findCodeServer().node;
    const outer = { ...process.env, npm_config_user_agent: `npm/11.0.0 node/${process.version} linux x64 workspaces/false`, npm_lifecycle_event: 'start', npm_package_name: 'llm-inner-world' };
    const agent = (env: NodeJS.ProcessEnv): string => {
      const r = spawnSync('npm', ['run', '--silent', 'agent'], { cwd: pkg, encoding: 'utf8', env: { ...env, PATH: `${path.dirname(node24)}${path.delimiter}${env.PATH}` } });
      assert.equal(r.status, 0, r.stderr);
      return /agent=(.*)/.exec(r.stdout)![1]!;
    };
    assert.match(agent(outer), new RegExp(`node/${process.version.replace(/\./g, '\\.')}`), 'inherited: the outer Node (what made the install fail)');
    assert.match(agent(installEnv(outer)), /node\/v24\./);
    const cleaned = installEnv({ ...outer, npm_config_registry: 'https://registry.example/' });
    assert.equal(cleaned.npm_config_registry, 'https://registry.example/', "the user's own npm settings stay");
    assert.equal(cleaned.npm_lifecycle_event, undefined);
  });

  test('clone, then npm start installs code-server with progress and serves the demo workspace', { timeout: 25 * 60_000 }, async () => {
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim();
    const cloned = spawnSync('git', ['clone', '--quiet', REPO_ROOT, clone], { encoding: 'utf8' });
    assert.equal(cloned.status, 0, cloned.stderr);
    spawnSync('git', ['checkout', '--quiet', head], { cwd: clone });
    fs.mkdirSync(home);
    // node_modules: linked from this checkout instead of a second `npm ci` (same package-lock.json,
    // which .ci/run installs right before this suite). What is under test is `npm start`: build,
    // demo model, code-server install and start, none of which writes into node_modules.
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
    assert.equal(fs.existsSync(path.join(clone, 'demo-workspace')), false);

    const port = await freePort();
    const s = await npmStart(userEnv({ INNER_WORLD_PORT: String(port) }), 20 * 60_000);
    const out = s.output();
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'npm-start-first-run.log'), out);
    assert.equal(s.port, port, 'served on the port asked for');
    assert.equal(await healthz(s.url), 200);
    // the long step said what it did while it did it
    assert.match(out, new RegExp(`installing code-server@${CODE_SERVER_VERSION.replace(/\./g, '\\.')}`));
    assert.match(out, /installing code-server@[\d.]+: \d+ s, \d+ MB written/);
    assert.match(out, /code-server [\d.]+ installed in \d+ s/);
    assert.ok(fs.existsSync(path.join(cache, `code-server-${CODE_SERVER_VERSION}-node-24.9.0`, '.installed')), 'code-server went into INNER_WORLD_CACHE');
    assert.ok(!/e2e/i.test(out.slice(out.indexOf('VS Code is served'))), 'no "e2e" in what the user is told');
    const prompt = fs.readFileSync(path.join(clone, 'demo-workspace', 'prompt.txt'), 'utf8');
    assert.ok(prompt.includes(ARTICLE_PROMPT), prompt);

    // the printed address opens the demo workspace on prompt.txt in a browser
    const link = /^\s*(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)$/m.exec(out)?.[1];
    assert.ok(link, `no link to open in:\n${out}`);
    const profile = fs.mkdtempSync(path.join(scratch, 'chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: findChromium(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'] });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(link, { timeout: 30_000 });
      await page.locator('.tabs-container .tab.active', { hasText: 'prompt.txt' }).waitFor({ timeout: 60_000 });
      await page.locator('.monaco-editor .view-line', { hasText: 'I like the red ball' }).first().waitFor({ timeout: 30_000 });
      await page.locator('.explorer-folders-view', { hasText: 'prompt.txt' }).waitFor({ timeout: 30_000 });
      assert.match(await page.title(), /prompt\.txt/);
      assert.doesNotMatch(await page.title(), /e2e/i);
    } finally {
      await browser.close();
    }

    await ctrlC(s);
    await waitUntil('code-server to stop', async () => (await healthz(s.url)) === 0);
    await waitUntil('no process of the run left', async () => leftovers().length === 0);
    assert.ok(fs.existsSync(path.join(clone, 'demo-workspace', 'prompt.txt')), 'Ctrl+C leaves the demo workspace');
  });

  test('a second run keeps the edited workspace and moves off a taken port', { timeout: 5 * 60_000 }, async () => {
    const file = path.join(clone, 'demo-workspace', 'prompt.txt');
    fs.appendFileSync(file, '\nmy own note\n');
    const before = fs.readFileSync(file, 'utf8');
    const taken = net.createServer();
    const port = await new Promise<number>((resolve) => taken.listen(0, '127.0.0.1', () => resolve((taken.address() as net.AddressInfo).port)));
    try {
      const s = await npmStart(userEnv({ INNER_WORLD_PORT: String(port) }), 4 * 60_000);
      assert.match(s.output(), new RegExp(`port ${port} is taken; using ${s.port}`));
      assert.notEqual(s.port, port);
      assert.equal(await healthz(s.url), 200);
      assert.doesNotMatch(s.output(), /installing code-server/, 'installed once');
      assert.match(s.output(), /demo workspace: demo-workspace\/ \(kept from before/);
      await ctrlC(s);
      await waitUntil('no process of the run left', async () => leftovers().length === 0);
    } finally {
      taken.close();
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before, "the user's edit survives");
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
  await new Promise((r) => srv.close(r));
  return port;
}
