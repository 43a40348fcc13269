// Every command in one table, each with the behaviour it needs when no model is loaded, and one
// error path: a user-facing message, the details in the output channel, the extension still working.
import * as vscode from 'vscode';
import { isInnerWorldError } from '../engine/errors';
import { inspectSelection } from './inspectSelection';
import { loadModel } from './loadModel';
import type { Services } from './services';

type Command = (s: Services, ...args: unknown[]) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  'innerWorld.loadModel': loadModel,
  // loads the default model first when none is loaded
  'innerWorld.inspectSelection': inspectSelection,
  'innerWorld.releaseModel': async (s) => {
    if (!s.model.info) return void vscode.window.showInformationMessage('Inner World: no model is loaded.');
    s.inspections.clear();
    await s.model.release();
  },
};

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
