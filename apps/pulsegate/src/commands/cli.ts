import { readFile } from 'node:fs/promises';

/** Where a command writes; defaults to the process streams. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The process streams. */
export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };

/** An error the user can fix; `usage` = print the usage text too. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

/** Parsed command line: `--name value` flags (repeatable ones collected in `lists`) and positionals. */
export interface Args {
  flags: Map<string, string>;
  lists: Map<string, string[]>;
  positional: string[];
}

/** Flag spec: value flags, boolean flags and flags that may repeat. */
export interface FlagSpec {
  values: readonly string[];
  booleans?: readonly string[];
  repeatable?: readonly string[];
  /** Most positional arguments accepted. Default 0. */
  positional?: number;
}

/** Parses `--name value`, `--name=value` and boolean `--name`; errors name the flag. */
export function parseArgs(args: string[], spec: FlagSpec): Args {
  const flags = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const positional: string[] = [];
  const booleans = new Set(spec.booleans ?? []);
  const repeatable = new Set(spec.repeatable ?? []);
  const values = new Set([...spec.values, ...repeatable]);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      if (positional.length >= (spec.positional ?? 0)) throw new CliError(`unexpected argument ${JSON.stringify(a)}`, true);
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq === -1 ? undefined : eq);
    if (booleans.has(name)) {
      flags.set(name, 'true');
      continue;
    }
    if (!values.has(name)) throw new CliError(`unknown option --${name}`, true);
    const value = eq === -1 ? args[++i] : a.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new CliError(`--${name} needs a value`, true);
    if (repeatable.has(name)) {
      lists.set(name, [...(lists.get(name) ?? []), value]);
      continue;
    }
    if (flags.has(name)) throw new CliError(`--${name} given twice`, true);
    flags.set(name, value);
  }
  return { flags, lists, positional };
}

/** The value of a required flag. */
export function required(flags: Map<string, string>, name: string): string {
  const v = flags.get(name);
  if (v === undefined || v === '') throw new CliError(`--${name} is required`, true);
  return v;
}

/** A non-negative number flag, or undefined when absent. */
export function numberFlag(flags: Map<string, string>, name: string): number | undefined {
  const v = flags.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new CliError(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

/** A file's text; the error names the flag (or argument) and the path. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `--rule id=severity` values as overrides; errors name the flag. */
export function ruleOverrides(values: string[] | undefined): Record<string, 'error' | 'warning' | 'info' | 'off'> {
  const out: Record<string, 'error' | 'warning' | 'info' | 'off'> = {};
  for (const v of values ?? []) {
    const m = /^([^=]+)=(error|warning|info|off)$/.exec(v);
    if (m === null) throw new CliError(`--rule must be <rule id>=error|warning|info|off, got ${JSON.stringify(v)}`);
    out[m[1]!] = m[2] as 'error' | 'warning' | 'info' | 'off';
  }
  return out;
}

/** Text, JSON or Markdown output, from `--format`. */
export type Format = 'text' | 'json' | 'markdown';

/** The --format flag (default text). */
export function formatFlag(flags: Map<string, string>): Format {
  const f = flags.get('format') ?? 'text';
  if (f !== 'text' && f !== 'json' && f !== 'markdown') throw new CliError('--format must be text, json or markdown');
  return f;
}

/** Escapes a value for a Markdown table cell. */
export const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
