// The CLI's subcommands are the rows of the analysis table that have a command-line spelling.
// Each parses its options before the model is touched (usage errors, exit 1); an inspection row
// first inspects its --prompt on the workbench, then runs on that inspection.
import * as os from 'node:os';
import * as path from 'node:path';
import { ANALYSES, runAnalysis, type AnalysisName, type AnyAnalysis, type CliSpec } from '../engine/workbench/analyses';
import type { Values } from '../engine/workbench/options';
import type { Workbench } from '../engine/workbench/workbench';

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** the usage line after "inner-world <name> <model>" */
  readonly usage: string;
  readonly options: CliSpec<unknown>['options'];
  parse(v: Values): unknown;
  run(wb: Workbench, parsed: unknown): Promise<unknown>;
}

function toCommand(a: AnyAnalysis & { cli: CliSpec<unknown> }): Command {
  return {
    name: a.name,
    summary: a.summary,
    usage: a.cli.usage,
    options: a.cli.options,
    parse: (v) => a.cli.parse(v),
    async run(wb, parsed) {
      let params = parsed as Record<string, unknown>;
      if (a.needs === 'inspection') {
        const { prompt, ...rest } = params as { prompt: string };
        const nLayers = (await wb.session()).info.nLayers;
        const insp = await wb.inspections.inspect(prompt, { hooks: a.hooks?.(rest as never, nLayers) ?? [] });
        params = { ...rest, inspectionId: insp.summary.id };
      }
      return runAnalysis(wb, a.name as AnalysisName, params as never);
    },
  };
}

export const COMMANDS: readonly Command[] = Object.values(ANALYSES as Record<string, AnyAnalysis>)
  .filter((a): a is AnyAnalysis & { cli: CliSpec<unknown> } => a.cli !== undefined)
  .map(toCommand);

export function findCommand(name: string): Command | undefined {
  const alias: Record<string, string> = { tally: 'info', neighbors: 'neighbours' };
  return COMMANDS.find((c) => c.name === (alias[name] ?? name));
}

export function defaultCacheDir(): string {
  return process.env['INNER_WORLD_CACHE'] ?? path.join(os.homedir(), '.cache', 'llm-inner-world');
}
