// Typed access to the extension's settings (contributes.configuration in package.json).
import * as vscode from 'vscode';
import type { GpuPreference } from './engine/llama/backend';

const section = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('innerWorld');

export const config = {
  /**
   * an explicit model path, or '' for the built-in demo model. In a restricted (untrusted)
   * workspace only the user's own setting counts: a workspace could otherwise make the extension
   * open any file on this machine as a model.
   */
  modelPath: (): string => (vscode.workspace.isTrusted ? section().get<string>('modelPath', '') : (section().inspect<string>('modelPath')?.globalValue ?? '')).trim(),
  /** the workspace's own modelPath, when the workspace is restricted and so it is not used */
  modelPathIgnoredByTrust: (): string | undefined => {
    if (vscode.workspace.isTrusted) return undefined;
    const i = section().inspect<string>('modelPath');
    return (i?.workspaceFolderValue || i?.workspaceValue || '').trim() || undefined;
  },
  /** where Download… puts models ('' : node-llama-cpp's models folder) */
  downloadFolder: (): string => section().get<string>('downloadFolder', '').trim(),
  gpu: (): GpuPreference => section().get<GpuPreference>('gpu', 'auto'),
  topK: (): number => clampInt(section().get<number>('topK', 5), 1, 20),
  hoverLayers: (): number[] => (section().get<number[]>('hoverLayers', []) ?? []).filter((n) => Number.isInteger(n) && n >= 0),
  exactProjections: (): boolean => section().get<boolean>('exactProjections', false),
  surprisalOverlay: (): boolean => section().get<boolean>('surprisalOverlay', false),
  /** ms after the last edit before stale views re-inspect by themselves; 0: only on request */
  reinspectAfterEdit: (): number => Math.max(0, section().get<number>('reinspectAfterEdit', 0) ?? 0),
  /** bytes of captured activations the engine keeps for inspections together */
  inspectionMemoryBytes: (): number => clampInt(section().get<number>('inspectionMemoryMB', 2048), 64, 1 << 20) * 1024 * 1024,
  overflow: (): 'error' | 'truncate' => (section().get<string>('overflow', 'error') === 'truncate' ? 'truncate' : 'error'),
};

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(Number.isFinite(v) ? v : lo)));
}
