// inner-world: the analyses from a terminal, JSON on stdout (a table with --table).
// Exit codes are part of the contract: 0 ok, 1 usage, 2 bad input or model, 3 internal error.
import { parseArgs } from 'node:util';
import { isInnerWorldError, type ErrorCode } from '../engine/errors';
import { GgufError } from '../engine/gguf/errors';
import { Workbench, type WorkbenchOptions } from '../engine/workbench/workbench';
import { int, oneOf, str, UsageError, type Values } from '../engine/workbench/options';
import { COMMANDS, defaultCacheDir, findCommand } from './commands';
import { formatTable } from './format';

export const EXIT = { ok: 0, usage: 1, badInput: 2, internal: 3 } as const;

/** Errors about the user's model or input (exit 2); every other engine error is internal (3). */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['bad-gguf', 'not-llama', 'missing-tensor', 'unsupported-tensor-type', 'model-load-failed', 'out-of-memory', 'empty-prompt', 'prompt-too-long', 'bad-argument']);

const GLOBAL_OPTIONS = {
  table: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  threads: { type: 'string' },
  gpu: { type: 'string' },
  exact: { type: 'boolean' },
  reference: { type: 'boolean' },
  cache: { type: 'string' },
} as const;

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`);
  return [
    'usage: inner-world <command> <model.gguf> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'options for every command:',
    '  --table            a readable table instead of JSON',
    '  --threads N        CPU threads for llama.cpp and ggml',
    '  --gpu auto|cpu|cuda|vulkan|metal',
    '  --exact            multiply dictionaries in their stored type (default on a CPU: a Q8_0 copy)',
    '  --reference        the plain JavaScript engine (slow; for checking)',
    '  --cache DIR        where the middle dictionary is cached (default $INNER_WORLD_CACHE or ~/.cache/llm-inner-world)',
    '',
    'inner-world <command> --help shows the command\'s options. Exit codes: 0 ok, 1 usage, 2 bad input or model, 3 internal error.',
  ].join('\n');
}

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run one command line; never throws, never exits (the tests and main() share it). */
export async function runCli(argv: readonly string[]): Promise<CliOutput> {
  const [name, ...rest] = argv;
  if (name === undefined) return { code: EXIT.usage, stdout: '', stderr: `${usage()}\n` };
  if (name === 'help' || name === '--help' || name === '-h') return { code: EXIT.ok, stdout: `${usage()}\n`, stderr: '' };
  let wb: Workbench | undefined;
  try {
    const cmd = findCommand(name);
    if (!cmd) throw new UsageError(`unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
    const v = parsed.values;
    if (v['help'] === true) return { code: EXIT.ok, stdout: `usage: inner-world ${cmd.name} <model.gguf> ${cmd.usage}\n  ${cmd.summary}\n`, stderr: '' };
    if (parsed.positionals.length !== 1) throw new UsageError(parsed.positionals.length === 0 ? `${cmd.name} needs a model file: inner-world ${cmd.name} <model.gguf> ${cmd.usage}` : `unexpected argument "${parsed.positionals[1]}"`);
    const global: WorkbenchOptions = {
      gpu: oneOf(v, 'gpu', ['auto', 'cpu', 'cuda', 'vulkan', 'metal'] as const, 'auto'),
      threads: int(v, 'threads', { min: 1 }),
      exact: v['exact'] === true,
      reference: v['reference'] === true,
      cacheDir: str(v, 'cache') ?? defaultCacheDir(),
    };
    const options = cmd.parse(v); // usage errors before the model is touched
    wb = new Workbench(parsed.positionals[0]!, global);
    const result = await cmd.run(wb, options);
    const text = v['table'] === true ? (formatTable(cmd.name, result) ?? JSON.stringify(result, null, 2)) : JSON.stringify(result, jsonNumbers, 2);
    return { code: EXIT.ok, stdout: `${text}\n`, stderr: '' };
  } catch (e) {
    return failure(e);
  } finally {
    try {
      wb?.dispose();
    } catch {
      // releasing native resources must not hide the command's own outcome
    }
  }
}

/** NaN and infinities are not JSON: write them as null. */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** The exit code and message for an error a command threw. */
export function failure(e: unknown): CliOutput {
  if (e instanceof UsageError) return { code: EXIT.usage, stdout: '', stderr: `inner-world: ${e.message}\nRun "inner-world --help" for the commands.\n` };
  if (isInnerWorldError(e)) {
    const code = BAD_INPUT.has(e.code) ? EXIT.badInput : EXIT.internal;
    return { code, stdout: '', stderr: `inner-world: ${e.message}${e.detail ? `\n${e.detail}` : ''}\n` };
  }
  if (e instanceof GgufError) return { code: EXIT.badInput, stdout: '', stderr: `inner-world: ${e.message}\n` };
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = process.env['INNER_WORLD_DEBUG'] ? `\n${err.stack}` : '';
  return { code: EXIT.internal, stdout: '', stderr: `inner-world: internal error: ${err.message}${stack}\n` };
}

async function main(): Promise<void> {
  const out = await runCli(process.argv.slice(2));
  if (out.stdout) await new Promise<void>((resolve) => process.stdout.write(out.stdout, () => resolve()));
  if (out.stderr) await new Promise<void>((resolve) => process.stderr.write(out.stderr, () => resolve()));
  process.exit(out.code); // llama.cpp's threads must not keep the process alive
}

if (require.main === module) void main();
