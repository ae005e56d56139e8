import { join } from 'node:path';
import { fromPretrained } from '@peftjs/models/node';
import { getPreset, PeftConfigError, PeftError, type PeftModel } from '@peftjs/registry';
import { noGrad, randint, tidy } from '@peftjs/tensor';
import { f64, goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import {
  adapterHubParameters,
  BottleneckLayer,
  bottleneckConfig,
  bottleneckSize,
  getPeftModel,
  normalizeBottleneckConfig,
} from '../src/index.js';

const base = (arch: string) => fromPretrained(join(goldenRoot(), 'base', arch), { tokenizer: false });

function logitsOf(peft: PeftModel, ids: ReturnType<typeof randint>): number[] {
  return f64(noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits)));
}

describe('bottleneck method', () => {
  it('cannot be merged: merge and mergeAndUnload say so; unload returns the base model unchanged', async () => {
    const model = await base('llama');
    const ids = randint(0, 128, [1, 6]);
    const before = f64(noGrad(() => tidy(() => model.forward({ inputIds: ids }).logits)));
    const peft = getPeftModel(model, bottleneckConfig('seq_bn', { reduction_factor: 4 }));
    expect(() => peft.merge()).toThrow(PeftError);
    expect(() => peft.merge()).toThrow(/bottleneck adapters cannot be merged/);
    expect(() => peft.mergeAndUnload()).toThrow(/cannot be merged/);
    const plain = peft.unload();
    expect(f64(noGrad(() => tidy(() => plain.forward({ inputIds: ids }).logits)))).toEqual(before);
    ids.dispose();
    plain.dispose();
  });

  it('trains only the adapter (and, for a classifier, the head); lm_head stays frozen', async () => {
    const llama = getPeftModel(await base('llama'), bottleneckConfig('seq_bn', { reduction_factor: 4 }));
    const keys = [...adapterHubParameters(llama).keys()];
    expect(keys.length).toBe(2 * 4);
    expect(keys.every((k) => /^model\.layers\.\d\.output_adapters\.adapters\.default\./.test(k))).toBe(true);
    llama.dispose();
    const bert = getPeftModel(await base('bert'), bottleneckConfig('double_seq_bn', { reduction_factor: 8 }));
    const bk = [...adapterHubParameters(bert).keys()].sort();
    expect(bk.filter((k) => k.startsWith('classifier.'))).toEqual(['classifier.bias', 'classifier.weight']);
    expect(bk.filter((k) => k.includes('.attention.output.adapters.default.')).length).toBe(2 * 4);
    expect(bk.length).toBe(2 + 2 * 2 * 4);
    bert.dispose();
  });

  it('holds several named adapters; the active one alone is applied and trained', async () => {
    const model = await base('gpt2');
    const ids = randint(0, 128, [1, 5]);
    const plain = f64(noGrad(() => tidy(() => model.forward({ inputIds: ids }).logits)));
    const peft = getPeftModel(model, bottleneckConfig('seq_bn', { reduction_factor: 4 }), { adapterName: 'pf' });
    peft.addAdapter('hb', bottleneckConfig('double_seq_bn', { reduction_factor: 8, init_weights: 'houlsby' }));
    const pf = logitsOf(peft, ids);
    peft.setAdapter('hb');
    const hb = logitsOf(peft, ids);
    expect(pf).not.toEqual(plain);
    expect(hb).not.toEqual(pf);
    const trainable = [...adapterHubParameters(peft).keys()];
    expect(trainable.every((k) => k.includes('.adapters.hb.'))).toBe(true);
    expect(trainable.filter((k) => k.includes('attention_adapters')).length).toBe(2 * 4);
    expect(peft.disableAdapter(() => logitsOf(peft, ids))).toEqual(plain);
    peft.deleteAdapter('hb');
    expect(peft.activeAdapter).toBe('pf');
    expect(logitsOf(peft, ids)).toEqual(pf);
    ids.dispose();
    peft.dispose();
  });

  it('leave_out and per-layer reduction factors place and size adapters as the library does', async () => {
    const peft = getPeftModel(
      await base('llama'),
      bottleneckConfig('double_seq_bn', { reduction_factor: { '1': 2, default: 16 }, leave_out: [0] }),
    );
    const layers = peft.adapterLayers().filter(([, l]) => l instanceof BottleneckLayer) as [string, BottleneckLayer][];
    expect(layers.map(([p]) => p).sort()).toEqual(['model.layers.1.attention_residual', 'model.layers.1.mlp_residual']);
    expect(layers.map(([, l]) => l.adapter('default').downSize)).toEqual([32, 32]);
    peft.dispose();
    const c = normalizeBottleneckConfig(bottleneckConfig('seq_bn', { reduction_factor: { default: 0.5 } }));
    expect(bottleneckSize(c, 64, 3)).toBe(128);
    expect(
      bottleneckSize(normalizeBottleneckConfig(bottleneckConfig('seq_bn', { reduction_factor: 100 })), 64, 0),
    ).toBe(1);
    expect(() =>
      bottleneckSize(normalizeBottleneckConfig(bottleneckConfig('seq_bn', { reduction_factor: { '0': 2 } })), 64, 1),
    ).toThrow(/no "default"/);
  });

  it('initialises as AdapterHub: bert N(0, 0.02) with zero biases, mam_adapter zero up-projection, houlsby truncated', async () => {
    const stats = (v: number[]) => {
      const m = v.reduce((a, x) => a + x, 0) / v.length;
      return {
        mean: m,
        std: Math.sqrt(v.reduce((a, x) => a + (x - m) ** 2, 0) / v.length),
        max: Math.max(...v.map(Math.abs)),
      };
    };
    const model = await base('llama');
    const peft = getPeftModel(model, bottleneckConfig('seq_bn', { reduction_factor: 1 }), { adapterName: 'bert' });
    peft.addAdapter('mam', bottleneckConfig('par_bn', { reduction_factor: 1 }));
    peft.addAdapter('houlsby', bottleneckConfig('seq_bn', { reduction_factor: 1, init_weights: 'houlsby' }));
    peft.addAdapter('seeded', bottleneckConfig('seq_bn', { reduction_factor: 1, init_weights_seed: 7 }));
    const s = (n: string) => peft.adapterStateDict(n);
    const key = (layer: number, p: string) => `base_model.model.model.layers.${layer}.mlp_residual.${p}`;
    const bert = stats(f64(s('bert')[key(0, 'adapter_down.0.weight')]!));
    expect(Math.abs(bert.std - 0.02)).toBeLessThan(0.002);
    expect(f64(s('bert')[key(0, 'adapter_down.0.bias')]!).every((x) => x === 0)).toBe(true);
    expect(f64(s('mam')[key(0, 'adapter_up.weight')]!).every((x) => x === 0)).toBe(true);
    const mamDown = stats(f64(s('mam')[key(0, 'adapter_down.0.weight')]!));
    expect(mamDown.max).toBeLessThanOrEqual(1 / Math.sqrt(64)); // kaiming_uniform(a=√5): U(±1/√fan_in)
    const h = stats(f64(s('houlsby')[key(1, 'adapter_up.weight')]!));
    expect(h.max).toBeLessThanOrEqual(0.02);
    expect(Math.abs(h.std - 0.01 * 0.8796)).toBeLessThan(0.0008); // std of N(0, 1) truncated to ±2σ
    // init_weights_seed re-seeds every module: all layers start alike.
    expect(f64(s('seeded')[key(0, 'adapter_down.0.weight')]!)).toEqual(
      f64(s('seeded')[key(1, 'adapter_down.0.weight')]!),
    );
    peft.dispose();
  });

  it('rejects configs it cannot compute as the library does, naming the field', () => {
    const ok = bottleneckConfig('seq_bn');
    const bad = (o: Record<string, unknown>) => () => normalizeBottleneckConfig({ ...ok, ...o });
    expect(bad({ phm_layer: true })).toThrow(PeftConfigError);
    expect(bad({ phm_layer: true })).toThrow(/phm_layer/);
    expect(bad({ inv_adapter: 'nice' })).toThrow(/inv_adapter/);
    expect(bad({ stochastic_depth: 0.1 })).toThrow(/stochastic_depth/);
    expect(bad({ scaling: 'huge' })).toThrow(/scaling/);
    expect(bad({ reduction_factor: -2 })).toThrow(/reduction_factor/);
    expect(bad({ init_weights: 'xavier' })).toThrow(/init_weights/);
    expect(bad({ target_modules: ['q_proj'] })).toThrow(/target_modules/);
    expect(bad({ mh_adapter: false, output_adapter: false })).toThrow(/nowhere/);
    expect(() => normalizeBottleneckConfig({ peft_type: 'BOTTLENECK', reduction_factor: 16 })).toThrow(/mh_adapter/);
    expect(() => bottleneckConfig('compacter')).toThrow(/unknown bottleneck config/);
  });

  it('rejects models and options that do not fit, before changing the model', async () => {
    const model = await base('llama');
    expect(() => getPeftModel(model, bottleneckConfig('seq_bn', { non_linearity: 'softplus' }))).toThrow(
      /non_linearity/,
    );
    expect(() => getPeftModel(model, bottleneckConfig('seq_bn', { leave_out: [0, 1] }))).toThrow(
      /matched no module|leave_out/,
    );
    expect(model.namedModules().some(([, m]) => m instanceof BottleneckLayer)).toBe(false);
    // A module without a known model_type (one decoder layer): no placement to follow.
    const block = model.getSubmodule('model.layers.0');
    expect(() => getPeftModel(block, bottleneckConfig('seq_bn'))).toThrow(/model_type/);
    model.dispose();
  });

  it('registers the presets "bottleneck" (Pfeiffer) and "houlsby"', () => {
    const pf = getPreset('bottleneck').config({ taskType: 'CAUSAL_LM', r: 8, targetModules: ['q_proj'] });
    expect(pf).toMatchObject({
      peft_type: 'BOTTLENECK',
      mh_adapter: false,
      output_adapter: true,
      non_linearity: 'relu',
    });
    expect(pf.target_modules).toBeUndefined();
    const hb = getPreset('houlsby').config({});
    expect(hb).toMatchObject({ mh_adapter: true, output_adapter: true, non_linearity: 'swish' });
    expect(() => normalizeBottleneckConfig(pf)).not.toThrow();
  });
});
