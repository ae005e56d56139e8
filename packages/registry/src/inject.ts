import type { Module } from '@peftjs/nn';
import type { TunerConfig } from './config.js';
import { PeftConfigError, PeftError } from './errors.js';
import { AdapterLayer } from './layer.js';
import type { AdapterMethod, InjectionTarget, ModelInfo } from './method.js';
import type { TunerModel } from './roots.js';
import { candidateModules, describeTargetable, matchesTarget } from './targets.js';

/** A model's output heads: never targeted by `"all-linear"` (PEFT excludes the output embedding / classifier). */
function outputHeads(model: Module, config: TunerConfig): string[] {
  const named = (model as unknown as { outputHeadNames?: () => string[] }).outputHeadNames?.();
  if (named) return named;
  return config.task_type === 'SEQ_CLS' ? ['lm_head', 'classifier', 'score'] : ['lm_head'];
}

/**
 * PEFT's `BaseTuner.inject_adapter` for one adapter: fill default targets, match target modules, let the method
 * see all of them (`prepareInjection`), then wrap each (`createLayer`) or add the adapter to an existing layer.
 * The caller removes partial work on error.
 */
export function injectTuner(
  model: Module,
  root: TunerModel,
  method: AdapterMethod,
  config: TunerConfig,
  adapterName: string,
  info: ModelInfo,
  budget: ElementBudget,
): void {
  const targetable = () => describeTargetable(model, (m) => method.canAdapt(m));
  if (config.target_modules === null || config.target_modules === undefined) {
    const defaults = method.defaultTargets?.(info.modelType);
    if (!defaults) {
      throw new PeftConfigError(
        'target_modules',
        `is required for this model (no default for model_type '${info.modelType ?? 'unknown'}'); targetable modules: ${targetable()}`,
      );
    }
    config.target_modules = defaults;
  }
  const heads = outputHeads(model, config);
  const saveNames = config.modules_to_save ?? [];
  const targets: InjectionTarget[] = [];
  for (const [key, module] of candidateModules(model)) {
    if (saveNames.some((s) => key.endsWith(s)) && !(module instanceof AdapterLayer)) continue;
    const target = module instanceof AdapterLayer ? module.baseLayer : module;
    if (!matchesTarget(config, key, target, heads)) continue;
    if (method.canAdapt(target)) {
      targets.push({ path: key, module: target });
    } else if (typeof config.target_modules !== 'string') {
      throw new PeftConfigError(
        'target_modules',
        `module '${key}' is a ${target.typeName}, which ${method.name} cannot adapt (it adapts ${method.supportedModules.join(', ')})`,
      );
    }
  }
  if (targets.length === 0) {
    throw new PeftConfigError(
      'target_modules',
      `${JSON.stringify(config.target_modules)} matched no module of the model${config.layers_to_transform != null ? ` (with layers_to_transform ${JSON.stringify(config.layers_to_transform)})` : ''}; targetable modules: ${targetable()}`,
    );
  }
  const plans = guarded(method, 'the adapter', () =>
    method.prepareInjection?.(targets, config, { adapterName, model: info, shared: root }),
  );
  budget.spend(
    root.sharedOf(adapterName).reduce((n, [, dict]) => n + dict.get(adapterName).size, 0),
    'shared state',
  );
  for (const { path } of targets) {
    const ctx = { path, adapterName, modelType: info.modelType, shared: root, plan: plans?.get(path) };
    const current = model.getSubmodule(path);
    const layer = guarded(method, `'${path}'`, () => {
      if (current instanceof AdapterLayer) {
        current.addAdapter(adapterName, config, ctx);
        return current;
      }
      const created = method.createLayer(current, config, ctx);
      model.setSubmodule(path, created);
      return created;
    });
    budget.spend(
      layer.adapterSlots(adapterName).reduce((n, s) => n + s.owner.param(s.param).size, 0),
      `'${path}'`,
    );
  }
}

/**
 * A cap on the elements an adapter may create, when its size is known beforehand (loading a file: the file says
 * how large the adapter is). It turns an absurd config (`r: 1e7` next to r-8 tensors) into a typed error after the
 * first oversized layer instead of exhausting memory.
 */
export class ElementBudget {
  private used = 0;
  constructor(readonly limit: number = Number.POSITIVE_INFINITY) {}
  spend(elements: number, where: string): void {
    this.used += elements;
    if (this.used > this.limit) {
      throw new PeftConfigError(
        'config',
        `the adapter's sizes (${this.used.toLocaleString('en-US')} elements by ${where}) exceed what its weights file holds (${this.limit.toLocaleString('en-US')} allowed): a size field such as r does not match the tensors`,
      );
    }
  }
}

/** Run a method's code; an error that is not already a PeftError (an allocation failure, say) becomes one. */
export function guarded<T>(method: AdapterMethod, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PeftError) throw e;
    throw new PeftError(`${method.name}: cannot build ${what}: ${(e as Error)?.message ?? String(e)}`);
  }
}
