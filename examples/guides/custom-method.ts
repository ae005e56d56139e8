// IA³ (Liu et al. 2022, PEFT's IA3Config) written as a third-party method against the public interface of
// @peftjs/registry. Importing this file registers it. Guide: docs/guides/writing-a-method.md.
//
//   non-feedforward target (k_proj, v_proj):  y = base(x) ⊙ l,   l: [out, 1], saved as <path>.ia3_l
//   feedforward target (down_proj):           y = base(x ⊙ l),   l: [1, in]
import { Linear, type Module, ParameterDict } from '@peftjs/nn';
import {
  AdapterLayer,
  type AdapterMethod,
  type AdapterSlot,
  field,
  isBool,
  isStringOrList,
  normalizeTunerFields,
  PeftConfigError,
  registerAdapter,
  type TargetContext,
  type TunerConfig,
} from '@peftjs/registry';
import { full, mul, noGrad, reshape, type Tensor } from '@peftjs/tensor';

export interface IA3Config extends TunerConfig {
  peft_type: 'IA3';
  /** Targets whose input (not output) is scaled: a list (suffix match) or a regex (full match), as in PEFT. */
  feedforward_modules?: string[] | string | null;
  /** `true`: l = 1, so training starts from the base model. `false`: l = 0 (debugging only). */
  init_ia3_weights?: boolean;
  fan_in_fan_out?: boolean;
}

// Declaration merging: getPeftModel(model, { peft_type: 'IA3', … }) is now type-checked.
declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    ia3: IA3Config;
  }
}

/** PEFT's rule for `feedforward_modules`: a regex must match the whole path, a list entry must end it. */
function isFeedforward(config: IA3Config, path: string): boolean {
  const ff = config.feedforward_modules;
  if (ff == null) return false;
  if (typeof ff === 'string') return new RegExp(`^(?:${ff})$`).test(path);
  return ff.some((name) => path.endsWith(name));
}

export class IA3Layer extends AdapterLayer {
  readonly feedforward: boolean;

  constructor(base: Linear, config: IA3Config, ctx: TargetContext) {
    super(base);
    this.feedforward = isFeedforward(config, ctx.path);
    this.registerModule('ia3_l', new ParameterDict()); // parameter names: <path>.ia3_l.<adapter>
    this.addAdapter(ctx.adapterName, config);
  }

  private get linear(): Linear {
    return this.baseLayer as unknown as Linear;
  }

  addAdapter(name: string, config: unknown): void {
    const { inFeatures, outFeatures } = this.linear;
    const shape = this.feedforward ? [1, inFeatures] : [outFeatures, 1]; // PEFT's shapes: files must match
    const init = (config as IA3Config).init_ia3_weights === false ? 0 : 1;
    const l = full(shape, init, { backend: this.linear.param('weight').backend });
    l.requiresGrad = true;
    this.child<ParameterDict>('ia3_l').set(name, l);
    this.adapterNames.push(name);
  }

  deleteAdapter(name: string): void {
    this.child<ParameterDict>('ia3_l').delete(name)?.dispose();
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
  }

  /** One saved tensor per adapter: base_model.model.<path>.ia3_l (PEFT drops the adapter name). */
  adapterSlots(name: string): AdapterSlot[] {
    return [{ key: 'ia3_l', owner: this.child('ia3_l'), param: name }];
  }

  /** The product of the given adapters' vectors, flattened ([in] or [out]). */
  private scaling(names: readonly string[]): Tensor | null {
    let s: Tensor | null = null;
    for (const a of names) {
      const l = reshape(this.child<ParameterDict>('ia3_l').get(a), [-1]);
      s = s ? mul(s, l) : l;
    }
    return s;
  }

  forward(x: Tensor): Tensor {
    const s = this.scaling(this.adaptersToApply());
    if (!s) return this.linear.forward(x);
    return this.feedforward ? this.linear.forward(mul(x, s)) : mul(this.linear.forward(x), s);
  }

  /** W ← W ⊙ l (rows for outputs, columns for inputs); a non-feedforward bias is scaled too, as in PEFT. */
  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const a of names) {
      this.requireAdapter(a);
      if (this.mergedAdapters.includes(a)) continue;
      this.rescale(a, (w, l) => mul(w, l));
      this.mergedAdapters.push(a);
    }
  }

  /** W ← W / (l + 1e-8), last merged first (PEFT's unmerge). */
  override unmerge(): void {
    while (this.mergedAdapters.length) {
      const a = this.mergedAdapters.pop()!;
      this.rescale(a, (w, l) => w.div(l.add(1e-8)));
    }
  }

  private rescale(adapter: string, op: (w: Tensor, l: Tensor) => Tensor): void {
    const l = this.child<ParameterDict>('ia3_l').get(adapter); // [out, 1] or [1, in]: broadcasts over W [out, in]
    const targets = this.feedforward ? ['weight'] : ['weight', 'bias'];
    for (const name of targets) {
      const old = this.linear.optionalParam(name);
      if (!old) continue;
      const next = noGrad(() => (name === 'bias' ? op(old, reshape(l, [-1])) : op(old, l)));
      next.requiresGrad = old.requiresGrad;
      this.linear.setParameter(name, next);
      old.dispose();
    }
  }
}

export const ia3Method: AdapterMethod<IA3Config> = {
  name: 'ia3', // registry key, and the key in AdapterConfigMap
  peftType: 'IA3', // adapter_config.json's peft_type
  supportedModules: ['Linear'],
  normalizeConfig(raw) {
    const config: IA3Config = {
      ...normalizeTunerFields(raw),
      peft_type: 'IA3',
      feedforward_modules: field(raw, 'feedforward_modules', null, isStringOrList, 'a list of names or a regex'),
      init_ia3_weights: field(raw, 'init_ia3_weights', true, isBool, 'a boolean'),
      fan_in_fan_out: field(raw, 'fan_in_fan_out', false, isBool, 'a boolean'),
    };
    if (config.fan_in_fan_out) throw new PeftConfigError('fan_in_fan_out', 'only Linear targets (false) are supported');
    const targets = config.target_modules;
    const ff = config.feedforward_modules;
    if (Array.isArray(targets) && Array.isArray(ff) && !ff.every((m) => targets.includes(m))) {
      throw new PeftConfigError('feedforward_modules', 'must be a subset of target_modules');
    }
    return config;
  },
  toJSON: (c) => ({
    peft_type: 'IA3',
    task_type: c.task_type ?? null,
    target_modules: c.target_modules ?? null,
    exclude_modules: c.exclude_modules ?? null,
    feedforward_modules: c.feedforward_modules ?? null,
    modules_to_save: c.modules_to_save ?? null,
    fan_in_fan_out: c.fan_in_fan_out ?? false,
    init_ia3_weights: c.init_ia3_weights ?? true,
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    revision: c.revision ?? null,
  }),
  canAdapt: (m: Module) => m instanceof Linear,
  createLayer: (m, c, ctx) => new IA3Layer(m as Linear, c, ctx),
  // PEFT's defaults for target_modules: null (TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING, llama only here)
  defaultTargets: (modelType) => (modelType === 'llama' ? ['k_proj', 'v_proj', 'down_proj'] : undefined),
};

registerAdapter(ia3Method);
