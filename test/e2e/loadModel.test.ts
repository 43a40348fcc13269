// Load Model end to end (code-server + Chromium): the quick pick lists a model from a fixture
// Ollama store (OLLAMA_MODELS) under "Ollama" by its Ollama name, never its blob hash, and loads
// it; a model that fails to load says why first and offers "Back to the demo model", which loads
// the demo; the failed model is not remembered as the chosen one.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectCacheDir } from '../../src/engine/assets';
import { ensureFixture } from '../fixtures/models';
import { TIMEOUT, useWorkbench } from './harness';

const store = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-e2e-ollama-'));
const emptyHub = fs.mkdtempSync(path.join(os.tmpdir(), 'inner-world-e2e-hub-'));

/** an Ollama store entry: the blob under its digest, the manifest naming it */
function ollamaModel(name: string, tag: string, data: Buffer): string {
  const hex = createHash('sha256').update(data).digest('hex');
  const blob = path.join(store, 'blobs', `sha256-${hex}`);
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  fs.writeFileSync(blob, data);
  const manifest = path.join(store, 'manifests', 'registry.ollama.ai', 'library', name, tag);
  fs.mkdirSync(path.dirname(manifest), { recursive: true });
  fs.writeFileSync(manifest, JSON.stringify({ schemaVersion: 2, layers: [{ mediaType: 'application/vnd.ollama.image.model', digest: `sha256:${hex}`, size: data.length }] }));
  return hex;
}

describe('Load Model lists the models on this machine and recovers from a failed load', { timeout: 600_000 }, async () => {
  const fixture = fs.readFileSync(await ensureFixture('tiny-f32'));
  const goodHash = ollamaModel('tinyfixture', 'latest', fixture);
  // starts like a GGUF (so it is listed) but ends inside its header
  ollamaModel('brokenfixture', 'q4', fixture.subarray(0, 4096));
  after(() => {
    fs.rmSync(store, { recursive: true, force: true });
    fs.rmSync(emptyHub, { recursive: true, force: true });
  });

  const wb = useWorkbench({
    name: 'load-model',
    files: { 'prompt.txt': 'I like the red ball\n' },
    env: { INNER_WORLD_CACHE: projectCacheDir(), OLLAMA_MODELS: store, HF_HUB_CACHE: emptyHub },
  });
  const status = () => wb().page.locator('.statusbar-item[id$="innerWorld.model"]');
  const pickRow = (text: string | RegExp) => wb().page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();

  /** Load Model as a user opens it from the status bar item */
  const openLoadModel = async (): Promise<void> => {
    // the item appears when the extension activates (onStartupFinished), late on a busy machine
    await status().waitFor({ timeout: TIMEOUT * 3 });
    await status().click();
    await wb().page.locator('.quick-input-widget', { hasText: 'Inner World: Load Model' }).waitFor();
    // away from the status bar, whose hover would cover the notifications
    await wb().page.mouse.move(700, 300);
  };

  test('the quick pick lists the Ollama model by name under "Ollama" and loads it', async () => {
    await openLoadModel();
    const row = pickRow('tinyfixture:latest');
    await row.waitFor({ timeout: TIMEOUT });
    const labels = await wb().page.locator('.quick-input-list .monaco-list-row').evaluateAll((els) => els.map((e) => e.textContent ?? ''));
    // the group's separator is drawn on its first row: the Ollama models come first, by name
    assert.ok(labels[0]!.includes('Ollama') && labels[0]!.includes('brokenfixture:q4') && labels[1]!.includes('tinyfixture:latest'), labels.join(' | '));
    assert.ok(labels.some((l) => l.includes('brokenfixture:q4')), labels.join(' | '));
    assert.ok(labels.some((l) => l.includes('Browse…')) && labels.some((l) => l.includes('Download…')), labels.join(' | '));
    // the name never shows the blob's hash (the path below it does)
    const names = await wb().page.locator('.quick-input-list .monaco-list-row').evaluateAll((els) => els.map((e) => (e.querySelector('.label-name')?.textContent ?? '').trim()));
    assert.ok(names.includes('tinyfixture:latest') && !names.some((l) => l.includes(goodHash)), names.join(' | '));
    await wb().screenshot('load-model-quick-pick');
    await row.click();
    await wb().waitForNotification(/fixture tiny-f32 loaded/, TIMEOUT * 2);
    await status().filter({ hasText: 'fixture tiny-f32' }).waitFor();
  });

  test('a model that fails to load says why first and offers "Back to the demo model", which works', async () => {
    await wb().clearNotifications();
    await openLoadModel();
    // loaded before: now listed first, under Recent, by its Ollama name
    await pickRow('Recent').waitFor();
    assert.match(await pickRow('Recent').innerText(), /tinyfixture:latest/);
    await pickRow('brokenfixture:q4').click();
    const toast = wb().page.locator('.notifications-toasts .notification-list-item', { hasText: 'Back to the demo model' }).first();
    await toast.waitFor({ timeout: TIMEOUT * 2 });
    const message = (await toast.locator('.notification-list-item-message').innerText()).trim();
    await wb().screenshot('load-model-failed');
    assert.ok(!message.includes(store), `the message names the path: ${message}`);
    assert.match(message, /^Inner World: [A-Z]/);
    // the model is named as the user knows it, at the end
    assert.ok(message.endsWith('(brokenfixture:q4)') && !message.includes('sha256'), `the model is not named at the end: ${message}`);
    // by keyboard: the status bar item keeps the focus after the pick, and its tooltip covers the toast's corner
    await toast.getByRole('button', { name: 'Back to the demo model' }).focus();
    await wb().page.keyboard.press('Enter');
    await status().filter({ hasText: /Inner World demo/ }).waitFor({ timeout: TIMEOUT * 3 });
    await wb().screenshot('load-model-back-to-demo');
  });
});
