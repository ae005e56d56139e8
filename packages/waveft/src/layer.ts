import { isLinearLike, type LinearLike, type Module, ParameterDict } from '@peftjs/nn';
import { AdapterLayer, type AdapterSlot, PeftConfigError, type TargetContext } from '@peftjs/registry';
import {
  add,
  composite,
  keep,
  linear,
  noGrad,
  randn,
  sub,
  Tensor,
  torchRandperm,
  transpose,
  zeros,
} from '@peftjs/tensor';
import { patternValue, type ResolvedWaveFTConfig } from './config.js';
import { type WaveletLayout, waveletDeltaWeight, waveletLayout } from './idwt.js';

/** What `prepareInjection` decides for one layer (proportional_parameters). */
export interface WaveFTPlan {
  nFrequency: number;
}

interface AdapterState {
  nFrequency: number;
  scaling: number;
  /** Coefficient locations: rows and columns of ΔW (PEFT's `waveft_indices`). */
  rows: Int32Array;
  cols: Int32Array;
  layout: WaveletLayout;
  /** The layout's coefficient positions on the layer's backend (made on first use). */
  positions: Tensor | null;
}

/**
 * The coefficient locations PEFT draws for an [out, in] layer: the first n entries of
 * `torch.randperm(out·in, generator=torch.Generator().manual_seed(seed))`, as (row, col) = (p // in, p % in).
 */
export function waveftLocations(
  outFeatures: number,
  inFeatures: number,
  nFrequency: number,
  seed: number,
): { rows: Int32Array; cols: Int32Array } {
  const perm = torchRandperm(outFeatures * inFeatures, seed, nFrequency);
  const rows = new Int32Array(nFrequency);
  const cols = new Int32Array(nFrequency);
  for (let k = 0; k < nFrequency; k++) {
    rows[k] = Math.floor(perm[k] / inFeatures);
    cols[k] = perm[k] % inFeatures;
  }
  return { rows, cols };
}

/**
 * A Linear or GPT-2 Conv1D with WaveFT adapters (PEFT's `WaveFTLinear`): y = base(x) + x·ΔWᵀ for each active
 * adapter, ΔW rebuilt from `waveft_spectrum.<adapter>` on every forward (no dropout).
 */
export class WaveFTLayer extends AdapterLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Whether the base weight is stored [in, out] (Conv1D). */
  readonly fanInFanOut: boolean;
  private readonly states = new Map<string, AdapterState>();

  constructor(base: Module, config: ResolvedWaveFTConfig, ctx: TargetContext) {
    super(base);
    if (!isLinearLike(base)) {
      throw new PeftConfigError(
        'target_modules',
        `'${ctx.path}' is a ${base.typeName}; WaveFT adapts Linear and Conv1D`,
      );
    }
    this.inFeatures = base.inFeatures;
    this.outFeatures = base.outFeatures;
    this.fanInFanOut = base.fanInFanOut;
    this.registerModule('waveft_spectrum', new ParameterDict());
    this.addAdapter(ctx.adapterName, config, ctx);
  }

  /** The adapter's trainable coefficients [n_frequency]. */
  spectrum(adapter: string): Tensor {
    return this.child<ParameterDict>('waveft_spectrum').get(adapter);
  }
  /** n_frequency of `adapter` on this layer (after patterns and proportional allocation). */
  nFrequency(adapter: string): number {
    return this.state(adapter).nFrequency;
  }
  /** The coefficient locations, [2, n] as (rows, cols): PEFT's `waveft_indices[adapter]`. */
  locations(adapter: string): { rows: Int32Array; cols: Int32Array } {
    const s = this.state(adapter);
    return { rows: s.rows, cols: s.cols };
  }

  private state(adapter: string): AdapterState {
    this.requireAdapter(adapter);
    return this.states.get(adapter)!;
  }

  addAdapter(name: string, rawConfig: unknown, ctx: TargetContext): void {
    if (this.adapterNames.includes(name))
      throw new PeftConfigError('adapter_name', `'${name}' already exists on ${ctx.path}`);
    const config = rawConfig as ResolvedWaveFTConfig;
    const plan = ctx.plan as WaveFTPlan | undefined;
    const n = plan?.nFrequency ?? patternValue(config.n_frequency_pattern, ctx.path) ?? config.n_frequency;
    const size = this.outFeatures * this.inFeatures;
    if (!(Number.isInteger(n) && n > 0)) {
      throw new PeftConfigError('n_frequency', `must be a positive integer, got ${n} for '${ctx.path}'`);
    }
    if (n > size) {
      throw new PeftConfigError(
        'n_frequency',
        `${n} exceeds the ${this.outFeatures}×${this.inFeatures} = ${size} entries of '${ctx.path}'`,
      );
    }
    const { rows, cols } = waveftLocations(this.outFeatures, this.inFeatures, n, config.random_loc_seed);
    const backend = this.baseLayer.param('weight').backend;
    const spectrum = config.init_weights ? zeros([n], { backend }) : randn([n], 0, 0.01, { backend });
    spectrum.requiresGrad = true;
    this.child<ParameterDict>('waveft_spectrum').set(name, spectrum);
    const layout = waveletLayout(this.outFeatures, this.inFeatures, rows, cols, config.wavelet_family, config.use_idwt);
    this.states.set(name, { nFrequency: n, scaling: config.scaling, rows, cols, layout, positions: null });
    this.adapterNames.push(name);
  }

  deleteAdapter(name: string): void {
    this.requireAdapter(name);
    this.child<ParameterDict>('waveft_spectrum').delete(name)?.dispose();
    this.states.get(name)?.positions?.dispose();
    this.states.delete(name);
    for (const list of [this.adapterNames, this.activeAdapters]) {
      const i = list.indexOf(name);
      if (i >= 0) list.splice(i, 1);
    }
  }

  adapterSlots(name: string): AdapterSlot[] {
    this.requireAdapter(name);
    return [{ key: 'waveft_spectrum', owner: this.child('waveft_spectrum'), param: name }];
  }

  /** ΔW [out, in] of `adapter` (differentiable in the spectrum; PEFT's `get_delta_weight` without the transpose). */
  deltaOutIn(adapter: string): Tensor {
    const s = this.state(adapter);
    const spectrum = this.spectrum(adapter);
    if (!s.positions || s.positions.isDisposed || s.positions.backend !== spectrum.backend) {
      s.positions?.dispose();
      // Kept for the adapter's lifetime (freed by deleteAdapter), not by whatever scope first needed it.
      const p = s.layout.positions;
      s.positions = keep(Tensor.fromValues(spectrum.backend, p, [p.length], 'i32'));
    }
    const positions = s.positions;
    return composite(() => waveletDeltaWeight(spectrum, s.layout, positions, s.scaling));
  }

  /** ΔW in the base weight's own layout (transposed for Conv1D), without gradient. */
  deltaWeight(adapter: string): Tensor {
    return noGrad(() => {
      const d = this.deltaOutIn(adapter);
      if (!this.fanInFanOut) return d;
      const t = transpose(d);
      d.dispose();
      return t;
    });
  }

  forward(x: Tensor, ...rest: unknown[]): Tensor {
    const adapters = this.adaptersToApply();
    const base = this.baseLayer.forward as (x: Tensor, ...rest: unknown[]) => Tensor;
    if (adapters.length === 0) return base.call(this.baseLayer, x, ...rest);
    return composite(() => {
      let result = base.call(this.baseLayer, x, ...rest);
      for (const a of adapters) result = add(result, linear(x, this.deltaOutIn(a)));
      return result;
    });
  }

  private shiftWeight(adapter: string, sign: 1 | -1): void {
    const base = this.baseLayer as unknown as LinearLike;
    const w = base.denseWeight();
    const next = noGrad(() => {
      const d = this.deltaOutIn(adapter);
      const r = sign > 0 ? add(w, d) : sub(w, d);
      d.dispose();
      return r;
    });
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
    return `adapters=[${this.adapterNames.map((a) => `${a}: n_frequency=${this.states.get(a)?.nFrequency}`).join(', ')}]`;
  }
}
