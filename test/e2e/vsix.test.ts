// The extension as people install it: `npm run package`'s linux-x64 .vsix, checked for what it
// holds (only what runs), installed with `code-server --install-extension` into a clean extensions
// folder, then used: open a file, inspect a sentence on the demo model, see the layers panel, with
// the engine process running from the installed copy (not from this repository).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectCacheDir } from '../../src/engine/assets';
import { DEMO_SHAPE } from '../../src/engine/demo/builder';
import { packageTarget, type PackageResult } from '../../scripts/package';
import { EXTENSION_ID, TIMEOUT, useWorkbench } from './harness';

const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string; devDependencies: Record<string, string> };
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-vsix-'));
const VSIX = path.join(outDir, `${manifest.name}-linux-x64-${manifest.version}.vsix`);

/** Entry names of a zip file, read from its central directory (a .vsix is a zip). */
function zipEntries(file: string): string[] {
  const buf = fs.readFileSync(file);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, `${file} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, 'central directory entry');
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    names.push(buf.toString('utf8', at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

describe('the linux-x64 .vsix, installed into a clean code-server', { timeout: 600_000 }, () => {
  let built: PackageResult | undefined;
  before(() => {
    built = packageTarget('linux-x64', { outDir });
  }, { timeout: 300_000 });
  const wb = useWorkbench({
    name: 'vsix',
    vsix: VSIX,
    files: { 'notes.txt': 'I like the red ball, but my girlfriend likes the larger ball.\n' },
    // the demo model the fixtures prepared; the installed extension would build it itself otherwise
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });

  test('holds the bundles, media, manifest and docs, and only the linux-x64 binaries of the runtime packages', () => {
    assert.equal(built?.file, VSIX);
    const entries = zipEntries(VSIX).filter((e) => e.startsWith('extension/')).map((e) => e.slice('extension/'.length));
    for (const f of ['package.json', 'readme.md', 'changelog.md', 'LICENSE.txt', 'dist/extension.js', 'dist/engineProcess.js', 'media/icon.png', 'media/dist/layers.js', 'node_modules/node-llama-cpp/package.json', 'node_modules/koffi/package.json']) {
      assert.ok(entries.includes(f), `${f} is in the .vsix`);
    }
    assert.ok(entries.some((e) => e.startsWith('media/walkthrough/') && e.endsWith('.md')), 'walkthrough pages');
    // llama.cpp: the CPU build for linux-x64 only
    const llamaBuilds = new Set(entries.filter((e) => e.startsWith('node_modules/@node-llama-cpp/')).map((e) => e.split('/')[2]));
    assert.deepEqual([...llamaBuilds], ['linux-x64']);
    assert.ok(entries.some((e) => /^node_modules\/@node-llama-cpp\/linux-x64\/bins\/linux-x64\/libllama[^/]*\.so$/.test(e)));
    // koffi: the glibc x64 binary only
    const koffiBinaries = entries.filter((e) => e.endsWith('koffi.node'));
    assert.deepEqual(koffiBinaries, ['node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node']);
    // nothing that does not run: sources, tests, source maps, type declarations, dev dependencies
    const strays = entries.filter((e) => /^(src|test|bench|scripts|webview|docs|\.cache|\.ci)\//.test(e) || /\.(map|ts)$/.test(e) || e.includes('/.bin/'));
    assert.deepEqual(strays, []);
    const devInside = Object.keys(manifest.devDependencies).filter((d) => entries.some((e) => e.startsWith(`node_modules/${d}/`)));
    assert.deepEqual(devInside, []);
    console.log(`# ${path.basename(VSIX)}: ${(built!.bytes / 1e6).toFixed(1)} MB, ${entries.length} files`);
  });

  test('code-server installed it as a folder of its own in the clean extensions folder', () => {
    const installed = path.join(wb().server.extensionsDir, wb().server.extensionId);
    assert.match(wb().server.extensionId, new RegExp(`^${EXTENSION_ID}-${manifest.version.replace(/\./g, '\\.')}`, 'i'));
    assert.equal(fs.lstatSync(installed).isSymbolicLink(), false);
    assert.ok(fs.existsSync(path.join(installed, 'node_modules', '@node-llama-cpp', 'linux-x64', 'package.json')));
    assert.equal(fs.existsSync(path.join(installed, 'src')), false);
  });

  test('open a file, inspect a sentence on the demo model: the layers panel shows its tokens', async () => {
    // from the explorer, as a newcomer would (quick open's file search waits on a busy extension host under load)
    await wb().page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'notes.txt' }).first().dblclick();
    await wb().page.locator('.tabs-container .tab.active', { hasText: 'notes.txt' }).waitFor();
    await wb().editor().locator('.view-lines').waitFor();
    await wb().selectText('I like the red ball');
    await wb().runCommand('Inner World: Inspect Selection');
    await wb().waitForPanel('Inner World: Layers');
    const panel = wb().webview({ extension: EXTENSION_ID });
    const chips = panel.locator('#tokens .chip');
    await chips.nth(5).waitFor({ timeout: TIMEOUT * 2 });
    assert.deepEqual(await chips.allInnerTexts(), ['<s>', 'I', 'like', 'the', 'red', 'ball']);
    await panel.locator('#status[data-kind="ok"]').waitFor();
    // a row per state: the embedding and every block
    assert.equal(await panel.locator('#words tbody tr').count(), DEMO_SHAPE.nLayers + 1);
    await wb().screenshot('vsix-layers-panel');
    // the engine process runs the installed copy's bundle
    const engine = path.join(wb().server.extensionsDir, wb().server.extensionId, 'dist', 'engineProcess.js');
    const running = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(engine);
      } catch {
        return false;
      }
    });
    assert.ok(running, `a process runs ${engine}`);
  });

  test('the walkthrough is offered', async () => {
    const page = wb().page;
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Welcome: Open Walkthrough');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Open Walkthrough' }).first().click();
    // the command asks which walkthrough in a second list
    const ours = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get started with LLM Inner World' }).first();
    await ours.waitFor();
    await ours.click();
    await page.locator('.getting-started-step', { hasText: 'Inspect a selection' }).first().waitFor();
    await wb().screenshot('walkthrough');
  });

  test('no unexpected console errors', () => {
    assert.deepEqual(wb().unexpectedConsoleErrors(), []);
    fs.rmSync(outDir, { recursive: true, force: true });
  });
});
