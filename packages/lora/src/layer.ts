import {
  Dropout,
  Embedding,
  Identity,
  isLinearLike,
  type LayerModule,
  Linear,
  type LinearLike,
  type Module,
  ModuleDict,
  ParameterDict,
} from '@peftjs/nn';
import { AdapterLayer, type AdapterSlot, PeftConfigError, type TargetContext } from '@peftjs/registry';
import {
  add,
  addScaled,
  composite,
  embedding,
  kaimingUniform,
  matmul,
  mul,
  noGrad,
  randn,
  sub,
  type Tensor,
  transpose,
  uniform,
  zeros,
} from '@peftjs/tensor';
import { patternValue, type ResolvedLoraConfig } from './config.js';
import { type LoraVariant, variantFor } from './variant.js';

/**
 * The kinds of module LoRA adapts: any linear layer (`LinearLike`: Linear, quantized linears), one whose weight is
 * stored [in, out] (GPT-2's Conv1D, PEFT's `fan_in_fan_out`), and Embedding.
 */
export type LoraTargetKind = 'linear' | 'conv1d' | 'embedding';

export function loraTargetKind(m: Module): LoraTargetKind | null {
  if (isLinearLike(m)) return m.fanInFanOut ? 'conv1d' : 'linear';
  if (m instanceof Embedding) return 'embedding';
  return null;
}

/**
 * A Linear, GPT-2 Conv1D or Embedding with LoRA adapters (PEFT's `lora.Linear` / `lora.Embedding`):
 * y = base(x) + B(A(dropout(x)))·scaling for each active adapter. Parameter names follow PEFT
 * (`base_layer.weight`, `lora_A.<adapter>.weight`, `lora_embedding_A.<adapter>`, …).
 */
export class LoraLayer extends AdapterLayer {
  readonly kind: LoraTargetKind;
  /** Input features (Embedding: number of embeddings). */
  readonly inFeatures: number;
  /** Output features (Embedding: embedding dim). */
  readonly outFeatures: number;
  private readonly ranks = new Map<string, number>();
  private readonly scalings = new Map<string, number>();
  private readonly configs = new Map<string, ResolvedLoraConfig>();
  private readonly variantOf = new Map<string, LoraVariant | null>();

  constructor(base: Module, config: ResolvedLoraConfig, ctx: TargetContext) {
    super(base);
    const kind = loraTargetKind(base);
    if (!kind)
      throw new PeftConfigError(
        'target_modules',
        `'${ctx.path}' is a ${base.typeName}; LoRA adapts Linear, Conv1D and Embedding`,
      );
    this.kind = kind;
    if (base instanceof Embedding) {
      this.inFeatures = base.numEmbeddings;
      this.outFeatures = base.embeddingDim;
      this.registerModule('lora_embedding_A', new ParameterDict());
      this.registerModule('lora_embedding_B', new ParameterDict());
    } else {
      const b = base as LinearLike;
      this.inFeatures = b.inFeatures;
      this.outFeatures = b.outFeatures;
      this.registerModule('lora_dropout', new ModuleDict());
      this.registerModule('lora_A', new ModuleDict<Linear>());
      this.registerModule('lora_B', new ModuleDict<Linear>());
    }
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  /** Rank of `adapter` (after rank_pattern). */
  rank(adapter: string): number {
    this.requireAdapter(adapter);
    return this.ranks.get(adapter)!;
  }
  /** lora_alpha / r (or / √r) of `adapter`. */
  scaling(adapter: string): number {
    this.requireAdapter(adapter);
    return this.scalings.get(adapter)!;
  }
  config(adapter: string): ResolvedLoraConfig {
    this.requireAdapter(adapter);
    return this.configs.get(adapter)!;
  }
  /** lora_A of `adapter`: [r, in] (Embedding: [r, num_embeddings]). */
  loraA(adapter: string): Tensor {
    return this.kind === 'embedding'
      ? this.child<ParameterDict>('lora_embedding_A').get(adapter)
      : this.child<ModuleDict<Linear>>('lora_A').get(adapter).weight;
  }
  /** lora_B of `adapter`: [out, r] (Embedding: [dim, r]). */
  loraB(adapter: string): Tensor {
    return this.kind === 'embedding'
      ? this.child<ParameterDict>('lora_embedding_B').get(adapter)
      : this.child<ModuleDict<Linear>>('lora_B').get(adapter).weight;
  }
  /** The adapter's input dropout (identity when lora_dropout is 0 or in eval mode). */
  dropout(adapter: string, x: Tensor): Tensor {
    if (this.kind === 'embedding') return x; // PEFT's Embedding LoRA ignores dropout
    return this.child<ModuleDict<LayerModule>>('lora_dropout').get(adapter).forward(x);
  }
  /** Whether the adapter's dropout is active now (p > 0 and training). */
  dropoutActive(adapter: string): boolean {
    return this.kind !== 'embedding' && this.training && this.config(adapter).lora_dropout > 0;
  }
  /** B(A(x)) without scaling, for the input as given (no dropout applied here). */
  loraProduct(adapter: string, x: Tensor): Tensor {
    if (this.kind === 'embedding')
      return matmul(embedding(transpose(this.loraA(adapter)), x), this.loraB(adapter), { transB: true });
    const a = this.child<ModuleDict<Linear>>('lora_A').get(adapter);
    const b = this.child<ModuleDict<Linear>>('lora_B').get(adapter);
    return b.forward(a.forward(x));
  }

  /**
   * The base weight in [out, in] orientation (Embedding: [dim, num]) as a tensor the caller owns: an alias for
   * Linear, a transpose for Conv1D, a dequantized temporary for quantized layers.
   */
  baseWeightOutIn(): Tensor {
    if (this.kind === 'embedding') return transpose(this.baseLayer.param('weight'));
    return (this.baseLayer as unknown as LinearLike).denseWeight();
  }
  /** B·A·scaling in [out, in] orientation (no gradient). */
  deltaOutIn(adapter: string): Tensor {
    return noGrad(() => mul(matmul(this.loraB(adapter), this.loraA(adapter)), this.scaling(adapter)));
  }
  /** ΔW in the base weight's own layout (PEFT's `get_delta_weight`). */
  deltaWeight(adapter: string): Tensor {
    return noGrad(() => {
      const d = this.deltaOutIn(adapter);
      if (this.kind === 'linear') return d;
      const t = transpose(d);
      d.dispose();
      return t;
    });
  }
  /**
   * Replace the base weight with `fn(weightOutIn)` (given and returned in [out, in] orientation). The old weight is
   * disposed; the new one keeps its requiresGrad.
   */
  updateBaseWeight(fn: (weightOutIn: Tensor) => Tensor): void {
    const view = this.baseWeightOutIn();
    const updated = noGrad(() => fn(view));
    view.dispose();
    if (this.kind !== 'embedding') {
      (this.baseLayer as unknown as LinearLike).setDenseWeight(updated);
      updated.dispose();
      return;
    }
    const base = this.baseLayer;
    const old = base.param('weight');
    const next = noGrad(() => transpose(updated));
    updated.dispose();
    next.requiresGrad = old.requiresGrad;
    base.setParameter('weight', next);
    old.dispose();
  }
  /** A per-adapter container a variant keeps its modules in (created on first use, e.g. `lora_magnitude_vector`). */
  variantModules<M extends Module>(name: string): ModuleDict<M> {
    const existing = this.optionalChild<ModuleDict<M>>(name);
    if (existing) return existing;
    return this.registerModule(name, new ModuleDict<M>());
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const config = rawConfig as ResolvedLoraConfig;
    const r = patternValue(config.rank_pattern, ctx.path) ?? config.r;
    const alpha = patternValue(config.alpha_pattern, ctx.path) ?? config.lora_alpha;
    const variant = variantFor(config);
    const backend = this.baseLayer.param('weight').backend;
    const make = { backend };
    const init = config.init_lora_weights;
    if (this.kind === 'embedding') {
      // PEFT: A zeros, B N(0, 1) (roles swapped relative to Linear); init false draws both.
      const a = init === false ? randn([r, this.inFeatures], 0, 1, make) : zeros([r, this.inFeatures], make);
      const b = randn([this.outFeatures, r], 0, 1, make);
      a.requiresGrad = b.requiresGrad = true;
      this.child<ParameterDict>('lora_embedding_A').set(name, a);
      this.child<ParameterDict>('lora_embedding_B').set(name, b);
    } else {
      const drop = config.lora_dropout > 0 ? new Dropout(config.lora_dropout) : new Identity();
      this.child<ModuleDict>('lora_dropout').set(name, drop);
      const a = new Linear(this.inFeatures, r, { bias: false, backend });
      const b = new Linear(r, this.outFeatures, { bias: config.lora_bias, backend });
      if (init === 'gaussian') replace(a, 'weight', randn([r, this.inFeatures], 0, 1 / r, make));
      else if (init === true) replace(a, 'weight', kaimingUniform([r, this.inFeatures], { ...make, a: Math.sqrt(5) }));
      if (init !== false) {
        replace(b, 'weight', zeros([this.outFeatures, r], make));
        if (config.lora_bias) replace(b, 'bias', zeros([this.outFeatures], make));
      } else {
        replace(b, 'weight', uniform([this.outFeatures, r], -1 / Math.sqrt(r), 1 / Math.sqrt(r), make));
      }
      this.child<ModuleDict<Linear>>('lora_A').set(name, a);
      this.child<ModuleDict<Linear>>('lora_B').set(name, b);
    }
    this.ranks.set(name, r);
    this.scalings.set(name, config.use_rslora ? alpha / Math.sqrt(r) : alpha / r);
    this.configs.set(name, config);
    this.adapterNames.push(name);
    this.variantOf.set(name, variant);
    if (variant) variant.init(this, name);
    if (this.training === false) this.eval();
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.variantOf.get(name)?.remove(this, name);
    if (this.kind === 'embedding') {
      this.child<ParameterDict>('lora_embedding_A').delete(name)?.dispose();
      this.child<ParameterDict>('lora_embedding_B').delete(name)?.dispose();
    } else {
      this.child<ModuleDict>('lora_dropout').delete(name)?.dispose();
      this.child<ModuleDict>('lora_A').delete(name)?.dispose();
      this.child<ModuleDict>('lora_B').delete(name)?.dispose();
    }
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
    this.ranks.delete(name);
    this.scalings.delete(name);
    this.configs.delete(name);
    this.variantOf.delete(name);
  }

  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    const slots: AdapterSlot[] =
      this.kind === 'embedding'
        ? [
            { key: 'lora_embedding_A', owner: this.child('lora_embedding_A'), param: name },
            { key: 'lora_embedding_B', owner: this.child('lora_embedding_B'), param: name },
          ]
        : [
            { key: 'lora_A.weight', owner: this.child<ModuleDict>('lora_A').get(name), param: 'weight' },
            { key: 'lora_B.weight', owner: this.child<ModuleDict>('lora_B').get(name), param: 'weight' },
          ];
    if (this.kind !== 'embedding' && this.config(name).lora_bias) {
      slots.push({ key: 'lora_B.bias', owner: this.child<ModuleDict>('lora_B').get(name), param: 'bias' });
    }
    const variant = this.variantOf.get(name);
    if (variant) slots.push(...variant.slots(this, name));
    return slots;
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const adapters = this.adaptersToApply();
    const base = this.baseLayer.forward as (x: Tensor, ...rest: unknown[]) => Tensor;
    if (adapters.length === 0) return base.call(this.baseLayer, x, ...rest);
    return composite(() => {
      let result = base.call(this.baseLayer, x, ...rest);
      for (const a of adapters) {
        const variant = this.variantOf.get(a);
        result = variant
          ? variant.forward(this, a, x, result)
          : addScaled(result, this.loraProduct(a, this.dropout(a, x)), this.scaling(a));
      }
      return result;
    });
  }

  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const a of names) {
      this.requireAdapter(a);
      if (this.mergedAdapters.includes(a)) continue;
      const variant = this.variantOf.get(a);
      if (variant) variant.merge(this, a);
      else {
        const d = this.deltaOutIn(a);
        this.updateBaseWeight((w) => add(w, d));
        d.dispose();
        if (this.kind !== 'embedding' && this.config(a).lora_bias) shiftBias(this, a, +1);
      }
      this.mergedAdapters.push(a);
    }
  }

  override unmerge(): void {
    while (this.mergedAdapters.length) {
      const a = this.mergedAdapters.pop()!;
      const variant = this.variantOf.get(a);
      if (variant) variant.unmerge(this, a);
      else {
        const d = this.deltaOutIn(a);
        this.updateBaseWeight((w) => sub(w, d));
        d.dispose();
        if (this.kind !== 'embedding' && this.config(a).lora_bias) shiftBias(this, a, -1);
      }
    }
  }

  protected override extraRepr(): string {
    return `kind=${this.kind}, adapters=[${this.adapterNames.map((a) => `${a}: r=${this.ranks.get(a)}`).join(', ')}]`;
  }
}

function replace(m: Module, name: string, t: Tensor): void {
  t.requiresGrad = true;
  m.setParameter(name, t)?.dispose();
}

function shiftBias(layer: LoraLayer, adapter: string, sign: 1 | -1): void {
  const base = layer.baseLayer;
  const old = base.optionalParam('bias');
  const lb = layer.child<ModuleDict<Linear>>('lora_B').get(adapter).bias!;
  const delta = noGrad(() => mul(lb, sign * layer.scaling(adapter)));
  const next = old ? noGrad(() => add(old, delta)) : delta;
  if (old) delta.dispose();
  next.requiresGrad = old?.requiresGrad ?? false;
  base.setParameter('bias', next);
  old?.dispose();
}
