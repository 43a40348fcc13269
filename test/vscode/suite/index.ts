// Runs inside desktop VS Code's extension host (bundled by runTests.ts). A tiny runner instead
// of mocha: each check is an async function; the counts go to a file runTests.ts prints.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';

const EXTENSION_ID = 'llm-inner-world.llm-inner-world';

// Only what the VS Code API lets a test observe. "Release Model with no model loaded" was here and
// could not fail: the command wrapper catches every error, and the message it shows instead is not
// readable through the API. What a command shows belongs in the e2e suite, which reads the
// workbench's notifications from the page.
const checks: [string, () => Promise<void>][] = [
  ['the extension is installed', async () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is not among the extensions`);
  }],
  ['it activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    await ext.activate();
    assert.equal(ext.isActive, true);
  }],
  ['every contributed command is registered', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const contributed = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(contributed.length > 0, 'package.json contributes commands');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], 'contributed but not registered');
  }],
];

export async function run(): Promise<void> {
  let passed = 0;
  let failed = 0;
  for (const [name, check] of checks) {
    try {
      await check();
      passed++;
      console.log(`  ✔ ${name}`);
    } catch (e) {
      failed++;
      console.log(`  ✖ ${name}\n    ${(e as Error).stack ?? e}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  const out = process.env.INNER_WORLD_VSCODE_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify({ passed, failed }));
  if (failed > 0) throw new Error(`${failed} of ${passed + failed} checks failed`);
}
