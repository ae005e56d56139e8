import { isLinearLike, type Module } from '@peftjs/nn';
import type { TunerConfig } from './config.js';
import { PeftConfigError } from './errors.js';
import { AdapterLayer, ModulesToSaveWrapper } from './layer.js';

/**
 * PEFT's module matching (`check_target_module_exists`): a list matches on dot-boundary suffixes, a string is a
 * regex that must match the whole name, `"all-linear"` selects every Linear / Conv1D but the output head.
 */
export function matchesTarget(
  config: TunerConfig,
  key: string,
  module: Module,
  outputHeads: readonly string[],
): boolean {
  const exclude = config.exclude_modules;
  if (exclude) {
    if (
      typeof exclude === 'string' ? fullMatch(exclude, key) : exclude.some((e) => key === e || key.endsWith(`.${e}`))
    ) {
      return false;
    }
  }
  for (const m of config.modules_to_save ?? []) {
    if (new RegExp(`(^|.*\\.)${escapeRegex(m)}($|\\..*)`).test(key)) return false;
  }
  const targets = config.target_modules;
  if (targets === null || targets === undefined) return false;
  if (typeof targets === 'string') {
    if (targets.toLowerCase() === 'all-linear') {
      if (!isLinearLike(module)) return false;
      const last = key.split('.').pop()!;
      return !outputHeads.includes(key) && !outputHeads.includes(last);
    }
    return fullMatch(targets, key);
  }
  if (!targets.some((t) => key === t || key.endsWith(`.${t}`))) return false;
  const layers = config.layers_to_transform;
  if (layers === null || layers === undefined) return true;
  const index = layerIndex(key, config.layers_pattern);
  if (index === null) return false;
  return typeof layers === 'number' ? index === layers : layers.includes(index);
}

/** The layer index PEFT reads from the first numbered path segment (after `layers_pattern` if given). */
export function layerIndex(key: string, pattern: string[] | string | null | undefined): number | null {
  const patterns =
    pattern === null || pattern === undefined ? [null] : typeof pattern === 'string' ? [pattern] : pattern;
  for (const p of patterns) {
    const re = p === null ? /^.*?\.[^.]*\.(\d+)\./ : new RegExp(`^.*?\\.${p}\\.(\\d+)\\.`);
    const m = re.exec(key);
    if (m) return Number(m[1]);
  }
  return null;
}

function fullMatch(pattern: string, key: string): boolean {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new PeftConfigError('target_modules', `invalid regular expression '${pattern}': ${(e as Error).message}`);
  }
  return re.test(key);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Names (relative to the model) of modules that are candidates for targeting: not inside adapter layers. */
export function candidateModules(model: Module): [string, Module][] {
  const out: [string, Module][] = [];
  const walk = (m: Module, prefix: string) => {
    for (const [name, child] of m.namedChildren()) {
      const key = prefix ? `${prefix}.${name}` : name;
      out.push([key, child]);
      // PEFT never targets the inside of an existing tuner layer or modules_to_save wrapper.
      if (!(child instanceof AdapterLayer || child instanceof ModulesToSaveWrapper)) walk(child, key);
    }
  };
  walk(model, '');
  return out;
}

/** A short, readable list of the model's module-name suffixes that a config could target. */
export function describeTargetable(model: Module, canAdapt: (m: Module) => boolean): string {
  const suffixes = new Set<string>();
  for (const [key, m] of candidateModules(model)) {
    if (m instanceof AdapterLayer) continue;
    if (canAdapt(m)) suffixes.add(key.split('.').pop()!);
  }
  return [...suffixes].sort().join(', ') || '(none)';
}
