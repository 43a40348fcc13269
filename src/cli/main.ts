// inner-world: the analyses from a terminal, JSON on stdout (a table with --table).
// Exit codes are part of the contract: 0 ok, 1 usage, 2 bad input or model, 3 internal error.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { escapeControls, isInnerWorldError, quoteFileText, type ErrorCode } from '../engine/errors';
import { validateModelPath } from '../engine/gguf/validate';
import { GgufError } from '../engine/gguf/errors';
import { Workbench, type WorkbenchOptions } from '../engine/workbench/workbench';
import { int, oneOf, str, UsageError, type Values } from '../engine/workbench/options';
import { COMMANDS, defaultCacheDir, findCommand } from './commands';
import { formatTable } from './format';

export const EXIT = { ok: 0, usage: 1, badInput: 2, internal: 3 } as const;

/** Errors about the user's model or input (exit 2); every other engine error is internal (3). */
const BAD_INPUT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['bad-gguf', 'not-llama', 'missing-tensor', 'unsupported-tensor-type', 'model-load-failed', 'out-of-memory', 'empty-prompt', 'prompt-too-long', 'bad-argument', 'needs-partial-offload', 'download-failed']);

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
    // what llama.cpp would abort on, and hyperparameters the file cannot hold, are refused here
    validateModelPath(parsed.positionals[0]!);
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
    // one line: the detail (llama.cpp's log) is summarized by its telling line; all of it with INNER_WORLD_DEBUG
    const debug = process.env['INNER_WORLD_DEBUG'] && e.detail ? `\n${e.detail}` : '';
    return { code, stdout: '', stderr: `${escapeControls(`inner-world: ${e.message}${detailLine(e.detail)}`)}${debug}\n` };
  }
  if (e instanceof GgufError) return { code: EXIT.badInput, stdout: '', stderr: `inner-world: ${e.message}\n` };
  const err = e instanceof Error ? e : new Error(String(e));
  const stack = process.env['INNER_WORLD_DEBUG'] ? `\n${err.stack}` : '';
  return { code: EXIT.internal, stdout: '', stderr: `inner-world: internal error: ${err.message}${stack}\n` };
}

/** The line of an error's detail (llama.cpp's log) that says what went wrong, as " (...)", or ''. */
function detailLine(detail: string | undefined): string {
  if (!detail) return '';
  const lines = detail.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const telling = lines.find((l) => /error|GGML_ASSERT|not found|invalid|wrong/i.test(l)) ?? lines[lines.length - 1];
  return telling ? ` (${quoteFileText(telling, 200).slice(1, -1)})` : '';
}

/** Set in the child that does a command's work; the parent only watches it. */
const CHILD_ENV = 'INNER_WORLD_CLI_CHILD';

/**
 * Runs this same command line in a child process and passes its output and exit code through.
 * llama.cpp and ggml abort the process on a failed assertion (and V8 on heap exhaustion): in the
 * child, that is a signal the parent sees and reports as exit 3 with one line, instead of a
 * silent death. The child's stderr is held back so a crash's backtrace is summarized, not dumped.
 */
export function runContained(argv: readonly string[], script = process.argv[1]!, env: NodeJS.ProcessEnv = process.env): Promise<CliOutput> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, [CHILD_ENV]: '1' } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      if (err.length > 1 << 16) err = err.slice(-(1 << 15)); // a crash's log tail is what matters
    });
    child.on('error', (e) => resolve({ code: EXIT.internal, stdout: '', stderr: `inner-world: internal error: could not start the worker process: ${e.message}\n` }));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (signal === null && code !== null && code <= EXIT.internal) {
        resolve({ code, stdout, stderr: err });
        return;
      }
      resolve({ code: EXIT.internal, stdout: '', stderr: `${crashLine(argv, signal ?? `exit code ${code}`, err)}\n` });
    });
  });
}

/** One line for a child that died: what ran, how it died, the most telling line it printed. */
export function crashLine(argv: readonly string[], how: string, stderr: string): string {
  // backtrace frames ("12: 0x...", "at f (...)", "#3 ...") say where, not what
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim() !== '' && !/^\s*(\d+:\s|at\s|#\d+\s)/.test(l));
  const telling = [...lines].reverse().find((l) => /GGML_ASSERT|GGML_ABORT|FATAL ERROR|out of memory|terminate called|error/i.test(l));
  const file = argv[1] !== undefined ? ` on ${quoteFileText(argv[1], 120)}` : '';
  const said = telling !== undefined ? `; it last said ${quoteFileText(telling.trim(), 160)}` : '';
  return `inner-world: the engine crashed (${how}) running "${quoteFileText(argv[0] ?? '', 30).slice(1, -1)}"${file}${said}. The model file may be one llama.cpp cannot run; nothing else was affected.`;
}

/** Commands whose work runs in a child: every command with a model (help and usage stay here). */
function runsInChild(argv: readonly string[]): boolean {
  if (process.env[CHILD_ENV] === '1') return false;
  const [name, ...rest] = argv;
  return name !== undefined && findCommand(name) !== undefined && !rest.includes('--help') && !rest.includes('-h');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // a test hook: the child aborts as llama.cpp does on a failed assertion, to prove containment
  if (process.env[CHILD_ENV] === '1' && process.env['INNER_WORLD_TEST_ABORT'] === '1') process.abort();
  const out = runsInChild(argv) ? await runContained(argv) : await runCli(argv);
  if (out.stdout) await new Promise<void>((resolve) => process.stdout.write(out.stdout, () => resolve()));
  if (out.stderr) await new Promise<void>((resolve) => process.stderr.write(out.stderr, () => resolve()));
  process.exit(out.code); // llama.cpp's threads must not keep the process alive
}

if (require.main === module) void main();
