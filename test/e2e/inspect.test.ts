// First light, end to end: a real VS Code (code-server) in a real browser runs the extension on the
// demo model. Select the article's sentence, inspect it, read the panel's tokens and decoding
// chart, switch dictionaries, hover a token, and keep screenshots.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEMO_CATEGORIES } from '../../src/engine/demo';
import { projectCacheDir } from '../../src/engine/assets';
import { EXTENSION_ID, RESULTS_DIR, TIMEOUT, useWorkbench } from './harness';

const PROMPT = 'I like the red ball, but my girlfriend likes the larger ball.\nWe like to go to the basketball court to play ball together.\n';
/** things a colour leads to in the demo grammar: objects and foods (whole-word tokens) */
const OBJECTS = new Set<string>([...DEMO_CATEGORIES.objects, ...DEMO_CATEGORIES.foods]);

describe('Inspect Selection end to end (code-server + Chromium, demo model)', { timeout: 240_000 }, () => {
  const wb = useWorkbench({
    name: 'inspect',
    files: { 'prompt.txt': PROMPT },
    // the demo model built by test/fixtures/prepare.ts; the extension would build it itself otherwise
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });
  const panel = () => wb().webview({ extension: EXTENSION_ID });

  test('inspecting "I like the red ball" opens the layers panel with its tokens and a chart', async () => {
    await wb().openFile('prompt.txt');
    await wb().selectText('I like the red ball');
    await wb().runCommand('Inner World: Inspect Selection');
    await wb().waitForPanel('Inner World: Layers');
    const chips = panel().locator('#tokens .chip');
    await chips.nth(5).waitFor({ timeout: TIMEOUT * 2 });
    assert.deepEqual(await chips.allInnerTexts(), ['<s>', 'I', 'like', 'the', 'red', 'ball']);
    // the last word is chosen first; the table has a row per state (embedding + 2 blocks)
    assert.equal(await panel().locator('#tokens .chip.selected').innerText(), 'ball');
    await panel().locator('#status[data-kind="ok"]').waitFor();
    assert.equal(await panel().locator('#words tbody tr').count(), 3);
    assert.match(await panel().locator('#status').innerText(), /“ball” \(position 5\) through the input dictionary/);
    // the chart drew something: count non-transparent pixels of the canvas
    const inked = await panel().locator('#chart').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    assert.ok(inked > 2000, `chart canvas has ${inked} inked pixels`);
  });

  test('a colour token read through the output dictionary at layer 0 gives objects', async () => {
    await panel().locator('#tokens .chip', { hasText: /^red$/ }).click();
    await panel().locator('#dict-output').click();
    await panel().locator('#status', { hasText: /“red” \(position 4\) through the output dictionary/ }).waitFor();
    const layer0 = await panel().locator('#words tbody tr[data-layer="0"] td .word').allInnerTexts();
    assert.equal(layer0.length, 5);
    const objects = layer0.filter((w) => OBJECTS.has(w));
    assert.ok(objects.length >= 3, `layer-0 output-dictionary words of "red": ${layer0.join(', ')}`);
    const shot = await wb().screenshot('layers-panel-red-output');
    assert.ok(fs.statSync(shot).size > 20_000);
    fs.copyFileSync(shot, path.join(RESULTS_DIR, 'layers-panel.png'));
  });

  test('the view survives switching back to the input dictionary', async () => {
    await panel().locator('#dict-input').click();
    await panel().locator('#status', { hasText: /“red” \(position 4\) through the input dictionary/ }).waitFor();
    // layer 0 through the input dictionary is the token's own embedding: "red" first
    const first = await panel().locator('#words tbody tr[data-layer="0"] td .word').first().innerText();
    assert.equal(first, 'red');
  });

  test('hovering a token of the inspected range shows its words in both dictionaries', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().clickEditor();
    const text = await wb().hover('red', { contains: 'output dictionary' });
    assert.match(text, /Inner World/);
    assert.match(text, /token 4 of 6/);
    assert.match(text, /input dictionary/);
    // the hover's rows hold the same kind of words the panel showed: objects after a colour
    const objectsNamed = [...OBJECTS].filter((w) => new RegExp(`\\b${w}\\b`).test(text));
    assert.ok(objectsNamed.length >= 3, `hover text: ${text}`);
    await wb().screenshot('token-hover');
  });

  test('after a window reload the panel comes back on the same token and dictionary', async () => {
    // the last view: "red", input dictionary (kept with the webview's setState)
    await wb().runCommand('Developer: Reload Window');
    await wb().waitReady('prompt.txt');
    await wb().waitForPanel('Inner World: Layers');
    // the restored panel inspects the saved text again (a fresh engine process after the reload)
    await panel().locator('#status', { hasText: /“red” \(position 4\) through the input dictionary/ }).waitFor({ timeout: TIMEOUT * 2 });
    assert.deepEqual(await panel().locator('#tokens .chip').allInnerTexts(), ['<s>', 'I', 'like', 'the', 'red', 'ball']);
    assert.equal(await panel().locator('#tokens .chip.selected').innerText(), 'red');
    await wb().screenshot('panel-restored');
  });

  test('no unexpected console errors', () => {
    // the window reload above makes the web workbench log its own shutdown limits
    assert.deepEqual(wb().unexpectedConsoleErrors([/Long running operations during shutdown are unsupported in the web/]), []);
  });
});
