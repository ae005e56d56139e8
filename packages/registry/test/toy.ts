/**
 * A tiny PEFT method written against the public interface, used to exercise the registry machinery:
 * "SHIFT": y = base(x) + shift_vector[adapter] (a trainable per-output vector). Merging adds the vector to the base
 * bias. Plus a small model built from @peftjs/nn modules.
 */
import { Conv1D, Linear, Module, ModuleList, ParameterDict } from '@peftjs/nn';
import { add, full, noGrad, sub, type Tensor } from '@peftjs/tensor';
import {
  AdapterLayer,
  type AdapterMethod,
  type AdapterSlot,
  field,
  isNumber,
  normalizeTunerFields,
  PeftError,
  type TargetContext,
  type TunerConfig,
} from '../src/index.js';

export interface ShiftConfig extends TunerConfig {
  peft_type: 'SHIFT';
  init_value?: number;
  bias?: string;
}

export class ShiftLayer extends AdapterLayer {
  constructor(base: Linear, config: ShiftConfig, ctx: TargetContext) {
    super(base);
    this.registerModule('shift_vector', new ParameterDict());
    this.addAdapter(ctx.adapterName, config);
  }
  get vectors(): ParameterDict {
    return this.child<ParameterDict>('shift_vector');
  }
  addAdapter(name: string, config: unknown): void {
    const out = (this.baseLayer as unknown as Linear).outFeatures;
    const t = full([out], (config as ShiftConfig).init_value ?? 0);
    t.requiresGrad = true;
    this.vectors.set(name, t);
    this.adapterNames.push(name);
  }
  deleteAdapter(name: string): void {
    this.vectors.delete(name)?.dispose();
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
  }
  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    return [{ key: 'shift_vector', owner: this.vectors, param: name }];
  }
  forward(x: Tensor): Tensor {
    let y = this.baseLayer.forward(x);
    for (const a of this.adaptersToApply()) y = add(y, this.vectors.get(a));
    return y;
  }
  private shiftBias(name: string, sign: 1 | -1): void {
    const base = this.baseLayer;
    const old = base.param('bias');
    const next = noGrad(() => (sign > 0 ? add(old, this.vectors.get(name)) : sub(old, this.vectors.get(name))));
    next.requiresGrad = old.requiresGrad;
    base.setParameter('bias', next);
    old.dispose();
  }
  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const n of names) {
      if (this.mergedAdapters.includes(n)) continue;
      this.shiftBias(n, 1);
      this.mergedAdapters.push(n);
    }
  }
  override unmerge(): void {
    while (this.mergedAdapters.length) this.shiftBias(this.mergedAdapters.pop()!, -1);
  }
}

export const shiftMethod: AdapterMethod<ShiftConfig> = {
  name: 'shift',
  peftType: 'SHIFT',
  supportedModules: ['Linear'],
  normalizeConfig: (raw) => {
    if (raw.peft_type !== 'SHIFT') throw new PeftError('not SHIFT');
    return {
      ...normalizeTunerFields(raw),
      peft_type: 'SHIFT',
      init_value: field(raw, 'init_value', 0, isNumber, 'a number'),
      bias: field(raw, 'bias', 'none', (v) => v === 'none' || v === 'all' || v === 'shift_only', 'a bias mode'),
    };
  },
  toJSON: (c) => ({
    peft_type: 'SHIFT',
    target_modules: c.target_modules ?? null,
    modules_to_save: c.modules_to_save ?? null,
    layers_to_transform: c.layers_to_transform ?? null,
    layers_pattern: c.layers_pattern ?? null,
    exclude_modules: c.exclude_modules ?? null,
    init_value: c.init_value,
    bias: c.bias,
    task_type: c.task_type ?? null,
  }),
  canAdapt: (m) => m instanceof Linear,
  createLayer: (m, c, ctx) => new ShiftLayer(m as Linear, c, ctx),
  defaultTargets: (modelType) => (modelType === 'toy' ? ['gate'] : undefined),
};

/** gate(proj(x)), both Linear(4, 4). */
export class Block extends Module {
  constructor() {
    super();
    this.registerModule('proj', new Linear(4, 4));
    this.registerModule('gate', new Linear(4, 4));
  }
  forward(x: Tensor): Tensor {
    return this.callLayer('gate', this.callLayer('proj', x));
  }
}

/** layers.1(layers.0(x)). */
export class Body extends Module {
  constructor() {
    super();
    this.registerModule('layers', new ModuleList([new Block(), new Block()]));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const b of this.child<ModuleList<Block>>('layers')) h = b.forward(h);
    return h;
  }
}

/**
 * head(body(x)) with paths like Hugging Face models (`body.layers.0.proj`), head Linear(4, 3). `mix` is a GPT-2
 * Conv1D(4, 4) that forward does not use (a module SHIFT cannot adapt). Parameters: 4 × Linear(4,4) = 80, head 15,
 * mix 20 → 115.
 */
export class Net extends Module {
  config?: { model_type: string };
  constructor(modelType?: string) {
    super();
    this.registerModule('body', new Body());
    this.registerModule('head', new Linear(4, 3));
    this.registerModule('mix', new Conv1D(4, 4));
    if (modelType) this.config = { model_type: modelType };
  }
  forward(x: Tensor): Tensor {
    return this.callLayer('head', this.callLayer('body', x));
  }
}
export const NET_PARAMS = 115;

/** The base weights of a Net by module path, as float64 arrays (read before any adapter is added). */
export function baseWeights(net: Module): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of net.namedParameters()) out[k] = Array.from(t.dataSync(), Number);
  return out;
}
