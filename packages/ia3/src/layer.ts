import { isLinearLike, type LinearLike, type Module, ParameterDict } from '@peftjs/nn';
import { AdapterLayer, type AdapterSlot, PeftConfigError, type TargetContext } from '@peftjs/registry';
import { add, composite, div, full, mul, noGrad, randn, reshape, type Tensor, tidy } from '@peftjs/tensor';
import { type IA3Config, isFeedforward } from './config.js';

/**
 * A linear layer (Linear, GPT-2 Conv1D, or any `LinearLike`) with IA³ adapters (PEFT's `ia3.Linear`): a learned
 * vector `ia3_l` scales the layer's output — `y = base(x) ⊙ l`, bias included, l: [out, 1] — or, for feed-forward
 * modules, its input — `y = base(x ⊙ l)`, l: [1, in]. Several active adapters multiply.
 */
export class IA3Layer extends AdapterLayer {
  /** Whether the input (true) or the output (false) is scaled; fixed per layer, as in PEFT. */
  readonly feedforward: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(base: Module, config: IA3Config, ctx: TargetContext) {
    super(base);
    if (!isLinearLike(base)) {
      throw new PeftConfigError('target_modules', `'${ctx.path}' is a ${base.typeName}; IA³ adapts linear layers`);
    }
    this.feedforward = isFeedforward(config, ctx.path);
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    // PEFT corrects fan_in_fan_out to the layer it finds (true for Conv1D, false for Linear) and saves that.
    config.fan_in_fan_out = base.fanInFanOut;
    this.registerModule('ia3_l', new ParameterDict());
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  private get linear(): LinearLike {
    return this.baseLayer as unknown as LinearLike;
  }
  private get vectors(): ParameterDict {
    return this.child<ParameterDict>('ia3_l');
  }

  /** The adapter's vector: [1, in] (feed-forward) or [out, 1]. */
  vector(adapter: string): Tensor {
    this.requireAdapter(adapter);
    return this.vectors.get(adapter);
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const config = rawConfig as IA3Config;
    const shape = this.feedforward ? [1, this.inFeatures] : [this.outFeatures, 1];
    const backend = this.linear.param('weight').backend;
    // PEFT draws N(0, 1) first and then, with init_ia3_weights, overwrites it with ones.
    const drawn = randn(shape, 0, 1, { backend });
    let l = drawn;
    if (config.init_ia3_weights !== false) {
      l = full(shape, 1, { backend });
      drawn.dispose();
    }
    l.requiresGrad = true;
    this.vectors.set(name, l);
    this.adapterNames.push(name);
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.vectors.delete(name)?.dispose();
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
  }

  /** One saved tensor per adapter: `<path>.ia3_l` (PEFT drops the adapter name). */
  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    return [{ key: 'ia3_l', owner: this.vectors, param: name }];
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const base = this.linear.forward as (x: Tensor, ...rest: unknown[]) => Tensor;
    const adapters = this.adaptersToApply();
    if (adapters.length === 0) return base.call(this.linear, x, ...rest);
    return composite(() => {
      let s = reshape(this.vectors.get(adapters[0]!), [-1]);
      for (const a of adapters.slice(1)) s = mul(s, reshape(this.vectors.get(a), [-1]));
      return this.feedforward ? base.call(this.linear, mul(x, s), ...rest) : mul(base.call(this.linear, x, ...rest), s);
    });
  }

  /** W ← W ⊙ l (rows for outputs, columns for inputs, in [out, in] layout); a non-feed-forward bias too, as PEFT. */
  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const a of names) {
      this.requireAdapter(a);
      if (this.mergedAdapters.includes(a)) continue;
      this.rescale(a, (w, l) => mul(w, l));
      this.mergedAdapters.push(a);
    }
  }

  /** W ← W / (l + 1e-8), last merged first (PEFT's unmerge, which warns that it can be inaccurate). */
  override unmerge(): void {
    while (this.mergedAdapters.length) {
      const a = this.mergedAdapters.pop()!;
      this.rescale(a, (w, l) => div(w, add(l, 1e-8)));
    }
  }

  private rescale(adapter: string, op: (w: Tensor, l: Tensor) => Tensor): void {
    const l = this.vectors.get(adapter);
    const linear = this.linear;
    noGrad(() => {
      const w = linear.denseWeight();
      const next = tidy(() => op(w, l));
      w.dispose();
      linear.setDenseWeight(next);
      next.dispose();
    });
    const bias = linear.bias;
    if (this.feedforward || !bias) return;
    const nextBias = noGrad(() => tidy(() => op(bias, reshape(l, [-1]))));
    nextBias.requiresGrad = bias.requiresGrad;
    linear.setParameter('bias', nextBias);
    bias.dispose();
  }

  protected override extraRepr(): string {
    return `feedforward=${this.feedforward}, adapters=[${this.adapterNames.join(', ')}]`;
  }
}
