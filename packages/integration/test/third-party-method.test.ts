/**
 * A PEFT method written here, outside the packages, against the public interface only: it registers, gets a
 * typed config through declaration merging, trains, saves in PEFT's layout and loads back.
 *
 * The method ("SCALE"): y = base(x) ⊙ (1 + s), with a trainable per-output vector s initialised to zero.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear, Module, ParameterDict } from '@peftjs/nn';
import {
  AdapterLayer,
  type AdapterMethod,
  type AdapterSlot,
  field,
  getPeftModel,
  isNumber,
  normalizeTunerFields,
  registerAdapter,
  type TargetContext,
  type TunerConfig,
} from '@peftjs/registry';
import { add, crossEntropy, mul, noGrad, randn, sub, type Tensor, tensor, tidy, zeros } from '@peftjs/tensor';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';

interface ScaleConfig extends TunerConfig {
  peft_type: 'SCALE';
  /** Initial value of every scale entry. */
  init_value?: number;
}

declare module '@peftjs/registry' {
  interface AdapterConfigMap {
    scale: ScaleConfig;
  }
}

class ScaleLayer extends AdapterLayer {
  constructor(base: Linear, config: ScaleConfig, ctx: TargetContext) {
    super(base);
    this.registerModule('scale_vector', new ParameterDict());
    this.addAdapter(ctx.adapterName, config);
  }
  addAdapter(name: string, config: unknown): void {
    const out = (this.baseLayer as unknown as Linear).outFeatures;
    const v = zeros([out]);
    const init = (config as ScaleConfig).init_value ?? 0;
    const t = init === 0 ? v : noGrad(() => add(v, init));
    if (t !== v) v.dispose();
    t.requiresGrad = true;
    this.child<ParameterDict>('scale_vector').set(name, t);
    this.adapterNames.push(name);
  }
  deleteAdapter(name: string): void {
    this.child<ParameterDict>('scale_vector').delete(name)?.dispose();
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
  }
  adapterSlots(name: string): AdapterSlot[] {
    return [{ key: 'scale_vector', owner: this.child('scale_vector'), param: name }];
  }
  forward(x: Tensor): Tensor {
    let y = this.baseLayer.forward(x);
    for (const a of this.adaptersToApply()) y = mul(y, add(this.child<ParameterDict>('scale_vector').get(a), 1));
    return y;
  }
}

const scaleMethod: AdapterMethod<ScaleConfig> = {
  name: 'scale',
  peftType: 'SCALE',
  supportedModules: ['Linear'],
  normalizeConfig: (raw) => ({
    ...normalizeTunerFields(raw),
    peft_type: 'SCALE',
    init_value: field(raw, 'init_value', 0, isNumber, 'a number'),
  }),
  toJSON: (c) => ({
    peft_type: 'SCALE',
    target_modules: c.target_modules,
    init_value: c.init_value,
    task_type: c.task_type ?? null,
  }),
  canAdapt: (m) => m instanceof Linear,
  createLayer: (m, c, ctx) => new ScaleLayer(m as Linear, c, ctx),
};

class TinyClassifier extends Module {
  constructor() {
    super();
    this.registerModule('hidden', new Linear(4, 8));
    this.registerModule('out', new Linear(8, 3));
  }
  forward(x: Tensor): Tensor {
    return this.callLayer('out', this.callLayer('hidden', x).tanh());
  }
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('a third-party method plugs into the same API', () => {
  it('registers, is typed, trains, saves in PEFT layout and loads back', async () => {
    registerAdapter(scaleMethod);
    expect(() => registerAdapter(scaleMethod)).toThrow(/already registered/);

    // The config is typed through AdapterConfigMap augmentation:
    const config: ScaleConfig = { peft_type: 'SCALE', target_modules: ['hidden'], init_value: 0 };
    expectTypeOf(config).toMatchTypeOf<Parameters<typeof getPeftModel>[1]>();

    const model = new TinyClassifier();
    const peft = getPeftModel(model, config);
    const trainable = peft.model
      .namedParameters()
      .filter(([, t]) => t.requiresGrad)
      .map(([n]) => n);
    expect(trainable).toEqual(['hidden.scale_vector.default']);

    const x = randn([16, 4]);
    const y = tensor(
      Array.from({ length: 16 }, (_, i) => i % 3),
      [16],
      { dtype: 'i32' },
    );
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const loss = tidy(() => {
        const l = crossEntropy(peft.model.forward(x), y);
        l.backward();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
      for (const slot of peft.adapterSlots().values()) {
        const p = slot.owner.param(slot.param);
        const next = noGrad(() => tidy(() => sub(p, mul(p.grad!, 0.5))));
        next.requiresGrad = true;
        slot.owner.setParameter(slot.param, next);
        p.dispose();
      }
      // base weights never receive gradients
      expect(model.getSubmodule('out').param('weight').grad).toBeNull();
    }
    expect(losses[losses.length - 1]).toBeLessThan(losses[0]);

    const dir = await mkdtemp(join(tmpdir(), 'peftjs-plugin-'));
    dirs.push(dir);
    await savePeftModel(peft, dir);
    const saved = JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8'));
    expect(saved.peft_type).toBe('SCALE');
    expect(Object.keys(peft.adapterStateDict())).toEqual(['base_model.model.hidden.scale_vector']);

    // Load onto a fresh copy of the same base: outputs equal the trained model's.
    const fresh = new TinyClassifier();
    fresh.loadStateDict(
      Object.fromEntries(
        peft.model
          .namedParameters()
          .filter(([n]) => !n.includes('scale_vector'))
          .map(([n, t]) => [n.replace('.base_layer', ''), t.detach()]),
      ),
    );
    const loaded = await loadPeftModel(fresh, dir);
    const [a, b] = await Promise.all([peft.model.forward(x).data(), loaded.model.forward(x).data()]);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
