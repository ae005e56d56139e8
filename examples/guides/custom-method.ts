// "Shared gate": a small method written as a third-party package against the public interface of
// @peftjs/registry, using its hooks. Importing this file registers it. Guide: docs/guides/writing-a-method.md.
//
//   every target layer:  y = base(x) ⊙ (1 + g)     one gate g: [hidden] for the WHOLE adapter, shared by all layers
//
// Hooks used: prepareConfig (gate size from the model config), prepareInjection (sees every target, creates the
// shared gate on the tuner root), onTrainStep (clamps the gate after each optimizer step), and
// transformStateForSave / transformStateForLoad (the file stores 1 + g). Saved key: base_model.shared_gate.
import { isLinearLike, type LinearLike, type Module } from '@peftjs/nn';
import {
  AdapterLayer,
  type AdapterMethod,
  type AdapterSlot,
  field,
  isNumber,
  normalizeTunerFields,
  PeftConfigError,
  type PresetOptions,
  registerAdapter,
  registerPreset,
  type SharedState,
  type TargetContext,
  type TunerConfig,
} from '@peftjs/registry';
import { add, composite, maximum, minimum, mul, noGrad, sub, type Tensor, tidy, zeros } from '@peftjs/tensor';

/** The shared tensor's name: held on the tuner root as `shared_gate.<adapter>`, saved as `base_model.shared_gate`. */
export const GATE = 'shared_gate';

export interface SharedGateConfig extends TunerConfig {
  peft_type: 'SHARED_GATE';
  /** Gate size: the model's hidden size (filled from the model config when left out). */
  gate_dim?: number | null;
  /** After every optimizer step the gate is clamped to [−max_gate, max_gate]. */
  max_gate?: number;
}

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    'shared-gate': SharedGateConfig;
  }
}

/** A layer that owns no tensor of its own: it reads the adapter's gate from the root at every forward. */
export class SharedGateLayer extends AdapterLayer {
  private readonly shared: SharedState;

  constructor(base: Module, _config: SharedGateConfig, ctx: TargetContext) {
    super(base);
    this.shared = ctx.shared;
    this.addAdapter(ctx.adapterName);
  }

  addAdapter(name: string): void {
    this.adapterNames.push(name);
  }
  deleteAdapter(name: string): void {
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
  }
  /** Nothing per layer: the gate is root state, which the registry saves once. */
  adapterSlots(): AdapterSlot[] {
    return [];
  }

  forward(x: Tensor): Tensor {
    const base = this.baseLayer as unknown as LinearLike;
    const adapters = this.adaptersToApply();
    if (adapters.length === 0) return base.forward(x);
    return composite(() => {
      let y = base.forward(x);
      // Looked up now, not kept: loading replaces the root's tensor, and this is what ties every layer to it.
      for (const a of adapters) y = mul(y, add(this.shared.get(a, GATE), 1));
      return y;
    });
  }
}

export const sharedGateMethod: AdapterMethod<SharedGateConfig> = {
  name: 'shared-gate',
  peftType: 'SHARED_GATE',
  supportedModules: ['Linear', 'Conv1D', 'quantized linear layers (any LinearLike) with hidden-size outputs'],
  normalizeConfig: (raw) => ({
    ...normalizeTunerFields(raw),
    peft_type: 'SHARED_GATE',
    gate_dim: field(raw, 'gate_dim', null, isNumber, 'a number'),
    max_gate: field(raw, 'max_gate', 0.5, isNumber, 'a number'),
  }),
  toJSON: (c) => ({
    peft_type: 'SHARED_GATE',
    task_type: c.task_type ?? null,
    target_modules: c.target_modules ?? null,
    gate_dim: c.gate_dim ?? null,
    max_gate: c.max_gate ?? 0.5,
  }),
  canAdapt: (m) => isLinearLike(m),
  createLayer: (m, config, ctx) => new SharedGateLayer(m, config, ctx),

  // 1. The model's config completes ours (PEFT: _prepare_adapter_config).
  prepareConfig(config, model) {
    const hidden = model.config.hidden_size;
    if (config.gate_dim == null && typeof hidden !== 'number')
      throw new PeftConfigError('gate_dim', 'is required: the model config has no hidden_size');
    return { ...config, gate_dim: config.gate_dim ?? (hidden as number) };
  },

  // 2. Every target at once, before any layer exists (PEFT: _pre_injection_hook): check them, create the gate.
  prepareInjection(targets, config, ctx) {
    for (const t of targets) {
      const out = (t.module as unknown as LinearLike).outFeatures;
      if (out !== config.gate_dim)
        throw new PeftConfigError('target_modules', `'${t.path}' has ${out} outputs, the gate ${config.gate_dim}`);
    }
    const gate = zeros([config.gate_dim!]); // starts as the identity, like LoRA's zero B
    gate.requiresGrad = true;
    ctx.shared.register(ctx.adapterName, GATE, gate);
    return undefined;
  },

  // 3. After each optimizer step, before gradients are zeroed (AdaLoRA allocates ranks here).
  onTrainStep(ctx) {
    const m = ctx.config.max_gate ?? 0.5;
    const gate = ctx.shared!.get(ctx.adapterName, GATE);
    ctx.shared!.set(
      ctx.adapterName,
      GATE,
      noGrad(() => tidy(() => maximum(minimum(gate, m), -m))),
    );
  },

  // 4. What the file holds differs from what the model holds (VB-LoRA's top-k format, AdaLoRA's cut ranks).
  transformStateForSave: (state) => mapKey(state, `base_model.${GATE}`, (g) => add(g, 1)),
  transformStateForLoad: (state) => mapKey(state, `base_model.${GATE}`, (g) => sub(g, 1)),
};

function mapKey(state: Readonly<Record<string, Tensor>>, key: string, fn: (t: Tensor) => Tensor) {
  const out: Record<string, Tensor> = { ...state };
  if (state[key]) out[key] = noGrad(() => fn(state[key]!));
  return out;
}

registerAdapter(sharedGateMethod);
// How the trainer's comparison, `recommend()` and `peftjs train --method shared-gate` build its config.
registerPreset({
  name: 'shared-gate',
  method: 'shared-gate',
  summary: 'one learned gate on the hidden features, shared by every adapted layer',
  config: (o: PresetOptions) => ({
    peft_type: 'SHARED_GATE',
    target_modules: ['o_proj', 'down_proj'],
    ...(o.taskType ? { task_type: o.taskType } : {}),
  }),
  learningRate: () => 1e-2,
});
