import { activation, Dropout, LayerNorm, type LayerModule, Linear, Module, ModuleDict, ModuleList } from '@peftjs/nn';
import { AdapterLayer, type AdapterSlot, PeftConfigError, PeftError, type TargetContext } from '@peftjs/registry';
import {
  add,
  type Backend,
  Generator,
  getDefaultGenerator,
  kaimingUniform,
  maximum,
  mean,
  mul,
  ones,
  sigmoid,
  type Tensor,
  tensor,
  uniformAt,
  zeros,
} from '@peftjs/tensor';
import { bottleneckSize, type ResolvedBottleneckConfig } from './config.js';

/** Where in a transformer block an adapter sits (AdapterHub's location keys). */
export type BottleneckLocation = 'mh_adapter' | 'output_adapter';

/** What the method plans for one residual connection it adapts. */
export interface BottleneckPlan {
  location: BottleneckLocation;
  layerIndex: number;
  hiddenSize: number;
  backend?: Backend;
}

/** A transformers activation by the name `adapters` gives it (`get_activation(name.lower())`, plus `leakyrelu`). */
function nonLinearity(name: string): LayerModule {
  const n = name.toLowerCase();
  if (n === 'leakyrelu' || n === 'leaky_relu') return new LeakyReLU();
  try {
    return activation(n);
  } catch (e) {
    throw new PeftConfigError('non_linearity', `${(e as Error).message}; also leakyrelu`);
  }
}

/** torch's `leaky_relu` with its default slope 0.01. */
class LeakyReLU extends Module {
  forward(x: Tensor): Tensor {
    return maximum(x, mul(x, 0.01));
  }
}

/**
 * N(0, std²) truncated to [-2·std, 2·std] (torch's `trunc_normal_(std=1e-2, a=-2e-2, b=2e-2)` of the `houlsby`
 * init), by rejection from Box–Muller draws of `gen`.
 */
function truncatedNormal(shape: number[], std: number, gen: Generator, backend: Backend | undefined): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; ) {
    const c = gen.take(2);
    const u1 = 1 - uniformAt(gen.key, c);
    const u2 = uniformAt(gen.key, c + 1);
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    if (Math.abs(z) <= 2) v[i++] = z * std;
  }
  return tensor(v, shape, { backend });
}

/** Replace parameter `name` of `m` by `t` (trainable), freeing the old one. */
function replaceParameter(m: Module, name: string, t: Tensor): void {
  t.requiresGrad = true;
  m.setParameter(name, t)?.dispose();
}

/**
 * One bottleneck adapter: AdapterHub's `Adapter` (sequential) or `ParallelAdapter` (`is_parallel`). Parameter names
 * are the library's: `adapter_down.0` (or `adapter_down.0` LayerNorm and `adapter_down.1` Linear with `ln_before`),
 * `adapter_up`, `adapter_norm_after`, `gate`, `scaling` ("learned" / "channel").
 */
export class BottleneckAdapter extends Module {
  readonly downSize: number;
  /** The constant scaling factor (1 when learned: the `scaling` parameter holds it then). */
  private readonly constantScaling: number | null;

  constructor(
    readonly config: ResolvedBottleneckConfig,
    readonly hiddenSize: number,
    layerIndex: number,
    backend?: Backend,
  ) {
    super();
    const c = config;
    this.downSize = bottleneckSize(c, hiddenSize, layerIndex);
    // init_weights_seed resets the seed for every module (the library's fix_seed): every block starts alike.
    const generator = c.init_weights_seed !== null ? new Generator(c.init_weights_seed) : getDefaultGenerator();
    const opts = { backend, generator };
    const bert = { ...opts, initStd: 0.02 };
    const down: Module[] = [];
    if (c.ln_before) down.push(new LayerNorm(hiddenSize, opts));
    const downProj = new Linear(hiddenSize, this.downSize, bert);
    down.push(downProj, nonLinearity(c.non_linearity));
    this.registerModule('adapter_down', new ModuleList(down));
    const up = this.registerModule('adapter_up', new Linear(this.downSize, hiddenSize, bert));
    if (c.init_weights === 'mam_adapter') {
      replaceParameter(downProj, 'weight', kaimingUniform([this.downSize, hiddenSize], { ...opts, a: Math.sqrt(5) }));
      replaceParameter(up, 'weight', zeros([hiddenSize, this.downSize], { backend }));
    } else if (c.init_weights === 'houlsby') {
      replaceParameter(downProj, 'weight', truncatedNormal([this.downSize, hiddenSize], 1e-2, generator, backend));
      replaceParameter(up, 'weight', truncatedNormal([hiddenSize, this.downSize], 1e-2, generator, backend));
    }
    if (c.scaling === 'learned' || c.scaling === 'channel') {
      const t = ones(c.scaling === 'learned' ? [1] : [hiddenSize], { backend });
      t.requiresGrad = true;
      this.registerParameter('scaling', t);
      this.constantScaling = null;
    } else {
      this.constantScaling = c.scaling;
    }
    if (c.ln_after) this.registerModule('adapter_norm_after', new LayerNorm(hiddenSize, opts));
    if (c.use_gating) {
      // bert init for the gate except under "houlsby", where it keeps torch's default Linear init.
      this.registerModule('gate', new Linear(hiddenSize, 1, c.init_weights === 'houlsby' ? opts : bert));
    }
    this.registerModule('dropout', new Dropout(c.dropout, { generator }));
  }

  /**
   * `pre_forward`: the adapter's input and the residual around it, from the sublayer output `hidden`, the block's
   * residual input and (post-LN blocks) its LayerNorm.
   */
  preForward(hidden: Tensor, input: Tensor, norm: LayerModule | null): { x: Tensor; residual: Tensor } {
    const c = this.config;
    if (c.is_parallel) return { x: input, residual: input };
    let h = hidden;
    let residual: Tensor | null = c.residual_before_ln === true ? hidden : null;
    if (c.original_ln_before) {
      h = add(h, input);
      if (norm) {
        if (c.residual_before_ln === 'post_add') residual = h;
        h = norm.forward(h);
      }
    }
    if (c.residual_before_ln === false) residual = h;
    if (!residual)
      throw new PeftConfigError(
        'residual_before_ln',
        '"post_add" needs original_ln_before and a block with its own LayerNorm after the sublayer (post-LN models such as BERT)',
      );
    return { x: h, residual };
  }

  /** The bottleneck itself (`forward`): up(act(down(x))) · scaling, dropout, gate, residual and LayerNorm. */
  forward(x: Tensor, residual: Tensor): Tensor {
    const c = this.config;
    let h = x;
    const down = this.child<ModuleList<LayerModule>>('adapter_down');
    for (const m of down) h = m.forward(h);
    h = this.child<LayerModule>('adapter_up').forward(h);
    if (this.constantScaling === null) h = mul(h, this.param('scaling'));
    else if (this.constantScaling !== 1) h = mul(h, this.constantScaling);
    h = this.child<LayerModule>('dropout').forward(h);
    if (c.use_gating) {
      // [B, T, 1] gate, averaged over positions: one gate per sequence.
      const gate = mean(sigmoid(this.child<LayerModule>('gate').forward(x)), 1, true);
      h = mul(h, gate);
    }
    const normAfter = this.optionalChild<LayerModule>('adapter_norm_after');
    if (c.is_parallel) return normAfter ? normAfter.forward(h) : h;
    if (c.adapter_residual_before_ln) h = add(h, residual);
    if (normAfter) h = normAfter.forward(h);
    if (!c.adapter_residual_before_ln) h = add(h, residual);
    return h;
  }

  /** `post_forward`: the block's own residual (and LayerNorm) after the adapter. */
  postForward(h: Tensor, hidden: Tensor, input: Tensor, norm: LayerModule | null): Tensor {
    let out = this.config.is_parallel ? add(h, hidden) : h;
    if (this.config.original_ln_after) {
      out = add(out, input);
      if (norm) out = norm.forward(out);
    }
    return out;
  }
}

/**
 * A block's residual connection with bottleneck adapters (AdapterHub's `BottleneckLayer`): wraps the model's
 * `ResidualAdd`, whose call passes the sublayer output, the residual input and (post-LN) the block's LayerNorm.
 * Adapters live in `adapters.<name>`, as in the library. Active adapters are applied as a stack.
 */
export class BottleneckLayer extends AdapterLayer {
  readonly location: BottleneckLocation;
  readonly layerIndex: number;
  readonly hiddenSize: number;
  private readonly backend: Backend | undefined;

  constructor(base: Module, config: ResolvedBottleneckConfig, ctx: TargetContext) {
    super(base);
    const plan = ctx.plan as BottleneckPlan | undefined;
    if (!plan) throw new PeftError(`bottleneck: '${ctx.path}' was not planned as an adapter placement`);
    this.location = plan.location;
    this.layerIndex = plan.layerIndex;
    this.hiddenSize = plan.hiddenSize;
    this.backend = plan.backend;
    this.registerModule('adapters', new ModuleDict<BottleneckAdapter>());
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  get adapters(): ModuleDict<BottleneckAdapter> {
    return this.child<ModuleDict<BottleneckAdapter>>('adapters');
  }

  adapter(name: string): BottleneckAdapter {
    this.requireAdapter(name);
    return this.adapters.get(name);
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const block = new BottleneckAdapter(
      rawConfig as ResolvedBottleneckConfig,
      this.hiddenSize,
      this.layerIndex,
      this.backend,
    );
    block.train(this.training);
    this.adapters.set(name, block);
    this.adapterNames.push(name);
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.adapters.delete(name)?.dispose();
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
    this.activeAdapters = this.activeAdapters.filter((a) => a !== name);
  }

  adapterSlots(name: string): AdapterSlot[] {
    const block = this.adapter(name);
    return block.namedParameters().map(([key]) => {
      const dot = key.lastIndexOf('.');
      const owner = dot < 0 ? block : block.getSubmodule(key.slice(0, dot));
      return { key, owner, param: key.slice(dot + 1) };
    });
  }

  /** `bottleneck_layer_forward(hidden_states, residual_input, layer_norm)`. */
  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const residual = rest[0] as Tensor;
    const norm = (rest[1] as LayerModule | null | undefined) ?? null;
    const names = this.adaptersToApply();
    const base = this.baseLayer as unknown as { forward(o: Tensor, r: Tensor, n: LayerModule | null): Tensor };
    if (!names.length) return base.forward(x, residual, norm);
    let h = x;
    let last: BottleneckAdapter | null = null;
    for (const name of names) {
      last = this.adapters.get(name);
      const pre = last.preForward(h, residual, norm);
      h = last.forward(pre.x, pre.residual);
    }
    return last!.postForward(h, x, residual, norm);
  }

  override merge(): void {
    throw new PeftError(
      'bottleneck adapters cannot be merged into the base weights: they add a non-linear block after the sublayer (keep the adapter, or unload() to drop it)',
    );
  }
}

/**
 * The model's prediction head, trained in place with the adapter (AdapterHub's `train_adapter` leaves every
 * parameter outside the base model trainable, output embeddings excepted). The head keeps its own parameter keys
 * (`classifier.weight`); it holds no new parameters and forwards as the head does.
 */
export class BottleneckHeadLayer extends AdapterLayer {
  constructor(base: Module, _config: ResolvedBottleneckConfig, ctx: TargetContext) {
    super(base);
    this.adapterNames.push(ctx.adapterName);
  }

  addAdapter(name: string, _config: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    this.adapterNames.push(name);
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
    this.activeAdapters = this.activeAdapters.filter((a) => a !== name);
  }

  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    const base = this.baseLayer;
    return base.namedParameters({ recurse: false }).map(([key]) => ({ key, owner: base, param: key }));
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    return (this.baseLayer.forward as (x: Tensor, ...rest: unknown[]) => Tensor)(x, ...rest);
  }

  override merge(): void {
    throw new PeftError('bottleneck adapters cannot be merged into the base weights');
  }
}
