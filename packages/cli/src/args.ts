import { parseArgs as nodeParseArgs } from 'node:util';
import { CliError } from './errors.js';

/** One option of a command: its type, an optional short flag, its help line and value name. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  help: string;
  /** Shown in help as `--name VALUE`. */
  value?: string;
  /** Shown in help as the default. */
  default?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** What a command parses its arguments into. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parse `argv` for `command` with Node's `util.parseArgs` (strict: unknown options are errors). */
export function parseCommandArgs(
  command: string,
  argv: string[],
  specs: OptionSpecs,
  allowPositionals = false,
): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [k, s] of Object.entries(specs)) options[k] = { type: s.type, ...(s.short ? { short: s.short } : {}) };
  try {
    const { values, positionals } = nodeParseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, '');
    throw new CliError(`${msg} (see 'peftjs ${command} --help')`);
  }
}

/** The help text of a command: usage, description, and its options in aligned columns. */
export function formatHelp(usage: string, description: string, specs: OptionSpecs, examples: string[] = []): string {
  const rows = Object.entries(specs).map(([k, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${k}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    return [flag, `${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`];
  });
  rows.push(['-h, --help', 'Show this help.']);
  const w = Math.max(...rows.map((r) => r[0].length));
  const lines = [`Usage: ${usage}`, '', description, '', 'Options:', ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`)];
  if (examples.length) lines.push('', 'Examples:', ...examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

function raw(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A string option. */
export function str(values: Parsed['values'], name: string, fallback: string): string;
export function str(values: Parsed['values'], name: string): string | undefined;
export function str(values: Parsed['values'], name: string, fallback?: string): string | undefined {
  return raw(values, name) ?? fallback;
}

/** A number option; `int` requires an integer; `min` a lower bound (inclusive). Bad values are CliErrors. */
export function num(
  values: Parsed['values'],
  name: string,
  fallback: number,
  opts: { int?: boolean; min?: number; max?: number; exclusiveMin?: boolean } = {},
): number {
  const s = raw(values, name);
  if (s === undefined) return fallback;
  const v = Number(s);
  const bad =
    s.trim() === '' ||
    !Number.isFinite(v) ||
    (opts.int && !Number.isInteger(v)) ||
    (opts.min !== undefined && (opts.exclusiveMin ? v <= opts.min : v < opts.min)) ||
    (opts.max !== undefined && v > opts.max);
  if (bad) {
    const kind = opts.int ? 'an integer' : 'a number';
    const range =
      opts.min !== undefined
        ? ` ${opts.exclusiveMin ? '>' : '>='} ${opts.min}${opts.max !== undefined ? ` and <= ${opts.max}` : ''}`
        : '';
    throw new CliError(`--${name} must be ${kind}${range}, got '${s}'`);
  }
  return v;
}

/** A choice among `choices`. */
export function choice<T extends string>(
  values: Parsed['values'],
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const s = raw(values, name);
  if (s === undefined) return fallback;
  if (!choices.includes(s as T)) throw new CliError(`--${name} must be one of ${choices.join(', ')}, got '${s}'`);
  return s as T;
}

/** Parse "8GB", "512MiB", "1.5e9" into bytes. */
export function parseBytes(name: string, s: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(s);
  if (!m) throw new CliError(`--${name} must be a size like 8GB, 512MiB or 1.5e9, got '${s}'`);
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b$/, '');
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[unit];
  if (mult === undefined) throw new CliError(`--${name}: unknown unit in '${s}'`);
  return Number(m[1]) * mult;
}

/** Parse "1.1e9", "7B", "125M", "350k" into a count. */
export function parseCount(name: string, s: string): number {
  const m = /^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmbt]?)\s*$/i.exec(s);
  if (!m) throw new CliError(`--${name} must be a count like 7B, 125M, 350k or 1.1e9, got '${s}'`);
  const mult = { '': 1, k: 1e3, m: 1e6, b: 1e9, t: 1e12 }[m[2].toLowerCase()]!;
  const v = Number(m[1]) * mult;
  if (!(v > 0)) throw new CliError(`--${name} must be positive, got '${s}'`);
  return v;
}
