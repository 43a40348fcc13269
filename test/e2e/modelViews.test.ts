// The model's anatomy from the side bar and the palette, end to end in code-server + Chromium on
// the demo model: the Model tree's welcome, loading the demo model, a layer's matrices, a matrix's
// heatmap zoomed in twice with the readout checked against the CLI, weight statistics, a head's
// word map, word similarity with a word of several tokens.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameLocator } from 'playwright-core';
import { projectCacheDir } from '../../src/engine/assets';
import { TIMEOUT, useWorkbench } from './harness';
import { demoCli, keepShot, viewFrame, zoomTwiceAndRead } from './viewHelpers';


describe('model views end to end (code-server + Chromium, demo model)', { timeout: 1_200_000 }, () => {
  const view = (title: string, timeout?: number): Promise<FrameLocator> => viewFrame(wb(), title, timeout);
  const shot = (name: string): Promise<void> => keepShot(wb(), name);
  const wb = useWorkbench({
    name: 'model-views',
    files: { 'notes.txt': 'The model, without a prompt.\n' },
    settings: { 'workbench.colorTheme': 'Default Light Modern' },
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });

  const treeRow = (label: string | RegExp) => wb().page.locator('.pane-body .monaco-list-row', { hasText: label }).first();

  test('the Model tree offers to load a model, then lists it with its layers and matrices', async () => {
    await wb().page.locator('.activitybar .action-item a[aria-label^="Inner World"]').click();
    const welcome = wb().page.locator('.welcome-view-content', { hasText: 'No model is loaded' });
    await welcome.waitFor();
    await welcome.getByRole('button', { name: 'Load a Model' }).click();
    const demo = wb().page.locator('.quick-input-list .monaco-list-row', { hasText: 'Demo model' }).first();
    await demo.click();
    await treeRow(/Inner World demo/).waitFor({ timeout: TIMEOUT * 2 });
    await treeRow('Layers').click();
    await treeRow('Layer 0').click();
    await treeRow('W_Q').waitFor();
    const desc = await treeRow('W_Q').innerText();
    const info = demoCli<{ hparams: { dModel: number } }>('info');
    assert.match(desc, new RegExp(`${info.hparams.dModel} × ${info.hparams.dModel}`));
  });

  test('a matrix opens its heatmap; zoomed in twice, the readout equals the CLI', async () => {
    await treeRow('W_Q').click();
    await wb().waitForPanel('Inner World: Weight Heatmap');
    const hm = await view('Weight Heatmap');
    await hm.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await shot('heatmap-light');
    const z = await zoomTwiceAndRead(hm, TIMEOUT);
    assert.equal(z.size, 24);
    assert.equal(z.row, z.row0 + 1);
    assert.equal(z.column, z.col0 + 2);
    const fromCli = demoCli<{ zoom: { cols: number; values: number[] } }>('heatmap', '--matrix', 'W_Q', '--layer', '0', '--row0', String(z.row0), '--col0', String(z.col0), '--size', '24');
    const expected = fromCli.zoom.values[1 * fromCli.zoom.cols + 2]!;
    assert.ok(Math.abs(z.value - expected) <= 1e-3 * Math.max(1, Math.abs(expected)), `${z.value} vs ${expected}`);
  });

  test('weight statistics by layer: a line per matrix and the Gaussian value', async () => {
    await wb().runCommand('Inner World: Weight Statistics by Layer');
    await wb().waitForPanel('Inner World: Weight Statistics');
    const ws = await view('Weight Statistics');
    await ws.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 3 });
    assert.match(await ws.locator('#status').innerText(), /Gaussian's 1\.2533/);
    const cli0 = demoCli<{ entries: Array<{ layer: number; role: string; alongModel: number }> }>('weight-stats', '--roles', 'W_Q', '--layers', '0');
    const cell = await ws.locator('#stats tbody tr').first().locator('td').first().innerText();
    assert.ok(Math.abs(Number(cell) - cli0.entries[0]!.alongModel) < 0.0006, `${cell} vs ${cli0.entries[0]!.alongModel}`);
    await shot('weight-stats-light');
  });

  test("L0H2's word map from the tree", async () => {
    await treeRow('Heads').click();
    // "Layer 0" is listed under Layers and, once Heads has opened, under Heads: the second one
    const layer0 = wb().page.locator('.pane-body .monaco-list-row', { hasText: /^Layer 0$/ });
    await layer0.nth(1).waitFor({ timeout: TIMEOUT * 2 });
    await layer0.nth(1).click();
    await treeRow('L0H2').waitFor({ timeout: TIMEOUT * 2 });
    await treeRow('L0H2').click();
    await wb().waitForPanel('Inner World: Head Word Maps');
    const hm = await view('Head Word Maps');
    await hm.locator('#rows caption', { hasText: /L0H2 W_K/ }).waitFor({ timeout: TIMEOUT * 2 });
    const cli0 = demoCli<{ rows: Array<{ row: number; tokens: Array<{ text: string }> }> }>('head-map', '--layer', '0', '--head', '2', '--top', '3');
    const firstRow = await hm.locator('#rows tbody tr').first().locator('th').innerText();
    assert.equal(Number(firstRow), cli0.rows[0]!.row);
    await shot('head-map-light');
  });

  test('word similarity: three words typed, a word of two tokens shown as its pieces (girl + friend)', async () => {
    await wb().runCommand('Inner World: Word Similarity...');
    await wb().waitForPanel('Inner World: Word Similarity');
    const sim = await view('Word Similarity');
    await sim.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await sim.locator('#words').fill('red blue girlfriend');
    await sim.locator('#words').press('Enter');
    await sim.locator('#words').dispatchEvent('change');
    await sim.locator('#split-note', { hasText: /girlfriend = girl \+ ##friend/ }).waitFor();
    const fromCli = demoCli<{ matrix: number[][] }>('similarity', '--words', 'red,blue');
    const canvas = sim.locator('#similarity-map');
    await canvas.focus();
    await canvas.press('ArrowRight');
    const readout = await sim.locator('#similarity-map-readout').innerText();
    const m = /red · blue: normalized inner product (-?\d\.\d+)/.exec(readout);
    assert.ok(m, readout);
    assert.ok(Math.abs(Number(m[1]) - fromCli.matrix[0]![1]!) < 0.0006);
    await shot('similarity-light');
  });

  test('no unexpected console errors', () => {
    assert.deepEqual(wb().unexpectedConsoleErrors(), []);
  });
});
