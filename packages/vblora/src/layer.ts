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
import {
  add,
  composite,
  gather,
  linear,
  matmul,
  mul,
  noGrad,
  randn,
  reshape,
  softmax,
  sub,
  sum,
  type Tensor,
  topk,
  transpose,
  unsqueeze,
} from '@peftjs/tensor';
import type { ResolvedVBLoRAConfig } from './config.js';

/** Name of the shared bank on the tuner root (saved as `base_model.vblora_vector_bank`). */
export const VECTOR_BANK = 'vblora_vector_bank';

/**
 * PEFT's `_get_low_rank_matrix`: for logits [..., N], the softmax of the top-k logits weighting the selected bank
 * vectors, Σ_j w_j·bank[idx_j] → [..., L]. Differentiable in the logits (through the kept values) and the bank.
 */
export function composeFromBank(logits: Tensor, bank: Tensor, k: number): Tensor {
  return composite(() => {
    const { values, indices } = topk(logits, k);
    const weights = softmax(values, -1);
    return sum(mul(unsqueeze(weights, -1), gather(bank, indices, 0)), -2);
  });
}

/**
 * A Linear or GPT-2 Conv1D with VB-LoRA adapters (PEFT's `vblora.Linear`): y = base(x) + (dropout(x)·Aᵀ)·Bᵀ with
 * A [r, in] and B [out, r] composed from the adapter's shared vector bank by this layer's logits (no scaling).
 */
export class VBLoRALayer extends AdapterLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly fanInFanOut: boolean;
  private readonly configs = new Map<string, ResolvedVBLoRAConfig>();
  private readonly shared: TargetContext['shared'];

  constructor(base: Module, config: ResolvedVBLoRAConfig, ctx: TargetContext) {
    super(base);
    if (!isLinearLike(base)) {
      throw new PeftConfigError(
        'target_modules',
        `'${ctx.path}' is a ${base.typeName}; VB-LoRA adapts Linear and Conv1D`,
      );
    }
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.fanInFanOut = base.fanInFanOut;
    this.shared = ctx.shared;
    this.registerModule('vblora_dropout', new ModuleDict());
    this.registerModule('vblora_logits_A', new ParameterDict());
    this.registerModule('vblora_logits_B', new ParameterDict());
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  config(adapter: string): ResolvedVBLoRAConfig {
    this.requireAdapter(adapter);
    return this.configs.get(adapter)!;
  }
  logitsA(adapter: string): Tensor {
    return this.child<ParameterDict>('vblora_logits_A').get(adapter);
  }
  logitsB(adapter: string): Tensor {
    return this.child<ParameterDict>('vblora_logits_B').get(adapter);
  }
  /** The adapter's bank, looked up on the tuner root now (loading an adapter replaces it). */
  vectorBank(adapter: string): Tensor {
    return this.shared.get(adapter, VECTOR_BANK);
  }

  /** A [r, in] and B [out, r] of `adapter` (PEFT's `_get_lora_matrices`), differentiable. */
  loraMatrices(adapter: string): { A: Tensor; B: Tensor } {
    const k = this.config(adapter).topk;
    const bank = this.vectorBank(adapter);
    const la = this.logitsA(adapter);
    const lb = this.logitsB(adapter);
    const A = composite(() => reshape(composeFromBank(la, bank, k), [la.shape[0], -1]));
    const B = composite(() => reshape(transpose(composeFromBank(lb, bank, k), 1, 2), [-1, lb.shape[1]]));
    return { A, B };
  }

  /** B·A [out, in] (no gradient). */
  deltaOutIn(adapter: string): Tensor {
    return noGrad(() =>
      composite(() => {
        const { A, B } = this.loraMatrices(adapter);
        return matmul(B, A);
      }),
    );
  }

  /** ΔW in the base weight's own layout (PEFT's `get_delta_weight`: transposed for Conv1D). */
  deltaWeight(adapter: string): Tensor {
    return noGrad(() => {
      const d = this.deltaOutIn(adapter);
      if (!this.fanInFanOut) return d;
      const t = transpose(d);
      d.dispose();
      return t;
    });
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const config = rawConfig as ResolvedVBLoRAConfig;
    const L = config.vector_length;
    if (typeof L !== 'number')
      throw new PeftConfigError('vector_length', 'was not resolved before the layers were built');
    if (this.inFeatures % L !== 0)
      throw new PeftConfigError(
        'vector_length',
        `in_features ${this.inFeatures} of '${ctx.path}' is not divisible by ${L}`,
      );
    if (this.outFeatures % L !== 0) {
      throw new PeftConfigError(
        'vector_length',
        `out_features ${this.outFeatures} of '${ctx.path}' is not divisible by ${L}`,
      );
    }
    if (!ctx.shared.has(name, VECTOR_BANK))
      throw new PeftConfigError('vblora', `adapter '${name}' has no vector bank (prepareInjection did not run)`);
    const backend = this.baseLayer.param('weight').backend;
    const N = config.num_vectors;
    const a = randn([config.r, this.inFeatures / L, N], 0, config.init_logits_std, { backend });
    const b = randn([this.outFeatures / L, config.r, N], 0, config.init_logits_std, { backend });
    a.requiresGrad = b.requiresGrad = true;
    this.child<ParameterDict>('vblora_logits_A').set(name, a);
    this.child<ParameterDict>('vblora_logits_B').set(name, b);
    this.child<ModuleDict>('vblora_dropout').set(
      name,
      config.vblora_dropout > 0 ? new Dropout(config.vblora_dropout) : new Identity(),
    );
    this.configs.set(name, config);
    this.adapterNames.push(name);
    if (this.training === false) this.eval();
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.child<ParameterDict>('vblora_logits_A').delete(name)?.dispose();
    this.child<ParameterDict>('vblora_logits_B').delete(name)?.dispose();
    this.child<ModuleDict>('vblora_dropout').delete(name)?.dispose();
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
    this.configs.delete(name);
  }

  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    return [
      { key: 'vblora_logits_A', owner: this.child('vblora_logits_A'), param: name },
      { key: 'vblora_logits_B', owner: this.child('vblora_logits_B'), param: name },
    ];
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const adapters = this.adaptersToApply();
    const base = this.baseLayer.forward as (x: Tensor, ...rest: unknown[]) => Tensor;
    if (adapters.length === 0) return base.call(this.baseLayer, x, ...rest);
    return composite(() => {
      let result = base.call(this.baseLayer, x, ...rest);
      for (const a of adapters) {
        const { A, B } = this.loraMatrices(a);
        const dropped = this.child<ModuleDict<LayerModule>>('vblora_dropout').get(a).forward(x);
        result = add(result, linear(linear(dropped, A), B));
      }
      return result;
    });
  }

  private shiftWeight(adapter: string, sign: 1 | -1): void {
    const base = this.baseLayer as unknown as LinearLike;
    const w = base.denseWeight();
    const d = this.deltaOutIn(adapter);
    const next = noGrad(() => (sign > 0 ? add(w, d) : sub(w, d)));
    d.dispose();
    w.dispose();
    base.setDenseWeight(next);
    next.dispose();
  }

  override merge(names: readonly string[] = this.activeAdapters): void {
    for (const a of names) {
      this.requireAdapter(a);
      if (this.mergedAdapters.includes(a)) continue;
      this.shiftWeight(a, 1);
      this.mergedAdapters.push(a);
    }
  }

  override unmerge(): void {
    while (this.mergedAdapters.length) this.shiftWeight(this.mergedAdapters.pop()!, -1);
  }

  protected override extraRepr(): string {
    return `adapters=[${this.adapterNames.map((a) => `${a}: r=${this.configs.get(a)?.r}`).join(', ')}]`;
  }
}
