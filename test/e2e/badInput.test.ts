// Bad input and impatient users in the real extension (code-server + Chromium, the demo model):
// each gets a message that gives the reason first and then what to do (with a button where one
// helps), and the next inspection works. A selection longer than the context, files that are not
// usable models, a view closed while its job runs, Inspect Selection run ten times at once, the
// engine process killed as a native abort kills it.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { projectCacheDir } from '../../src/engine/assets';
import { writeBadModels } from '../fixtures/badModels';
import { TIMEOUT, useWorkbench } from './harness';
import { extensionProcesses } from './processes';
import { viewFrame } from './viewHelpers';

const SENTENCE = 'I like the red ball';
/** one line per inspection that must be seen to succeed: each ends on another word than the one before */
const LINES = ['red ball', 'blue car', 'green hat', 'white boat', 'black cup', 'pink box', 'brown book', 'grey door', 'golden key'].map((w) => `I like the ${w}`);
/** about 2,800 tokens: longer than the demo model's 2,048-token context */
const LONG = 'I like the red ball. '.repeat(400);

describe('bad input and impatient users (code-server + Chromium, demo model)', { timeout: 900_000 }, () => {
  const wb = useWorkbench({
    name: 'bad-input',
    files: { 'prompt.txt': `${LINES.join('\n')}\n`, 'long.txt': `${LONG}\n` },
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });
  let bad: ReturnType<typeof writeBadModels>;
  before(() => {
    bad = writeBadModels(path.join(wb().server.workspace, 'models'));
  });

  let inspected = 0;
  /** Inspect the next line and wait for the layers view to show its last word: the inspection succeeded. */
  async function inspectSentence(): Promise<void> {
    const line = LINES[++inspected % LINES.length]!;
    await wb().openFile('prompt.txt');
    await wb().selectText(line);
    await wb().runCommand('Inner World: Inspect Selection');
    const layers = await viewFrame(wb(), 'Layers');
    // the line's last word as a chip (no line before ends on it; the view may keep another token selected)
    await layers.locator('#tokens .chip', { hasText: new RegExp(`^${line.split(' ').at(-1)}$`) }).waitFor({ timeout: TIMEOUT * 2 });
    await layers.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
  }

  /** Close an editor tab by its close button (the palette's Close Editor closes whichever group has focus). */
  async function closeTab(title: string): Promise<void> {
    const tab = wb().page.locator('.tabs-container .tab', { hasText: title }).first();
    await tab.hover();
    await tab.locator('.tab-actions .action-label').first().click();
    await tab.waitFor({ state: 'detached' });
  }

  /** Load Model... from the palette, then a row of its own quick pick (runCommand waits for the palette to close; this one stays open). */
  async function loadModelPick(row: string): Promise<void> {
    const page = wb().page;
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('>Inner World: Load Model');
    await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: 'Inner World: Load Model...' }) }).first().click();
    await page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first().click();
  }

  async function errorsShown(): Promise<string[]> {
    return (await wb().notifications()).filter((n) => n.severity === 'error').map((n) => n.message);
  }

  test('a selection longer than the context: the reason, and a button that inspects its first tokens', async () => {
    await wb().openFile('long.txt');
    await wb().clickEditor();
    await wb().page.keyboard.press('Control+A');
    await wb().page.locator('.statusbar-item[id="status.editor.selection"]', { hasText: /selected/ }).waitFor();
    await wb().runCommand('Inner World: Inspect Selection');
    const n = await wb().waitForNotification(/context holds/, TIMEOUT * 2);
    assert.equal(n.severity, 'error');
    // reason first (how long, how much fits), then what to do
    assert.match(n.message, /^Inner World: The selection is (\d+) tokens long; this model's context holds 2048\. Select less text/);
    assert.ok(Number(/is (\d+) tokens/.exec(n.message)![1]) > 2048);
    const toast = wb().page.locator('.notifications-toasts .notification-list-item', { hasText: /context holds/ });
    await toast.locator('.monaco-button', { hasText: 'Inspect the first 2048 tokens' }).click();
    const warned = await wb().waitForNotification(/only the first 2048 of \d+ tokens were inspected/, TIMEOUT * 4);
    assert.equal(warned.severity, 'warning');
    const layers = await viewFrame(wb(), 'Layers');
    await layers.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    // the last token shown is the 2,048th (position 2047)
    await layers.locator('#status', { hasText: /\(position 2047\)/ }).waitFor();
    await wb().clearNotifications();
  });

  test('a view closed while its job runs: nothing breaks, the next inspection works', async () => {
    // the grid of the long inspection reads page after page of tokens: close it while it reads
    await wb().runCommand('Inner World: Show Token × Layer Grid');
    const grid = await viewFrame(wb(), 'Token × Layer Grid');
    await grid.locator('#status').waitFor();
    await closeTab('Inner World: Token × Layer Grid');
    await inspectSentence();
    assert.deepEqual(await errorsShown(), []);
  });

  test('Inspect Selection run ten times at once: one result shown, no error, the engine process the same', async () => {
    const before = extensionProcesses(wb().server.pid).engine;
    assert.ok(before, 'the engine process is running');
    await wb().openFile('prompt.txt');
    await wb().selectText(SENTENCE);
    await wb().runCommand('Inner World: Inspect Selection');
    // the palette lists the last command run first: F1, Enter nine times as fast as the page takes keys
    for (let i = 0; i < 9; i++) {
      await wb().page.keyboard.press('F1');
      await wb().page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'Inner World: Inspect Selection' }).waitFor();
      await wb().page.keyboard.press('Enter');
    }
    const layers = await viewFrame(wb(), 'Layers');
    await layers.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await layers.locator('#tokens .chip.selected', { hasText: /^ball$/ }).waitFor();
    assert.equal(extensionProcesses(wb().server.pid).engine, before, 'the engine was not restarted');
    assert.deepEqual(await errorsShown(), []);
  });

  test('a native crash of the engine (SIGABRT, as llama.cpp aborts): reported, restarted, the model reopened', async () => {
    const pid = extensionProcesses(wb().server.pid).engine;
    assert.ok(pid, 'the engine process is running');
    process.kill(pid, 'SIGABRT');
    const n = await wb().waitForNotification(/the model engine stopped \(signal SIGABRT\)/, TIMEOUT * 2);
    assert.equal(n.severity, 'warning');
    assert.match(n.message, /It restarts and reloads the model on the next request/);
    const layers = await viewFrame(wb(), 'Layers');
    await layers.locator('#stale:not([hidden])', { hasText: /engine restarted/ }).waitFor();
    await wb().clearNotifications();
    await inspectSentence();
    await layers.locator('#stale').waitFor({ state: 'hidden' });
    const now = extensionProcesses(wb().server.pid).engine;
    assert.ok(now && now !== pid, `a new engine process (${pid} -> ${now})`);
    assert.deepEqual(await errorsShown(), []);
  });

  for (const [name, file, reason, todo] of [
    // the engine's message names the path first (as the CLI prints it); the toast puts the reason first and the name last
    ['not a GGUF file', () => bad.notGguf, /Not a GGUF file \(starts with/, /Choose a \.gguf model file\. \(notes\.gguf\)/],
    ['an architecture it does not run', () => bad.gpt2, /is a "gpt2" model, an architecture LLM Inner World does not run yet/, /it runs Llama/],
    ['a weight type ggml cannot compute with', () => bad.i32, /stores blk\.0\.attn_q\.weight as I32/, /Choose another file/],
    ['missing tensors', () => bad.missing, /is missing 2 tensor\(s\).*output_norm\.weight/, /choose another file/],
  ] as const) {
    test(`loading ${name}: the reason, then what to do; the demo model loads again afterwards`, async () => {
      await wb().clearNotifications();
      await loadModelPick('Browse');
      await wb().chooseInFileDialog(file(), 'Load model');
      const n = await wb().waitForNotification(reason, TIMEOUT * 2);
      assert.equal(n.severity, 'error');
      const at = n.message.search(todo);
      assert.ok(at > n.message.search(reason), `what to do comes after the reason: ${n.message}`);
      // back to the demo model, and an inspection works
      await loadModelPick('Demo model');
      await wb().waitForNotification(/loaded/, TIMEOUT * 2);
      await inspectSentence();
    });
  }

  test('no unexpected console errors', () => {
    // the workbench logs the error notifications provoked above
    assert.deepEqual(wb().unexpectedConsoleErrors([/^Inner World: /]), []);
  });
});
