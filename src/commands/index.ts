// Every command in one table, each with the behaviour it needs when no model is loaded, and one
// error path: a user-facing message, the details in the output channel, the extension still working.
import * as vscode from 'vscode';
import { isInnerWorldError } from '../engine/errors';
import { VIEWS, type ViewId } from '../shared/protocol/views';
import { inspectSelection, showView } from './inspectSelection';
import { loadModel } from './loadModel';
import type { Services } from './services';

type Command = (s: Services, ...args: unknown[]) => Promise<void>;

const viewCommands = Object.fromEntries(Object.values(VIEWS).map((v) => [v.command, (s: Services) => showView(s, v.id as ViewId)]));

const COMMANDS: Record<string, Command> = {
  'innerWorld.loadModel': loadModel,
  // loads the default model first when none is loaded
  'innerWorld.inspectSelection': (s) => inspectSelection(s),
  'innerWorld.releaseModel': async (s) => {
    if (!s.model.info) return void vscode.window.showInformationMessage('Inner World: no model is loaded.');
    s.ranges.clear();
    await s.model.release();
  },
  'innerWorld.toggleSurprisal': async (s) => {
    s.ranges.setOverlay(!s.ranges.overlayOn);
    if (s.ranges.overlayOn) void vscode.window.showInformationMessage('Inner World: inspected tokens are shaded by their surprisal (-ln p of the token given the ones before it; hover a token for the numbers).');
  },
  ...viewCommands,
  // from the Model tree: a matrix's heatmap, a head's word map
  'innerWorld.openHeatmap': async (s, role, layer) => void (await s.views.open('heatmap', { controls: { role: String(role), layer: Number(layer), row0: 0, col0: 0 } })),
  'innerWorld.openHeadMap': async (s, layer, head) => void (await s.views.open('headMap', { controls: { layer: Number(layer), head: Number(head) } })),
};

/** The ids of every command this extension registers (the view table's included). */
export const COMMAND_IDS = Object.keys(COMMANDS);

export function registerCommands(s: Services): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, run]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await run(s, ...args);
      } catch (e) {
        reportError(s, id, e);
      }
    }),
  );
}

export function reportError(s: Services, where: string, e: unknown): void {
  if (isInnerWorldError(e)) {
    if (e.code === 'cancelled') return;
    s.ctx.output.warn(`${where}: ${e.code}: ${e.message}${e.detail ? `\n${e.detail}` : ''}`);
    void vscode.window.showErrorMessage(`Inner World: ${e.message}`);
  } else {
    const err = e instanceof Error ? e : new Error(String(e));
    s.ctx.output.error(`${where}: ${err.stack ?? err.message}`);
    void vscode.window.showErrorMessage(`Inner World: unexpected error (${err.message}). Details are in the "Inner World" output.`);
  }
}
