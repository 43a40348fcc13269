// The model views end to end in code-server + Chromium on a Llama-2-7B-shaped Q4_K_M file
// (bench/models.ts: real shapes and vocabulary, random weights): the Model tree, a layer's
// matrices, a 4096 x 4096 W_Q's heatmap zoomed in twice with the readout checked against the CLI,
// Weight Statistics by Layer over all 224 matrices, L0H2's word map, three words in Word Similarity.
//
// Run on demand, not in CI: `npm run bench:e2e-7b` (bench/e2e7b.ts generates the 3.8 GB file into
// bench/.tmp if it is missing, builds, then runs this file; INNER_WORLD_E2E_MODEL names another
// file). The name does not end in .test.ts, so scripts/test.mjs never collects it: generating the
// file takes minutes and 4 GB of disk, loading it needs 4 GB of memory, and its views take minutes
// on a 2-core runner, which CI cannot give every run. The same views are checked on the demo model
// in test/e2e/modelViews.test.ts on every run; this file checks that they hold at 7B size.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { projectCacheDir } from '../../src/engine/assets';
import { TIMEOUT, useWorkbench } from './harness';
import { keepShot, modelCli, viewFrame, zoomTwiceAndRead } from './viewHelpers';

const MODEL = process.env['INNER_WORLD_E2E_MODEL'] ?? path.join(__dirname, '..', '..', 'bench', '.tmp', 'llama2-7b-q4km.gguf');
/** a 7B file's views take minutes on a loaded 2-core machine */
const SLOW = TIMEOUT * 20;

describe('model views end to end on a Llama-2-7B-shaped Q4_K_M file (code-server + Chromium)', { timeout: 3_600_000 }, () => {
  assert.ok(fs.existsSync(MODEL), `${MODEL} does not exist: run "npm run bench:e2e-7b", which generates it first`);
  const view = (title: string, timeout = SLOW): Promise<FrameLocator> => viewFrame(wb(), title, timeout);
  const shot = (name: string): Promise<void> => keepShot(wb(), name);
  const cli = <T>(command: string, ...args: string[]): T => modelCli<T>(MODEL, command, ...args);
  const wb = useWorkbench({
    name: 'model-views-7b',
    files: { 'notes.txt': 'A 7B model, without a prompt.\n' },
    settings: { 'workbench.colorTheme': 'Default Light Modern', 'innerWorld.modelPath': MODEL, 'innerWorld.gpu': 'cpu' },
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });

  const treeRow = (label: string | RegExp) => wb().page.locator('.pane-body .monaco-list-row', { hasText: label }).first();

  test('the Model tree lists the 7B model and a layer\'s matrices with their shapes', async () => {
    await wb().page.locator('.activitybar .action-item a[aria-label^="Inner World"]').click();
    await wb().page.locator('.welcome-view-content', { hasText: 'No model is loaded' }).waitFor();
    // the anatomy view loads the model the setting names (the file dialog is not needed)
    await wb().runCommand('Inner World: Model Anatomy');
    await treeRow(/llama2-7b-q4km|bench llama2-7b-q4km/).waitFor({ timeout: SLOW });
    await treeRow('Layers').click();
    // the tree is a virtual list: only the rows in view exist, so layer 31 is not looked for
    await treeRow('Layer 0').waitFor({ timeout: SLOW });
    await treeRow('Layer 0').click();
    await treeRow('W_Q').waitFor();
    assert.match(await treeRow('W_Q').innerText(), /4096 × 4096/);
    assert.match(await treeRow('W_in').innerText(), /11008/);
    await shot('7b-tree');
  });

  test('W_Q opens its heatmap; zoomed in twice, the readout equals the CLI', async () => {
    await treeRow('W_Q').click();
    await wb().waitForPanel('Inner World: Weight Heatmap');
    const hm = await view('Weight Heatmap');
    await hm.locator('#status[data-kind="ok"]').waitFor({ timeout: SLOW });
    await shot('7b-heatmap');
    const z = await zoomTwiceAndRead(hm, SLOW);
    assert.equal(z.row, z.row0 + 1);
    assert.equal(z.column, z.col0 + 2);
    assert.equal(z.head, Math.floor((z.row0 + 1) / 128), 'head = row / d_head (128)');
    const fromCli = cli<{ zoom: { cols: number; values: number[] } }>('heatmap', '--matrix', 'W_Q', '--layer', '0', '--row0', String(z.row0), '--col0', String(z.col0), '--size', String(z.size));
    const expected = fromCli.zoom.values[1 * fromCli.zoom.cols + 2]!;
    assert.ok(Math.abs(z.value - expected) <= 1e-3 * Math.max(1e-3, Math.abs(expected)), `${z.value} vs ${expected}`);
    await shot('7b-heatmap-zoomed');
  });

  test('Weight Statistics by Layer: 32 layers, the CLI\'s value for layer 0 W_Q', async () => {
    await wb().runCommand('Inner World: Weight Statistics by Layer');
    await wb().waitForPanel('Inner World: Weight Statistics');
    const ws = await view('Weight Statistics');
    await ws.locator('#status[data-kind="ok"]').waitFor({ timeout: SLOW });
    const status = await ws.locator('#status').innerText();
    assert.match(status, /^224 matrices read/, status);
    assert.equal(await ws.locator('#stats tbody tr').count(), 32);
    const cli0 = cli<{ entries: Array<{ alongModel: number }> }>('weight-stats', '--roles', 'W_Q', '--layers', '0');
    const cell = await ws.locator('#stats tbody tr').first().locator('td').first().innerText();
    assert.ok(Math.abs(Number(cell) - cli0.entries[0]!.alongModel) < 0.0006, `${cell} vs ${cli0.entries[0]!.alongModel}`);
    await shot('7b-weight-stats');
  });

  test("L0H2's word map from the tree", async () => {
    // 32 layers and a layer's matrices push Heads out of the virtual list's view: fold Layers first
    await treeRow('Layers').click();
    await treeRow('Heads').click();
    const layer0 = wb().page.locator('.pane-body .monaco-list-row', { hasText: /^Layer 0$/ });
    await layer0.first().waitFor({ timeout: SLOW });
    await layer0.first().click();
    await treeRow('L0H2').waitFor({ timeout: SLOW });
    await treeRow('L0H2').click();
    await wb().waitForPanel('Inner World: Head Word Maps');
    const hm = await view('Head Word Maps');
    await hm.locator('#rows caption', { hasText: /L0H2 W_K/ }).waitFor({ timeout: SLOW });
    const cli0 = cli<{ rows: Array<{ row: number }> }>('head-map', '--layer', '0', '--head', '2', '--top', '3');
    const firstRow = await hm.locator('#rows tbody tr').first().locator('th').innerText();
    assert.equal(Number(firstRow), cli0.rows[0]!.row);
    await shot('7b-head-map');
  });

  test('Word Similarity: three words typed, the readout equals the CLI', async () => {
    await wb().runCommand('Inner World: Word Similarity...');
    await wb().waitForPanel('Inner World: Word Similarity');
    const sim = await view('Word Similarity');
    await sim.locator('#status[data-kind="ok"]').waitFor({ timeout: SLOW });
    await sim.locator('#words').fill('red blue ball');
    await sim.locator('#words').press('Enter');
    await sim.locator('#words').dispatchEvent('change');
    const fromCli = cli<{ matrix: number[][] }>('similarity', '--words', 'red,blue,ball');
    const canvas = sim.locator('#similarity-map');
    const readout = sim.locator('#similarity-map-readout');
    await canvas.focus();
    await canvas.press('ArrowRight');
    await readout.filter({ hasText: /red · blue/ }).waitFor({ timeout: SLOW });
    const m = /red · blue: normalized inner product (-?\d\.\d+)/.exec(await readout.innerText());
    assert.ok(m, await readout.innerText());
    assert.ok(Math.abs(Number(m[1]) - fromCli.matrix[0]![1]!) < 0.0006, `${m[1]} vs ${fromCli.matrix[0]![1]}`);
    await shot('7b-similarity');
  });

  test('no unexpected console errors', () => {
    assert.deepEqual(wb().unexpectedConsoleErrors(), []);
  });
});
