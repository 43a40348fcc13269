// Every inspection view end to end, in a real VS Code (code-server) in a real Chromium, on the
// demo model: inspect the article's sentence, read the layers view, open the grid from it and the
// attention and states views from the command palette, read a cell of a head's pattern and the
// gap-1 curve (checked against the CLI on the same model and prompt), hover a token, edit the text
// and see every view go stale, re-inspect, export CSV, switch themes, reload the window.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator } from 'playwright-core';
import { DEMO_CATEGORIES } from '../../src/engine/demo';
import { projectCacheDir } from '../../src/engine/assets';
import { TIMEOUT, useWorkbench } from './harness';
import { demoCli, keepShot, viewFrame } from './viewHelpers';

const SENTENCE = 'I like the red ball';
const PROMPT = 'I like the red ball, but my girlfriend likes the larger ball.\nWe like to go to the basketball court to play ball together.\nhat car apple book dog tree cat hat car apple book dog tree cat\n';
/** random grammar words repeated: the demo model's induction head (layer 4, head 0) finds the first copy */
const REPEATED = 'hat car apple book dog tree cat hat car apple book dog tree cat';
/** about 1,900 tokens of prose: a selection near the demo model's 2,048-token context */
const LONG = Array.from({ length: 48 }, (_, k) => `${k + 1}. I like the red ball, but my girlfriend likes the larger ball. We like to go to the basketball court to play ball together. It is a lot of fun.`).join('\n') + '\n';
/** things a colour leads to in the demo grammar: objects and foods (whole-word tokens) */
const OBJECTS = new Set<string>([...DEMO_CATEGORIES.objects, ...DEMO_CATEGORIES.foods]);

describe('inspection views end to end (code-server + Chromium, demo model)', { timeout: 1_200_000 }, () => {
  const view = (title: string, timeout?: number): Promise<FrameLocator> => viewFrame(wb(), title, timeout);
  const shot = (name: string): Promise<void> => keepShot(wb(), name);
  const wb = useWorkbench({
    name: 'views',
    files: { 'prompt.txt': PROMPT, 'long.txt': LONG },
    settings: { 'workbench.colorTheme': 'Default Light Modern' },
    // the demo model built by test/fixtures/prepare.ts; the extension would build it itself otherwise
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });

  async function tab(title: string): Promise<void> {
    await wb().page.locator('.tabs-container .tab', { hasText: title }).first().click();
  }

  /** Coloured (not grey, not background) pixels of a canvas: the chart's lines and points. */
  async function colouredPixels(f: FrameLocator, selector: string): Promise<number> {
    return f.locator(selector).evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3]! < 200) continue;
        const hi = Math.max(d[i]!, d[i + 1]!, d[i + 2]!);
        const lo = Math.min(d[i]!, d[i + 1]!, d[i + 2]!);
        if (hi - lo > 80) n++;
      }
      return n;
    });
  }

  async function pick(f: FrameLocator, selectId: string, label: string): Promise<void> {
    await f.locator(`#${selectId}`).click();
    // the second match is the open list's option (the first, the closed select's face)
    await f.locator(`#${selectId}`).getByText(label, { exact: true }).last().click();
  }

  test('inspecting the sentence opens the layers view: tokens, a chart, a row per layer', async () => {
    await wb().openFile('prompt.txt');
    await wb().selectText(SENTENCE);
    await wb().runCommand('Inner World: Inspect Selection');
    await wb().waitForPanel('Inner World: Layers');
    const layers = await view('Layers');
    const chips = layers.locator('#tokens .chip');
    await chips.nth(5).waitFor({ timeout: TIMEOUT * 2 });
    assert.deepEqual(await chips.allInnerTexts(), ['<s>', 'I', 'like', 'the', 'red', 'ball']);
    assert.equal(await layers.locator('#tokens .chip.selected').innerText(), 'ball');
    await layers.locator('#status[data-kind="ok"]').waitFor();
    const info = demoCli<{ hparams: { nLayers: number } }>('info');
    assert.equal(await layers.locator('#words tbody tr').count(), info.hparams.nLayers + 1);
    assert.match(await layers.locator('#status').innerText(), /“ball” \(position 5\) through the input dictionary/);
    assert.match(await layers.locator('#explain').innerText(), /Fig\. 3/);
    assert.ok((await colouredPixels(layers, '#chart')) > 500, 'the chart has coloured lines');
  });

  test('"red" through the output dictionary at layer 0 reads as objects, as the CLI says', async () => {
    const layers = await view('Layers');
    await layers.locator('#tokens .chip', { hasText: /^red$/ }).click();
    await pick(layers, 'dictionary', 'Output dictionary');
    await layers.locator('#status', { hasText: /“red” \(position 4\) through the output dictionary/ }).waitFor();
    const layer0 = await layers.locator('#words tbody tr[data-layer="0"] td .word').allInnerTexts();
    assert.equal(layer0.length, 5);
    assert.ok(layer0.filter((w) => OBJECTS.has(w)).length >= 3, `layer-0 output-dictionary words of "red": ${layer0.join(', ')}`);
    const fromCli = demoCli<{ positions: Array<{ layers: Array<{ words: Array<{ text: string }> }> }> }>('lens', '--prompt', SENTENCE, '--pos', '4', '--dict', 'output', '--layers', '0');
    assert.deepEqual(layer0, fromCli.positions[0]!.layers[0]!.words.map((w) => w.text.replace(/^▁/, '')));
    await shot('layers-light');
  });

  test('the grid opens from the layers view; a cell opens the layers view at its token', async () => {
    const layers = await view('Layers');
    await layers.locator('#open-grid').click();
    await wb().waitForPanel('Inner World: Token × Layer Grid');
    const grid = await view('Token × Layer Grid');
    await grid.locator('#status', { hasText: /6 of 6 tokens read/ }).waitFor({ timeout: TIMEOUT * 2 });
    const cells = grid.locator('.grid-row[data-pos="3"] .grid-cell');
    assert.ok((await cells.count()) >= 3);
    assert.notEqual(await cells.first().innerText(), '…');
    await shot('grid-light');
    await cells.nth(1).click();
    const back = await view('Layers');
    await back.locator('#status', { hasText: /“the” \(position 3\)/ }).waitFor();
  });

  test('attention: pick layer 1 and a head from the palette view, read a cell, check it against the CLI', async () => {
    await wb().runCommand('Inner World: Show Attention');
    await wb().waitForPanel('Inner World: Attention');
    const att = await view('Attention');
    await att.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await att.locator('#layer').fill('1');
    await att.locator('#layer').press('Enter');
    await att.locator('#layer').dispatchEvent('change');
    await att.locator('#head').fill('1');
    await att.locator('#head').dispatchEvent('change');
    await att.locator('#pattern-title', { hasText: /Head 1 of layer 1/ }).waitFor({ timeout: TIMEOUT * 2 });
    // the cell of query 4 ("red"), key 3 ("the") through the keyboard cursor
    const canvas = att.locator('#pattern');
    await canvas.focus();
    for (let k = 0; k < 4; k++) await canvas.press('ArrowDown');
    for (let k = 0; k < 3; k++) await canvas.press('ArrowRight');
    const readout = await att.locator('#pattern-readout').innerText();
    const m = /layer 1 head 1: query 4 red → key 3 the: (\d\.\d+)/.exec(readout);
    assert.ok(m, readout);
    const fromCli = demoCli<{ pattern: { nPos: number; values: number[] } }>('attention', '--prompt', SENTENCE, '--layer', '1', '--head', '1');
    assert.ok(Math.abs(Number(m[1]) - fromCli.pattern.values[4 * fromCli.pattern.nPos + 3]!) < 0.0051, `${m[1]} vs ${fromCli.pattern.values[4 * fromCli.pattern.nPos + 3]}`);
    // the sink map: a row per head, hover readout names the layer
    await att.locator('#sink-title', { hasText: /Layer 1: attention to the first token/ }).waitFor();
    // from layer 2 on the demo model's heads are sinks: the picture the article's Fig. 10 shows
    await att.locator('#layer').fill('3');
    await att.locator('#layer').dispatchEvent('change');
    await att.locator('#sink-title', { hasText: /Layer 3: attention to the first token/ }).waitFor({ timeout: TIMEOUT * 2 });
    await att.locator('#pattern-title', { hasText: /layer 3/ }).waitFor({ timeout: TIMEOUT * 2 });
    await shot('attention-light');
  });

  test('states: the gap-1 curve from the palette view equals the CLI', async () => {
    await wb().runCommand('Inner World: Show State Vectors');
    await wb().waitForPanel('Inner World: State Vectors');
    const st = await view('State Vectors');
    const status = st.locator('#status[data-kind="ok"]');
    await status.waitFor({ timeout: TIMEOUT * 2 });
    const m = /gap-1 cosine in the middle of the stack: (-?\d\.\d+)/.exec(await status.innerText());
    assert.ok(m);
    const fromCli = demoCli<{ layerGaps: { curves: Array<{ gap: number; mean: number[] }> } }>('states', '--prompt', SENTENCE, '--gaps', '1,5,15');
    const g1 = fromCli.layerGaps.curves.find((c) => c.gap === 1)!;
    assert.ok(Math.abs(Number(m[1]) - g1.mean[Math.floor(g1.mean.length / 2)]!) < 0.0006);
    assert.ok((await colouredPixels(st, '#gaps')) > 200);
    await shot('states-light');
  });

  test('hovering a token shows its words in both dictionaries, numbered from one', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().clickEditor();
    const text = await wb().hover('red', { contains: 'output dictionary' });
    assert.match(text, /token 5 of 6 \(position 4\)/);
    assert.match(text, /surprisal \d/);
    assert.ok([...OBJECTS].filter((w) => new RegExp(`\\b${w}\\b`).test(text)).length >= 3, `hover text: ${text}`);
  });

  test('exporting the states view as CSV writes the numbers it shows', async () => {
    await tab('State Vectors');
    const st = await view('State Vectors');
    await st.locator('#export-csv').click();
    // the save dialog (VS Code's own in the browser) proposes states.csv in the workspace
    const input = wb().page.locator('.quick-input-widget input');
    await input.waitFor();
    // the dialog fills its path in after it opens
    const deadline = Date.now() + TIMEOUT;
    while (!/states\.csv$/.test(await input.inputValue()) && Date.now() < deadline) await wb().page.waitForTimeout(100);
    assert.match(await input.inputValue(), /workspace\/states\.csv$/);
    await input.press('Enter');
    await st.locator('#status', { hasText: /Saved states\.csv/ }).waitFor();
    const csv = fs.readFileSync(path.join(wb().server.workspace, 'states.csv'), 'utf8').trim().split(/\r\n/);
    assert.equal(csv[0], 'series,gap,layer,mean or +1 or rms,sd,first token or +2,last token or all pairs,prediction');
    const gap1 = csv.filter((l) => l.startsWith('gap,1,'));
    assert.ok(gap1.length >= 2);
    assert.ok(Number.isFinite(Number(gap1[0]!.split(',')[3])));
  });

  test('editing the inspected text marks every view stale; Re-inspect brings them back', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().goTo(1, 8);
    await wb().page.keyboard.type('really ');
    for (const title of ['State Vectors', 'Attention', 'Token × Layer Grid', 'Layers']) {
      await tab(title);
      const v = await view(title);
      await v.locator('#stale:not([hidden])', { hasText: /edited/ }).waitFor();
    }
    // hovers no longer answer from the stale inspection
    const layers = await view('Layers');
    await layers.locator('#reinspect').click();
    await layers.locator('#stale').waitFor({ state: 'hidden', timeout: TIMEOUT * 2 });
    await layers.locator('#tokens .chip', { hasText: /^really$/ }).waitFor();
    await tab('Attention');
    await (await view('Attention')).locator('#stale').waitFor({ state: 'hidden' });
  });

  test('the chart stays visible in Light High Contrast, Dark High Contrast and Dark Modern', async () => {
    // the last theme stays on for the tests below (their screenshots are the README's dark ones)
    const themes = [['Light High Contrast', 'hc-light'], ['Dark High Contrast', 'hc-black'], ['Dark Modern', 'vs-dark']] as const;
    for (const [theme, bodyClass] of themes) {
      // the command turns the palette into the theme picker, so it is run by hand, not with runCommand
      const page = wb().page;
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget input').fill('>Preferences: Color Theme');
      await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: /^Preferences: Color Theme$/ }) }).first().click();
      const input = page.locator('.quick-input-widget input[placeholder^="Select Color Theme"]');
      await input.waitFor();
      await input.pressSequentially(theme);
      await wb().page.locator('.quick-input-list .monaco-list-row.focused', { hasText: theme }).waitFor();
      await input.press('Enter');
      await wb().page.locator(`.monaco-workbench.${bodyClass}`).first().waitFor();
      await tab('Layers');
      const layers = await view('Layers');
      // the webview's body carries the theme's kind once VS Code has passed the theme in
      const webviewBody = { 'hc-light': 'body.vscode-high-contrast-light', 'hc-black': 'body.vscode-high-contrast:not(.vscode-high-contrast-light)', 'vs-dark': 'body.vscode-dark' }[bodyClass];
      await layers.locator(webviewBody).waitFor();
      await wb().page.waitForTimeout(500); // the redraw follows the body's class change
      assert.ok((await colouredPixels(layers, '#chart')) > 500, `${theme}: the chart's lines are visible`);
      if (theme === 'Dark Modern') {
        await shot('layers-dark');
        for (const [title, file] of [['Token × Layer Grid', 'grid-dark'], ['Attention', 'attention-dark'], ['State Vectors', 'states-dark']] as const) {
          await tab(title);
          await (await view(title)).locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
          await shot(file);
        }
      } else {
        await shot(`layers-${bodyClass}`);
      }
    }
  });

  test('after a window reload the views come back: every tab, and the shown view with its content', async () => {
    await wb().runCommand('Developer: Reload Window');
    await wb().waitReady('prompt.txt');
    // VS Code restores every tab but revives a webview only when it is shown: the visible view
    // inspects its text again; the others wait for their tab to be clicked
    for (const title of ['Layers', 'Token × Layer Grid', 'Attention', 'State Vectors']) {
      await wb().page.locator('.tabs-container .tab', { hasText: `Inner World: ${title}` }).first().waitFor({ state: 'attached', timeout: TIMEOUT * 3 });
    }
    const frame = wb().page.locator('iframe.webview.ready').filter({ visible: true }).first();
    await frame.waitFor({ timeout: TIMEOUT * 4 });
    const shown = frame.contentFrame().frameLocator('#active-frame');
    await shown.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 4 });
    const shownTitle = await shown.locator('header .view-title').innerText();
    assert.match(shownTitle, /Layers|Grid|Attention|State Vectors/);
    // a view whose tab was not shown yet comes back through its command, as one tab, not two
    const [other, command] = shownTitle.includes('Attention') ? (['State Vectors', 'Show State Vectors'] as const) : (['Attention', 'Show Attention'] as const);
    await wb().runCommand(`Inner World: ${command}`);
    const v = await view(other, TIMEOUT * 4);
    await v.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 3 });
    assert.equal(await wb().page.locator('.tabs-container .tab', { hasText: `Inner World: ${other}` }).count(), 1);
  });

  test('the induction head on a repeated sequence (long prompt screenshot)', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().selectText(REPEATED);
    await wb().runCommand('Inner World: Inspect Selection');
    await wb().runCommand('Inner World: Show Attention');
    const att = await view('Attention');
    await att.locator('#layer').fill('4');
    await att.locator('#layer').dispatchEvent('change');
    await att.locator('#head').fill('0');
    await att.locator('#head').dispatchEvent('change');
    await att.locator('#pattern-title', { hasText: /Head 0 of layer 4/ }).waitFor({ timeout: TIMEOUT * 2 });
    await att.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await shot('induction-dark');
  });

  test('a selection of about 1,900 tokens: the grid renders only the rows in view and reads the last ones', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().openFile('long.txt');
    await wb().page.keyboard.press('ControlOrMeta+A');
    await wb().runCommand('Inner World: Inspect Selection');
    // the decode of ~1,900 tokens takes a minute or more on a busy 2-core machine
    const layers = await view('Layers', TIMEOUT * 8);
    await layers.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 8 });
    await shot('layers-long-dark');
    await wb().runCommand('Inner World: Show Token × Layer Grid');
    const grid = await view('Token × Layer Grid');
    // the grid may still show the previous inspection's status until the first page of this one is read
    await grid.locator('#status[data-kind="ok"]', { hasText: /of \d{4} tokens read/ }).waitFor({ timeout: TIMEOUT * 4 });
    const status = await grid.locator('#status').innerText();
    const total = Number(/of (\d+) tokens read/.exec(status)?.[1]);
    assert.ok(total > 1500 && total <= 2048, `the grid covers the whole selection: ${status}`);
    const rendered = await grid.locator('.grid-body .grid-row').count();
    assert.ok(rendered > 5 && rendered < 100, `only the rows in view are in the DOM: ${rendered} of ${total}`);
    // the end of the selection: its rows are fetched when scrolled to, and read like the first
    await grid.locator('#grid-scroll').evaluate((e) => { e.scrollTop = e.scrollHeight; });
    const lastRow = grid.locator(`.grid-row[data-pos="${total - 1}"]`);
    await lastRow.locator('.grid-cell[title*="layer"]').first().waitFor({ timeout: TIMEOUT * 2 });
    assert.match(await lastRow.locator('.grid-token').innerText(), new RegExp(`^${total - 1} `));
    await shot('grid-long-dark');
  });

  test('no unexpected console errors', () => {
    // the window reload above makes the web workbench log its own shutdown limits
    // the window reload above makes the web workbench log its own shutdown limits; a busy machine
    // makes VS Code's own save participants time out (its message, not the extension's)
    assert.deepEqual(wb().unexpectedConsoleErrors([/Long running operations during shutdown are unsupported in the web/, /Aborted onWillSaveTextDocument-event after \d+ms/]), []);
  });
});
