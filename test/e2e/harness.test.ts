// The harness itself, against the real extension in the real workbench: each helper is used once
// and checked against something a person would see.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { useWorkbench } from './harness';

const PROMPT = 'I like the red ball, but my girlfriend likes the larger ball.\nWe like to go to the basketball court to play ball together.\n';

describe('e2e harness: code-server + Chromium + the extension', { timeout: 600_000 }, () => {
  const wb = useWorkbench({ name: 'harness', files: { 'prompt.txt': PROMPT, 'sample.ts': 'export const answer = 42;\n', 'notes.md': '# Hello harness\n\nA *webview* check.\n' } });

  test('opens a workspace file and shows its text', async () => {
    await wb().openFile('prompt.txt');
    const text = await wb().editorText();
    assert.ok(text.includes('I like the red ball, but my girlfriend likes the larger ball.'), `editor shows: ${JSON.stringify(text)}`);
    assert.ok(text.includes('We like to go to the basketball court'), `editor shows: ${JSON.stringify(text)}`);
  });

  test('selects text by keyboard and the status bar counts it', async () => {
    await wb().selectText('the red ball');
    assert.match(await wb().selectionStatus(), /Ln 1, Col 20 \(12 selected\)/);
    // occurrence 2 is inside "basketball"; 3 is "play ball"
    await wb().selectText('ball', { occurrence: 3 });
    assert.match(await wb().selectionStatus(), /Ln 2, Col 51 \(4 selected\)/);
  });

  test('the palette lists the extension\'s commands', async () => {
    const labels = await wb().commandPaletteEntries('Inner World:');
    for (const title of ['Inner World: Inspect Selection', 'Inner World: Load Model...']) {
      assert.ok(labels.some((l) => l.startsWith(title)), `palette lists ${title}; it lists: ${JSON.stringify(labels)}`);
    }
  });

  test('running Inspect Selection on an empty selection: the extension answers with its own message', async () => {
    await wb().openFile('prompt.txt');
    await wb().goTo(1, 1);
    await wb().runCommand('Inner World: Inspect Selection');
    // The extension's reply proves it activated in code-server's Node extension host and its
    // command ran; an activation failure or a missing command reads differently.
    const n = await wb().waitForNotification(/^Inner World: /);
    assert.match(n.message, /select/i);
    assert.equal(n.severity, 'error');
    const shot = await wb().screenshot('inspect-empty-selection');
    assert.ok(fs.statSync(shot).size > 10_000, 'screenshot is a real image');
  });

  test('hovering an identifier shows the hover of its language', async () => {
    await wb().clearNotifications();
    // the extension's token hover needs an inspection first (that is the scenario test's job);
    // VS Code's own TypeScript hover checks the mouse path and the hover reading
    await wb().openFile('sample.ts');
    const text = await wb().hover('answer', { contains: 'const answer' });
    assert.match(text, /const answer: 42/);
  });

  test('reads inside a webview (the built-in Markdown preview)', async () => {
    // the extension's panels are webviews too; the scenario test reads its chart the same way
    await wb().openFile('notes.md');
    await wb().runCommand('Markdown: Open Preview');
    await wb().waitForPanel('Preview notes.md');
    const heading = wb().webview({ extension: 'vscode.markdown-language-features' }).getByRole('heading', { name: 'Hello harness' });
    await heading.waitFor();
    assert.equal(await heading.innerText(), 'Hello harness');
    assert.equal(await wb().webview().locator('em').innerText(), 'webview');
  });

  test('no unexpected console errors', () => {
    // the workbench logs the error notification provoked above
    assert.deepEqual(wb().unexpectedConsoleErrors([/^Inner World: Nothing is selected/]), []);
  });
});
