// Option values as the CLI reads them: every malformed value is a UsageError (exit code 1), with a
// message that names the option and what it takes.

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Values = Record<string, string | boolean | undefined>;

export function str(v: Values, name: string): string | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  if (typeof x !== 'string') throw new UsageError(`--${name} needs a value`);
  return x;
}

export function required(v: Values, name: string, what: string): string {
  const x = str(v, name);
  if (x === undefined || x === '') throw new UsageError(`--${name} is required (${what})`);
  return x;
}

export function int(v: Values, name: string, opts: { min?: number; def?: number } = {}): number | undefined {
  const x = str(v, name);
  if (x === undefined) return opts.def;
  if (!/^-?\d+$/.test(x)) throw new UsageError(`--${name} takes a whole number, not "${x}"`);
  const n = Number(x);
  if (opts.min !== undefined && n < opts.min) throw new UsageError(`--${name} must be at least ${opts.min}, not ${n}`);
  return n;
}

export function requiredInt(v: Values, name: string, what: string, min?: number): number {
  if (str(v, name) === undefined) throw new UsageError(`--${name} is required (${what})`);
  return int(v, name, { min })!;
}

export function intList(v: Values, name: string): number[] | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const parts = x.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--${name} takes comma-separated whole numbers, not "${x}"`);
  return parts.map(Number);
}

export function list(v: Values, name: string): string[] | undefined {
  const x = str(v, name);
  if (x === undefined) return undefined;
  const parts = x.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new UsageError(`--${name} takes a comma-separated list`);
  return parts;
}

export function oneOf<T extends string>(v: Values, name: string, choices: readonly T[], def: T): T;
export function oneOf<T extends string>(v: Values, name: string, choices: readonly T[]): T | undefined;
export function oneOf<T extends string>(v: Values, name: string, choices: readonly T[], def?: T): T | undefined {
  const x = str(v, name);
  if (x === undefined) return def;
  if (!(choices as readonly string[]).includes(x)) throw new UsageError(`--${name} takes one of ${choices.join(', ')}, not "${x}"`);
  return x as T;
}

export function flag(v: Values, name: string): boolean {
  return v[name] === true;
}
