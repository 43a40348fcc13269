// The view table against the extension manifest: every view has its command, its activation
// event (a restored panel activates the extension) and its webview bundle; nothing in the
// manifest names a view that does not exist.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VIEWS } from '../../src/shared/protocol/views';
import { toCsv } from '../../src/shared/format';

const root = path.join(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  activationEvents: string[];
  contributes: { commands: Array<{ command: string; title: string; category?: string }> };
};

test('every view has a command, an activation event and a webview entry', () => {
  const commands = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
  for (const v of Object.values(VIEWS)) {
    const c = commands.get(v.command);
    assert.ok(c, `${v.command} is not in contributes.commands`);
    assert.equal(c.category, 'Inner World');
    assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${v.viewType}`), `no activation event for ${v.viewType}`);
    assert.ok(fs.existsSync(path.join(root, 'webview', 'views', `${v.entry}.ts`)), `webview/views/${v.entry}.ts is missing`);
    assert.ok(v.explanation.length > 40 && /Fig\.|figure|article section|companion page/.test(v.explanation), `${v.id} says what it plots and where the article has it`);
  }
});

test('the manifest names no view that the table lacks', () => {
  const viewTypes = new Set(Object.values(VIEWS).map((v) => v.viewType));
  for (const e of manifest.activationEvents.filter((a) => a.startsWith('onWebviewPanel:'))) assert.ok(viewTypes.has(e.slice('onWebviewPanel:'.length)), e);
  const viewCommands = new Set(Object.values(VIEWS).map((v) => v.command));
  for (const c of manifest.contributes.commands.filter((x) => x.command.startsWith('innerWorld.show'))) assert.ok(viewCommands.has(c.command), c.command);
  assert.equal(new Set(Object.values(VIEWS).map((v) => v.entry)).size, Object.keys(VIEWS).length);
});

test('CSV export quotes what needs quoting and round-trips tokens', () => {
  const csv = toCsv(['pos', 'token', 'value'], [[0, '<s>', 0.5], [1, '▁a,"b"', Number.NaN], [2, ' x', 1e-7]]);
  assert.equal(csv, 'pos,token,value\r\n0,<s>,0.5\r\n1,"▁a,""b""",\r\n2," x",1e-7\r\n');
});
