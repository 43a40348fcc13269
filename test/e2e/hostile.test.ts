// Webview injection end to end: the demo model with a hostile vocabulary (test/fixtures/hostileModel.ts:
// the words a colour leads to spell markup, template syntax, javascript: URLs, right-to-left
// overrides, zero-width and control characters), inspected in a real VS Code (code-server) in a
// real Chromium on a prompt that is itself hostile text. Every inspection view and the hover must
// show those strings as text: no element they would create is in the DOM, no dialog opens, no
// script runs, and each panel's served HTML carries the strict CSP.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameLocator } from 'playwright-core';
import { projectCacheDir } from '../../src/engine/assets';
import { displayToken } from '../../src/shared/format';
import { ensureHostileModel, hostileString, HOSTILE_WORDS } from '../fixtures/hostileModel';
import { TIMEOUT, useWorkbench } from './harness';
import { viewFrame } from './viewHelpers';

/** "red" leads to the (now hostile) objects; the rest of the line is hostile text to tokenize. */
const PROMPT_LINE = 'I like the red <img src=x onerror=alert(1)> </script> {{x}} javascript:alert(1)';
const ALL_HOSTILE = HOSTILE_WORDS.map((_, i) => hostileString(i));

/** Hostile strings found, as text, in `text` (as the views show them: displayToken of the token). */
function hostileIn(text: string): string[] {
  return ALL_HOSTILE.filter((h) => text.includes(displayToken(`▁${h}`)));
}

/**
 * What the hostile strings would have made had they been parsed as markup: elements with event
 * handler attributes, images, bold text, javascript: links, scripts without the page's nonce,
 * frames and objects. Runs inside a view's document (or the hover's subtree).
 */
const injectedElements = (root: Element): string[] => {
  // self-contained: playwright serializes it into the page (no eval: the views' CSP forbids it)
  const bad: string[] = [];
  for (const e of Array.from(root.querySelectorAll('*'))) {
    const tag = e.tagName.toLowerCase();
    const on = e.getAttributeNames().filter((a) => a.startsWith('on'));
    if (on.length) bad.push(`<${tag} ${on.join(' ')}>`);
    if (tag === 'img' || tag === 'b' || tag === 'iframe' || tag === 'object' || tag === 'embed') bad.push(`<${tag}>`);
    if (tag === 'a' && /^\s*javascript:/i.test(e.getAttribute('href') ?? '')) bad.push(`<a href=${e.getAttribute('href')}>`);
    // VS Code's webview host puts its own acquireVsCodeApi shim first in the document (checked once in assertSafe)
    const shim = tag === 'script' && !e.getAttribute('src') && /^\s*globalThis\.acquireVsCodeApi = /.test(e.textContent ?? '');
    if (tag === 'script' && !shim && !(e as HTMLScriptElement).nonce) bad.push(`<script src="${e.getAttribute('src') ?? ''}"> without a nonce: ${(e.textContent ?? '').slice(0, 80)}`);
  }
  return bad;
};

describe('hostile token strings in every view and the hover (code-server + Chromium)', { timeout: 600_000 }, () => {
  const settings: Record<string, unknown> = { 'workbench.colorTheme': 'Default Light Modern' };
  before(async () => {
    settings['innerWorld.modelPath'] = await ensureHostileModel();
  }, { timeout: 300_000 });
  const wb = useWorkbench({
    name: 'hostile',
    files: { 'prompt.txt': `${PROMPT_LINE}\n` },
    settings,
    env: { INNER_WORLD_CACHE: projectCacheDir() },
  });
  const view = (title: string): Promise<FrameLocator> => viewFrame(wb(), title);
  const dialogs: string[] = [];
  before(() => {
    // a dialog from any frame (the webviews' included) is reported here; dismiss it so nothing hangs
    wb().page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => undefined);
    });
  });

  /** The view holds nothing the hostile strings created, and its served HTML has the strict CSP. */
  async function assertSafe(f: FrameLocator, title: string): Promise<string> {
    const doc = f.locator('html');
    const bad = await doc.evaluate(injectedElements);
    assert.deepEqual(bad, [], `${title}: elements the token strings created`);
    const served = await doc.evaluate((root) => {
      const d = root.ownerDocument;
      const meta = d.querySelector('meta[http-equiv="Content-Security-Policy"]');
      return { csp: meta?.getAttribute('content') ?? '', metas: d.querySelectorAll('meta[http-equiv="Content-Security-Policy"]').length, scripts: Array.from(d.scripts).map((s) => ({ nonce: s.nonce, shim: !s.src && /^\s*globalThis\.acquireVsCodeApi = /.test(s.textContent ?? '') })) };
    });
    assert.equal(served.metas, 1, `${title}: one CSP`);
    const directives = new Map(served.csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
    assert.deepEqual(directives.get('default-src'), ["'none'"], `${title}: ${served.csp}`);
    const scriptSrc = directives.get('script-src') ?? [];
    assert.equal(scriptSrc.length, 1, `${title}: scripts by nonce only: ${served.csp}`);
    const nonce = /^'nonce-([A-Za-z0-9+/=]{16,})'$/.exec(scriptSrc[0]!)?.[1];
    assert.ok(nonce, `${title}: ${served.csp}`);
    assert.doesNotMatch(served.csp, /unsafe-inline|unsafe-eval|unsafe-hashes/, `${title}: ${served.csp}`);
    // no source open to everything (webview.cspSource is a host pattern, https://*.vscode-cdn.net)
    assert.ok(![...directives.values()].flat().some((v) => v === '*' || v === 'http:' || v === 'https:'), `${title}: ${served.csp}`);
    assert.ok(served.scripts.filter((s) => s.shim).length <= 1, `${title}: VS Code's API shim once at most`);
    const ours = served.scripts.filter((s) => !s.shim);
    assert.ok(ours.length >= 1, `${title}: the view's script is there`);
    for (const s of ours) assert.equal(s.nonce, nonce, `${title}: every script of the view carries the page's nonce`);
    return doc.evaluate((root) => root.ownerDocument.body.textContent ?? '');
  }

  test('the layers view shows the hostile words of "red" as text, at every layer', async () => {
    await wb().openFile('prompt.txt');
    await wb().selectText(PROMPT_LINE);
    await wb().runCommand('Inner World: Inspect Selection');
    await wb().waitForPanel('Inner World: Layers');
    const layers = await view('Layers');
    await layers.locator('#tokens .chip', { hasText: /^red$/ }).click({ timeout: TIMEOUT * 2 });
    await layers.locator('#dictionary').click();
    await layers.locator('#dictionary').getByText('Output dictionary', { exact: true }).last().click();
    await layers.locator('#status', { hasText: /“red” \(position 4\) through the output dictionary/ }).waitFor({ timeout: TIMEOUT * 2 });
    // the table: a hostile word at each layer's top, shown as the very string the vocabulary holds
    const words = await layers.locator('#words tbody td .word').allTextContents();
    const shown = hostileIn(words.join('\n'));
    assert.ok(shown.length >= 3, `hostile words in the table: ${JSON.stringify(words)}`);
    for (const w of words.filter((x) => hostileIn(x).length)) assert.ok(ALL_HOSTILE.map((h) => displayToken(`▁${h}`)).includes(w), `a cell shows exactly one token string: ${JSON.stringify(w)}`);
    // the prompt's own hostile text is tokens too: its pieces are chips with text, not markup
    const chips = (await layers.locator('#tokens .chip').allTextContents()).join('').replace(/##/g, '');
    assert.ok(chips.includes('<imgsrc=xonerror=alert(1)></script>{{x}}javascript:alert(1)'), chips);
    await assertSafe(layers, 'Layers');
    await wb().screenshot('layers');
  });

  test('the grid at "red" through the output dictionary', async () => {
    const layers = await view('Layers');
    await layers.locator('#open-grid').click();
    await wb().waitForPanel('Inner World: Token × Layer Grid');
    const grid = await view('Token × Layer Grid');
    await grid.locator('#status', { hasText: /tokens read/ }).waitFor({ timeout: TIMEOUT * 2 });
    // the grid reads through the logit lens (the output dictionary) by default
    const row = grid.locator('.grid-row[data-pos="4"] .grid-cell');
    // the cells fill in as they are read
    const deadline = Date.now() + TIMEOUT * 2;
    let cells: string[] = [];
    while (Date.now() < deadline) {
      cells = await row.allTextContents();
      if (hostileIn(cells.join('\n')).length > 0 && !cells.includes('…')) break;
      await wb().page.waitForTimeout(200);
    }
    assert.ok(hostileIn(cells.join('\n')).length > 0, `the row of "red": ${JSON.stringify(cells)}`);
    await assertSafe(grid, 'Token × Layer Grid');
    await wb().screenshot('grid');
  });

  test('attention and states: the prompt\'s hostile pieces label the heads\' patterns as text', async () => {
    await wb().runCommand('Inner World: Show Attention');
    await wb().waitForPanel('Inner World: Attention');
    const att = await view('Attention');
    await att.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    // the last token's title quotes the prompt's last piece; the keyboard readout names pieces
    const canvas = att.locator('#pattern');
    await canvas.focus();
    for (let k = 0; k < 6; k++) await canvas.press('ArrowDown');
    for (let k = 0; k < 5; k++) await canvas.press('ArrowRight');
    const readout = await att.locator('#pattern-readout').innerText();
    assert.match(readout, /query 6 .* → key 5 /, readout);
    await assertSafe(att, 'Attention');
    await wb().screenshot('attention');

    await wb().runCommand('Inner World: Show State Vectors');
    await wb().waitForPanel('Inner World: State Vectors');
    const st = await view('State Vectors');
    await st.locator('#status[data-kind="ok"]').waitFor({ timeout: TIMEOUT * 2 });
    await assertSafe(st, 'State Vectors');
    await wb().screenshot('states');
  });

  test('the hover on "red" lists the hostile words as text', async () => {
    await wb().runCommand('View: Focus First Editor Group');
    await wb().clickEditor();
    const text = await wb().hover('red', { contains: 'output dictionary' });
    assert.ok(hostileIn(text).length >= 2, `hover: ${text}`);
    const bad = await wb().page.locator('.monaco-hover:not(.hidden)').first().evaluate(injectedElements);
    assert.deepEqual(bad, [], 'elements the token strings created in the hover');
    await wb().screenshot('hover');
  });

  test('no dialog opened, no script ran, no CSP violation', () => {
    assert.deepEqual(dialogs, []);
    const suspicious = wb().consoleErrors.filter((e) => /alert|allow-modals|Content Security Policy|Refused to/i.test(e));
    assert.deepEqual(suspicious, []);
    assert.deepEqual(wb().unexpectedConsoleErrors(), []);
  });
});
