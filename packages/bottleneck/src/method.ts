import { isLinearLike, type Module } from '@peftjs/nn';
import {
  type AdapterMethod,
  type MethodPreset,
  PeftConfigError,
  type PresetOptions,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import {
  BOTTLENECK_PEFT_TYPE,
  type BottleneckConfig,
  bottleneckConfig,
  bottleneckConfigToJSON,
  normalizeBottleneckConfig,
  type ResolvedBottleneckConfig,
} from './config.js';
import { type BottleneckLocation, BottleneckHeadLayer, BottleneckLayer, type BottleneckPlan } from './layer.js';
import { locate, placementFor, targetRegex } from './placements.js';

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    bottleneck: BottleneckConfig;
  }
}

/**
 * A model's residual connection as `@peftjs/models` exposes it (a `ResidualAdd`): a parameterless module whose
 * `forward(output, residual, norm?)` closes a sublayer. Recognised by shape, so the method needs no model classes.
 */
export function isResidualConnection(m: Module): boolean {
  const s = (m as unknown as { sublayer?: unknown }).sublayer;
  return (s === 'attention' || s === 'feed_forward') && m.parameters().length === 0;
}

function hiddenSizeOf(config: Readonly<Record<string, unknown>>): number {
  const h = config.hidden_size ?? config.n_embd ?? config.d_model;
  if (typeof h !== 'number' || !Number.isInteger(h) || h <= 0)
    throw new PeftConfigError('hidden_size', "the model's config gives no hidden size");
  return h;
}

/** The bottleneck method (registry peft_type "BOTTLENECK"). Registered when `@peftjs/bottleneck` is imported. */
export const bottleneckMethod: AdapterMethod<ResolvedBottleneckConfig> = {
  name: 'bottleneck',
  peftType: BOTTLENECK_PEFT_TYPE,
  kind: 'tuner',
  supportedModules: ['ResidualAdd (a block residual connection)', 'Linear (the prediction head)'],
  normalizeConfig: normalizeBottleneckConfig,
  toJSON: bottleneckConfigToJSON,
  canAdapt: (m) => isResidualConnection(m) || isLinearLike(m),
  // Placement is AdapterHub's, per architecture: the targets are derived from mh_adapter / output_adapter / leave_out.
  prepareConfig(config, model) {
    const locations: BottleneckLocation[] = [];
    if (config.mh_adapter) locations.push('mh_adapter');
    if (config.output_adapter) locations.push('output_adapter');
    return { ...config, target_modules: targetRegex(placementFor(model.modelType), locations, config.leave_out) };
  },
  prepareInjection(targets, _config, ctx) {
    const placement = placementFor(ctx.model.modelType);
    const hiddenSize = hiddenSizeOf(ctx.model.config);
    // Residual connections hold no parameters; new ones go where the model's other targets live.
    const backend = targets.flatMap((t) => t.module.parameters())[0]?.backend;
    const plans = new Map<string, unknown>();
    for (const t of targets) {
      const at = locate(placement, t.path);
      if (at) plans.set(t.path, { ...at, hiddenSize, backend } satisfies BottleneckPlan);
    }
    if (plans.size === 0) throw new PeftConfigError('leave_out', 'leaves no layer with a bottleneck adapter');
    return plans;
  },
  createLayer: (m, config, ctx) =>
    ctx.plan ? new BottleneckLayer(m, config, ctx) : new BottleneckHeadLayer(m, config, ctx),
};

function presetConfig(name: 'seq_bn' | 'double_seq_bn', o: PresetOptions): Record<string, unknown> {
  return {
    // The LoRA-style options (r, alpha, dropout, target modules) have no bottleneck meaning: AdapterHub's defaults hold.
    ...bottleneckConfig(name),
    ...(o.taskType ? { task_type: o.taskType } : {}),
  };
}

/** "bottleneck": Pfeiffer (AdapterHub's `seq_bn`), one adapter after each feed-forward block. */
export const bottleneckPreset: MethodPreset = {
  name: 'bottleneck',
  method: 'bottleneck',
  summary:
    'bottleneck adapter (Pfeiffer, AdapterHub seq_bn): down-project, ReLU, up-project after each feed-forward block',
  config: (o) => presetConfig('seq_bn', o),
  matches: (c) => c.peft_type === BOTTLENECK_PEFT_TYPE && c.mh_adapter !== true,
};

/** "houlsby": Houlsby (AdapterHub's `double_seq_bn`), adapters after attention and after the feed-forward block. */
export const houlsbyPreset: MethodPreset = {
  name: 'houlsby',
  method: 'bottleneck',
  summary: 'bottleneck adapters (Houlsby, AdapterHub double_seq_bn) after attention and after each feed-forward block',
  config: (o) => presetConfig('double_seq_bn', o),
  matches: (c) => c.peft_type === BOTTLENECK_PEFT_TYPE && c.mh_adapter === true,
};

let registered = false;
/** Register the method and its presets (idempotent; done on import). */
export function registerBottleneck(): void {
  if (registered) return;
  registered = true;
  registerAdapter(bottleneckMethod);
  registerPreset(bottleneckPreset);
  registerPreset(houlsbyPreset);
}
