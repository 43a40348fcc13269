// Load Model...: the models already on this machine (recent ones first, then Ollama's, LM
// Studio's, the Hugging Face cache's and node-llama-cpp's, one group each), the built-in demo
// model, "Browse…" for any GGUF file and "Download…" for a URL or a Hugging Face reference.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { config } from '../config';
import { discoverModels, nodeLlamaCppModelsDir, SOURCE_LABELS, type FoundModel } from '../engine/models/discovery';
import { downloadModel, KNOWN_MODELS, knownModelMemory } from '../engine/models/download';
import type { Services } from './services';

type Action = { kind: 'model'; path: string | undefined; name?: string } | { kind: 'browse' } | { kind: 'download' };
type Item = vscode.QuickPickItem & { action?: Action };

export async function loadModel(s: Services): Promise<void> {
  const action = await pickModel(s);
  if (!action) return;
  let path: string | undefined;
  let name: string | undefined;
  if (action.kind === 'browse') {
    const files = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Load model', filters: { 'GGUF models': ['gguf'] } });
    if (!files?.length) return;
    path = files[0]!.fsPath;
  } else if (action.kind === 'download') {
    path = await downloadFlow();
    if (!path) return;
  } else {
    path = action.path;
    name = action.name;
  }
  s.ranges.clear();
  const info = await s.model.choose(path, name);
  void vscode.window.showInformationMessage(`Inner World: ${info.name} loaded (${info.nLayers} layers, ${info.backend}).`);
}

async function pickModel(s: Services): Promise<Action | undefined> {
  const items = (async (): Promise<Item[]> => {
    const found = await discoverModels({ home: os.homedir(), env: process.env, recent: s.model.recent, systemStores: true }).catch((e: unknown) => {
      s.ctx.output.warn(`looking for models on this machine failed: ${String(e)}`);
      return [] as FoundModel[];
    });
    return modelItems(found, s.model.info?.path);
  })();
  const pick = await vscode.window.showQuickPick(items, { title: 'Inner World: Load Model', placeHolder: 'Which model should Inner World run?', matchOnDescription: true, matchOnDetail: true });
  return pick?.action;
}

export function modelItems(found: readonly FoundModel[], loadedPath: string | undefined): Item[] {
  const items: Item[] = [];
  const mark = (p: string | undefined): string => (p !== undefined && p === loadedPath ? '$(check) ' : '');
  let group = '';
  for (const m of found) {
    if (m.source !== group) {
      group = m.source;
      items.push({ label: SOURCE_LABELS[m.source], kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({ label: `${mark(m.path)}${m.name}`, description: formatBytes(m.bytes), detail: tildePath(m.path), action: { kind: 'model', path: m.path, name: m.name } });
  }
  items.push({ label: 'Built in', kind: vscode.QuickPickItemKind.Separator });
  items.push({ label: '$(beaker) Demo model', description: 'fitted to a small English grammar; builds in seconds', action: { kind: 'model', path: undefined } });
  items.push({ label: '$(folder-opened) Browse…', description: 'any GGUF file', action: { kind: 'browse' } });
  items.push({ label: '$(cloud-download) Download…', description: 'a URL, a Hugging Face reference, or a small well-known model', action: { kind: 'download' } });
  return items;
}

/** Which model to download, then the download with progress and cancel; the file's path, or undefined. */
async function downloadFlow(): Promise<string | undefined> {
  const other = { label: '$(link) Enter a URL or Hugging Face reference…', reference: undefined as string | undefined };
  const known = KNOWN_MODELS.map((m) => ({
    label: m.label,
    description: `${formatBytes(m.bytes)} download · needs about ${formatBytes(knownModelMemory(m))} of memory`,
    detail: m.reference,
    reference: m.reference as string | undefined,
  }));
  const pick = await vscode.window.showQuickPick([other, ...known], { title: 'Inner World: Download a Model', placeHolder: 'A small well-known model, or your own reference' });
  if (!pick) return undefined;
  const reference =
    pick.reference ??
    (await vscode.window.showInputBox({
      title: 'Inner World: Download a Model',
      prompt: 'A URL of a .gguf file, or a Hugging Face reference user/repo/file.gguf',
      placeHolder: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf',
      ignoreFocusOut: true,
    }));
  if (!reference?.trim()) return undefined;
  const dirPath = config.downloadFolder() || nodeLlamaCppModelsDir(os.homedir());
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Inner World: downloading', cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    token.onCancellationRequested(() => ac.abort());
    let reported = 0;
    return downloadModel({
      reference,
      dirPath,
      signal: ac.signal,
      onProgress: ({ downloadedBytes, totalBytes }) => {
        const pct = totalBytes > 0 ? (100 * downloadedBytes) / totalBytes : 0;
        progress.report({ message: `${formatBytes(downloadedBytes)} of ${formatBytes(totalBytes)}`, increment: pct - reported });
        reported = pct;
      },
    });
  });
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

function tildePath(p: string): string {
  const home = os.homedir();
  return p.startsWith(home + '/') ? `~${p.slice(home.length)}` : p;
}
