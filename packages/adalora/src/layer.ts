import {
  Dropout,
  Identity,
  isLinearLike,
  type LayerModule,
  type LinearLike,
  type Module,
  ModuleDict,
  ParameterDict,
} from '@peftjs/nn';
import { AdapterLayer, type AdapterSlot, PeftConfigError, type TargetContext } from '@peftjs/registry';
import { add, composite, full, linear, matmul, mul, noGrad, randn, sub, type Tensor, zeros } from '@peftjs/tensor';
import { disposeImportance, type ModuleImportance } from './allocator.js';
import { rankPatternOf, type ResolvedAdaLoraConfig } from './config.js';

/** PEFT adds this to `ranknum` before dividing (`scaling / (ranknum + 1e-5)`). */
const RANKNUM_EPS = 1e-5;

/**
 * A Linear or GPT-2 Conv1D with AdaLoRA adapters in PEFT's SVD form (`adalora.SVDLinear`):
 * y = base(x) + dropout(x)·(A ⊙ E)ᵀ·Bᵀ · scaling / (ranknum + 1e-5), with A [r, in] (right singular vectors),
 * E [r, 1] (singular values), B [out, r] (left singular vectors). Parameters live in ParameterDicts named
 * `lora_A`, `lora_B`, `lora_E` (saved keys without `.weight`) and a frozen `ranknum` [1] (not saved).
 */
export class AdaLoraLayer extends AdapterLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  private readonly scalings = new Map<string, number>();
  private readonly ranknums = new Map<string, number>();
  private readonly configs = new Map<string, ResolvedAdaLoraConfig>();
  /** The rank allocator's importance EMAs per adapter (freed with the adapter). */
  readonly importance = new Map<string, ModuleImportance>();

  constructor(base: Module, config: ResolvedAdaLoraConfig, ctx: TargetContext) {
    super(base);
    if (!isLinearLike(base))
      throw new PeftConfigError(
        'target_modules',
        `'${ctx.path}' is a ${base.typeName}; AdaLoRA adapts Linear and Conv1D layers`,
      );
    const b = base as LinearLike;
    this.inFeatures = b.inFeatures;
    this.outFeatures = b.outFeatures;
    this.registerModule('lora_dropout', new ModuleDict());
    this.registerModule('lora_A', new ParameterDict());
    this.registerModule('lora_B', new ParameterDict());
    this.registerModule('lora_E', new ParameterDict());
    this.registerModule('ranknum', new ParameterDict());
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  private dict(name: 'lora_A' | 'lora_B' | 'lora_E' | 'ranknum'): ParameterDict {
    return this.child<ParameterDict>(name);
  }

  /** A of `adapter`: [r, in]. */
  loraA(adapter: string): Tensor {
    return this.dict('lora_A').get(adapter);
  }
  /** B of `adapter`: [out, r]. */
  loraB(adapter: string): Tensor {
    return this.dict('lora_B').get(adapter);
  }
  /** E of `adapter`: [r, 1]. */
  loraE(adapter: string): Tensor {
    return this.dict('lora_E').get(adapter);
  }
  /** Current number of triplets of `adapter` (rows of A). */
  rank(adapter: string): number {
    this.requireAdapter(adapter);
    return this.loraA(adapter).shape[0];
  }
  /** PEFT's `ranknum`: the rank the scaling divides by (init_r, also after a resize). */
  ranknum(adapter: string): number {
    this.requireAdapter(adapter);
    return this.ranknums.get(adapter)!;
  }
  /** lora_alpha (or init_r when alpha ≤ 0), before the division by ranknum. */
  scaling(adapter: string): number {
    this.requireAdapter(adapter);
    return this.scalings.get(adapter)!;
  }
  config(adapter: string): ResolvedAdaLoraConfig {
    this.requireAdapter(adapter);
    return this.configs.get(adapter)!;
  }
  /** The factor the adapter product is multiplied by: scaling / (ranknum + 1e-5). */
  effectiveScale(adapter: string): number {
    return this.scaling(adapter) / (this.ranknum(adapter) + RANKNUM_EPS);
  }

  /**
   * Replace one of the adapter's tensors in place of the old (disposed); the gradient moves along (the rank
   * allocator masks E between optimizer.step() and zeroGrad()). Optimizers look parameters up by slot, so they
   * see the new tensor.
   */
  replaceParameter(name: 'lora_A' | 'lora_B' | 'lora_E', adapter: string, next: Tensor): void {
    const dict = this.dict(name);
    const old = dict.get(adapter);
    next.requiresGrad = old.requiresGrad;
    if (old.grad && !next.grad) {
      next.grad = old.grad;
      old.grad = null;
    }
    dict.set(adapter, next);
    old.dispose();
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const config = rawConfig as ResolvedAdaLoraConfig;
    // A loaded (resized) adapter: the module holds only the kept triplets, ranknum stays init_r (as PEFT's
    // resize_modules_by_rank_pattern leaves it).
    const kept = rankPatternOf(config.rank_pattern, ctx.path, name);
    if (kept && kept.length !== config.init_r)
      throw new PeftConfigError('rank_pattern', `'${ctx.path}' has ${kept.length} entries, init_r is ${config.init_r}`);
    const r = kept ? kept.filter(Boolean).length : config.init_r;
    const ranknum = kept && r === 0 ? 0 : config.init_r;
    const backend = this.baseLayer.param('weight').backend;
    const make = { backend };
    const init = config.init_lora_weights !== false && config.init_lora_weights !== '';
    const a = init ? randn([r, this.inFeatures], 0, 0.02, make) : randn([r, this.inFeatures], 0, 1, make);
    const e = init ? zeros([r, 1], make) : randn([r, 1], 0, 1, make);
    const b = init ? randn([this.outFeatures, r], 0, 0.02, make) : randn([this.outFeatures, r], 0, 1, make);
    a.requiresGrad = b.requiresGrad = e.requiresGrad = true;
    const rn = full([1], ranknum, make);
    this.child<ModuleDict>('lora_dropout').set(
      name,
      config.lora_dropout > 0 ? new Dropout(config.lora_dropout) : new Identity(),
    );
    this.dict('lora_A').set(name, a);
    this.dict('lora_B').set(name, b);
    this.dict('lora_E').set(name, e);
    this.dict('ranknum').set(name, rn);
    this.ranknums.set(name, ranknum);
    this.scalings.set(name, config.lora_alpha > 0 ? config.lora_alpha : config.init_r);
    this.configs.set(name, config);
    this.adapterNames.push(name);
    if (this.training === false) this.eval();
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.child<ModuleDict>('lora_dropout').delete(name)?.dispose();
    for (const d of ['lora_A', 'lora_B', 'lora_E', 'ranknum'] as const) this.dict(d).delete(name)?.dispose();
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
    disposeImportance(this.importance.get(name));
    this.importance.delete(name);
    this.scalings.delete(name);
    this.ranknums.delete(name);
    this.configs.delete(name);
  }

  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    return [
      { key: 'lora_A', owner: this.dict('lora_A'), param: name },
      { key: 'lora_B', owner: this.dict('lora_B'), param: name },
      { key: 'lora_E', owner: this.dict('lora_E'), param: name },
    ];
  }

  private dropout(adapter: string, x: Tensor): Tensor {
    return this.child<ModuleDict<LayerModule>>('lora_dropout').get(adapter).forward(x);
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const adapters = this.adaptersToApply();
    const base = this.baseLayer.forward as (x: Tensor, ...rest: unknown[]) => Tensor;
    if (adapters.length === 0) return base.call(this.baseLayer, x, ...rest);
    return composite(() => {
      let result = base.call(this.baseLayer, x, ...rest);
      for (const a of adapters) {
        // A module with every triplet cut adds exactly nothing.
        if (this.rank(a) === 0) continue;
        const h = linear(this.dropout(a, x), mul(this.loraA(a), this.loraE(a)));
        result = add(result, mul(linear(h, this.loraB(a)), this.effectiveScale(a)));
      }
      return result;
    });
  }

  /** ΔW = B (A ⊙ E) · scaling / (ranknum + 1e-5) in [out, in] orientation (no gradient; the caller owns it). */
  deltaOutIn(adapter: string): Tensor {
    return noGrad(() => {
      if (this.rank(adapter) === 0)
        return zeros([this.outFeatures, this.inFeatures], { backend: this.loraA(adapter).backend });
      return mul(
        matmul(this.loraB(adapter), mul(this.loraA(adapter), this.loraE(adapter))),
        this.effectiveScale(adapter),
      );
    });
  }

  private shiftBase(adapter: string, sign: 1 | -1): void {
    const base = this.baseLayer as unknown as LinearLike;
    const w = base.denseWeight();
    const d = this.deltaOutIn(adapter);
    const next = noGrad(() => (sign > 0 ? add(w, d) : sub(w, d)));
    w.dispose();
    d.dispose();
    base.setDenseWeight(next);
    next.dispose();
  }

  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const a of names) {
      this.requireAdapter(a);
      if (this.mergedAdapters.includes(a)) continue;
      this.shiftBase(a, 1);
      this.mergedAdapters.push(a);
    }
  }

  override unmerge(): void {
    while (this.mergedAdapters.length) this.shiftBase(this.mergedAdapters.pop()!, -1);
  }

  protected override extraRepr(): string {
    return `adapters=[${this.adapterNames.map((a) => `${a}: r=${this.rank(a)}`).join(', ')}]`;
  }
}
