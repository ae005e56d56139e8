import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { getAdapterMethodByPeftType } from '@peftjs/registry';
import { availableMethods, defaultMethodConfig, type MethodSpec } from '@peftjs/trainer/node';
import { num, type OptionSpecs, type Parsed, str } from './args.js';
import { CliError } from './errors.js';
import { TRAIN_DEFAULTS } from './training.js';

export const ADAPTER_OPTIONS: OptionSpecs = {
  r: { type: 'string', value: 'N', help: 'LoRA/DoRA rank.', default: '8' },
  alpha: { type: 'string', value: 'N', help: 'lora_alpha (scaling = alpha / r).', default: '2·r' },
  dropout: { type: 'string', value: 'P', help: 'lora_dropout.', default: '0.05' },
  'target-modules': {
    type: 'string',
    value: 'LIST',
    help: 'Comma-separated module names, or all-linear.',
    default: 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj',
  },
};

/** Check a PEFT config object with its method's own validation; errors become CliErrors naming `source`. */
export function validateConfig(config: Record<string, unknown>, source: string): Record<string, unknown> {
  if (typeof config.peft_type !== 'string')
    throw new CliError(`${source}: the config has no "peft_type" (e.g. "LORA")`);
  try {
    const method = getAdapterMethodByPeftType(config.peft_type);
    method.normalizeConfig({ ...config });
  } catch (e) {
    throw new CliError(`${source}: ${(e as Error).message}`);
  }
  return config;
}

/** Read a PEFT config (adapter_config.json style) from a JSON file. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new CliError(`config file '${path}' does not exist`);
  if (!st.isFile()) throw new CliError(`config path '${path}' is not a file`);
  const text = await readFile(path, 'utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CliError(`config file '${path}' is not valid JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new CliError(`config file '${path}' must hold a JSON object (a PEFT config)`);
  return validateConfig(v as Record<string, unknown>, `config file '${path}'`);
}

/** The adapter hyperparameters given on the command line (--r, --alpha, --dropout, --target-modules). */
function overrides(values: Parsed['values']) {
  const r = num(values, 'r', 8, { int: true, min: 1 });
  const alpha = num(values, 'alpha', 2 * r, { exclusiveMin: true, min: 0 });
  const dropout = num(values, 'dropout', 0.05, { min: 0, max: 0.99 });
  const tm = str(values, 'target-modules');
  const targetModules =
    tm === undefined
      ? undefined
      : tm === 'all-linear'
        ? 'all-linear'
        : tm
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
  if (Array.isArray(targetModules) && targetModules.length === 0) throw new CliError('--target-modules is empty');
  // the run's optimizer steps, for presets with a schedule (unknown when training by --epochs)
  const totalSteps =
    str(values, 'steps') === undefined && str(values, 'epochs') !== undefined
      ? undefined
      : num(values, 'steps', TRAIN_DEFAULTS.steps, { int: true, min: 1 });
  return { r, alpha, dropout, targetModules, taskType: 'CAUSAL_LM', totalSteps };
}

/**
 * One method by name ("lora", "dora", any registered method) or by PEFT config file (a path ending in .json),
 * with the command line's adapter hyperparameters applied to named methods.
 */
export async function resolveMethod(entry: string, values: Parsed['values']): Promise<MethodSpec> {
  if (entry.endsWith('.json')) return { name: basename(entry, '.json'), config: await readConfigFile(entry) };
  const available = availableMethods();
  if (!available.includes(entry)) {
    throw new CliError(
      `unknown method '${entry}' (available: ${available.join(', ')}; or a PEFT config file ending in .json)`,
    );
  }
  return { name: entry, config: validateConfig(defaultMethodConfig(entry, overrides(values)), `method '${entry}'`) };
}

/** Every method of a `--methods` list: comma-separated names / .json config paths, or "all" (every available one). */
export async function resolveMethods(list: string, values: Parsed['values']): Promise<MethodSpec[]> {
  const entries =
    list === 'all'
      ? availableMethods()
      : list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
  if (entries.length === 0) throw new CliError('--methods is empty (e.g. --methods lora,dora or --methods all)');
  const out: MethodSpec[] = [];
  for (const e of entries) {
    const spec = await resolveMethod(e, values);
    if (out.some((m) => m.name === spec.name)) throw new CliError(`method '${spec.name}' is listed twice`);
    out.push(spec);
  }
  return out;
}
