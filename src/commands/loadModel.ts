// Load Model...: the built-in demo model or a GGUF file of the user's.
import * as vscode from 'vscode';
import type { Services } from './services';

export async function loadModel(s: Services): Promise<void> {
  const demo = { label: '$(beaker) Demo model (built in)', description: 'fitted to a small English grammar; builds in seconds', path: undefined as string | undefined };
  const browse = { label: '$(folder-opened) Choose a GGUF file…', description: 'Llama 2, Llama 3, Mistral, TinyLlama …', path: '' };
  const current = s.model.info ? { label: `$(check) ${s.model.info.name}`, description: 'loaded now', path: s.model.info.path } : undefined;
  const pick = await vscode.window.showQuickPick([demo, browse, ...(current ? [current] : [])], { title: 'Inner World: Load Model', placeHolder: 'Which model should Inner World run?' });
  if (!pick) return;
  let path = pick.path;
  if (path === '') {
    const files = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Load model', filters: { 'GGUF models': ['gguf'] } });
    if (!files?.length) return;
    path = files[0]!.fsPath;
  }
  s.ranges.clear();
  const info = await s.model.choose(path);
  void vscode.window.showInformationMessage(`Inner World: ${info.name} loaded (${info.nLayers} layers, ${info.backend}).`);
}
