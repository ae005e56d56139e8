/**
 * IA³ against float64 references (reference doc §6): y = (x·Wᵀ + b) ⊙ l for attention targets (l: [out, 1]),
 * y = (x ⊙ l)·Wᵀ + b for feed-forward targets (l: [1, in]); GPT-2 Conv1D; several active adapters multiply; merge
 * scales W (and a non-feed-forward bias), unmerge divides by l + 1e-8; gradients vs finite differences; PEFT's
 * config rules and per-model defaults; files round trip.
 */
import { Conv1D, Linear } from '@peftjs/nn';
import { PeftConfigError, PeftModel } from '@peftjs/registry';
import { crossEntropy, manualSeed, tensor, tidy } from '@peftjs/tensor';
import { conv1d, expectClose, f64, finiteDiff, linear, rand, setAdapter, tree } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { getPeftModel, IA3_DEFAULTS, type IA3Layer, normalizeIA3Config, prepareIA3Config } from '../src/index.js';

const M = 3;
const IN = 5;
const OUT = 4;

function net(opts: { conv?: boolean } = {}) {
  const mk = () => (opts.conv ? new Conv1D(IN, OUT, { std: 0.5 }) : new Linear(IN, OUT));
  const n = tree({ 'model.attn.k_proj': mk(), 'model.mlp.down_proj': mk() });
  // non-zero biases so that "the bias is scaled too" is visible
  for (const p of ['model.attn.k_proj', 'model.mlp.down_proj']) {
    n.at(p)
      .setParameter('bias', tensor(rand(OUT, p.length), [OUT]))
      ?.dispose();
  }
  return n;
}
const CONFIG = { peft_type: 'IA3', target_modules: ['k_proj', 'down_proj'], feedforward_modules: ['down_proj'] };

/** Reference forward of one layer: output scaling (ff false) or input scaling (ff true), in float64. */
function ref(x: number[], w: number[], b: number[], l: number[], ff: boolean, conv: boolean): number[] {
  const lin = (xx: number[]) => (conv ? conv1d(xx, w, b, M, IN, OUT) : linear(xx, w, b, M, IN, OUT));
  if (ff) return lin(x.map((v, i) => v * l[i % IN]));
  return lin(x).map((v, i) => v * l[i % OUT]);
}

function randomVectors(peft: PeftModel, seed: number, adapter?: string) {
  return setAdapter(
    peft,
    {
      'model.attn.k_proj.ia3_l': { data: rand(OUT, seed).map((v) => 1.5 + 0.5 * v), shape: [OUT, 1] },
      'model.mlp.down_proj.ia3_l': { data: rand(IN, seed + 1).map((v) => 1.5 + 0.5 * v), shape: [1, IN] },
    },
    adapter,
  );
}

describe('IA³ forward', () => {
  for (const conv of [false, true]) {
    it(`${conv ? 'Conv1D' : 'Linear'}: output scaling for attention, input scaling for feed-forward`, () => {
      const n = net({ conv });
      const w = {
        k: f64(n.at('model.attn.k_proj').param('weight')),
        d: f64(n.at('model.mlp.down_proj').param('weight')),
      };
      const b = { k: f64(n.at('model.attn.k_proj').param('bias')), d: f64(n.at('model.mlp.down_proj').param('bias')) };
      const peft = getPeftModel(n, CONFIG);
      const l = randomVectors(peft, 3);
      const xv = rand(M * IN, 9);
      const x = tensor(xv, [M, IN]);
      const k = peft.model.getSubmodule('model.attn.k_proj') as IA3Layer;
      const d = peft.model.getSubmodule('model.mlp.down_proj') as IA3Layer;
      expect(k.feedforward).toBe(false);
      expect(d.feedforward).toBe(true);
      expect(k.vector('default').shape).toEqual([OUT, 1]);
      expect(d.vector('default').shape).toEqual([1, IN]);
      expectClose(k.forward(x), ref(xv, w.k, b.k, l['model.attn.k_proj.ia3_l'], false, conv), 1e-6);
      expectClose(d.forward(x), ref(xv, w.d, b.d, l['model.mlp.down_proj.ia3_l'], true, conv), 1e-6);
      expect((peft.peftConfig() as { fan_in_fan_out?: boolean }).fan_in_fan_out).toBe(conv); // corrected to the layer, as PEFT saves it
    });
  }

  it('init_ia3_weights: true starts as the identity; several active adapters multiply', () => {
    const n = net();
    const x = tensor(rand(M * IN, 4), [M, IN]);
    const base = f64(n.at('model.attn.k_proj').forward(x));
    const peft = getPeftModel(n, CONFIG);
    const k = peft.model.getSubmodule('model.attn.k_proj') as IA3Layer;
    expectClose(k.forward(x), base, 1e-7);
    peft.addAdapter('second', CONFIG);
    const l1 = randomVectors(peft, 11, 'default')['model.attn.k_proj.ia3_l'];
    const l2 = randomVectors(peft, 21, 'second')['model.attn.k_proj.ia3_l'];
    k.activeAdapters = ['default', 'second'];
    expectClose(
      k.forward(x),
      base.map((v, i) => v * l1[i % OUT] * l2[i % OUT]),
      1e-6,
    );
  });

  it('gradients of ia3_l equal finite differences of a float64 loss', () => {
    const n = net();
    const peft = getPeftModel(n, CONFIG);
    randomVectors(peft, 5);
    const xv = rand(M * IN, 6);
    const targets = [1, 3, 0];
    const d = peft.model.getSubmodule('model.mlp.down_proj') as IA3Layer;
    const w = f64(n.at('model.mlp.down_proj.base_layer').param('weight'));
    const b = f64(n.at('model.mlp.down_proj.base_layer').param('bias'));
    tidy(() => crossEntropy(d.forward(tensor(xv, [M, IN])), tensor(targets, [M], { dtype: 'i32' })).backward());
    const loss = (l: number[]) => {
      const y = ref(xv, w, b, l, true, false);
      let total = 0;
      for (let i = 0; i < M; i++) {
        const row = y.slice(i * OUT, (i + 1) * OUT);
        const mx = Math.max(...row);
        const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
        total += lse - row[targets[i]];
      }
      return total / M;
    };
    const l0 = f64(d.vector('default'));
    expectClose(d.vector('default').grad!, finiteDiff(loss, l0), 1e-5);
  });
});

describe('IA³ merge', () => {
  for (const conv of [false, true]) {
    it(`${conv ? 'Conv1D' : 'Linear'}: merge equals the adapter's forward, unmerge restores W and b`, () => {
      const n = net({ conv });
      const peft = getPeftModel(n, CONFIG);
      randomVectors(peft, 7);
      const x = tensor(rand(M * IN, 8), [M, IN]);
      const layers = ['model.attn.k_proj', 'model.mlp.down_proj'];
      const before = layers.map((p) => f64((peft.model.getSubmodule(p) as IA3Layer).forward(x)));
      const params = layers.map((p) => [
        f64(n.at(`${p}.base_layer`).param('weight')),
        f64(n.at(`${p}.base_layer`).param('bias')),
      ]);
      peft.merge();
      for (const [i, p] of layers.entries()) {
        const layer = peft.model.getSubmodule(p) as IA3Layer;
        expect(layer.merged).toBe(true);
        expectClose(layer.forward(x), before[i], 1e-6);
        // a feed-forward merge leaves the bias alone
        if (p.includes('down')) expectClose(layer.baseLayer.param('bias'), params[i][1], 0);
      }
      peft.unmerge();
      for (const [i, p] of layers.entries()) {
        expectClose(n.at(`${p}.base_layer`).param('weight'), params[i][0], 1e-6);
        expectClose(n.at(`${p}.base_layer`).param('bias'), params[i][1], 1e-6);
      }
      const plain = peft.mergeAndUnload();
      expect(plain.getSubmodule('model.attn.k_proj')).toBeInstanceOf(conv ? Conv1D : Linear);
      expectClose((plain.getSubmodule('model.attn.k_proj') as Linear).forward(x), before[0], 1e-6);
    });
  }
});

describe('IA³ config (PEFT rules)', () => {
  it('feedforward_modules must be a subset of target_modules (exact names, as PEFT)', () => {
    expect(() =>
      normalizeIA3Config({ peft_type: 'IA3', target_modules: ['c_proj'], feedforward_modules: ['mlp.c_proj'] }),
    ).toThrow(PeftConfigError);
    expect(() =>
      normalizeIA3Config({ peft_type: 'IA3', target_modules: ['k'], feedforward_modules: 'w.*' }),
    ).not.toThrow();
  });

  it('fills target and feed-forward modules from model_type, and refuses an unknown one', () => {
    const c = prepareIA3Config(normalizeIA3Config({ peft_type: 'IA3' }), { modelType: 'llama', config: {} });
    expect(c.target_modules).toEqual(['k_proj', 'v_proj', 'down_proj']);
    expect(c.feedforward_modules).toEqual(['down_proj']);
    const g = prepareIA3Config(normalizeIA3Config({ peft_type: 'IA3', target_modules: ['c_attn'] }), {
      modelType: 'gpt2',
      config: {},
    });
    expect(g.target_modules).toEqual(['c_attn']);
    expect(g.feedforward_modules).toEqual(IA3_DEFAULTS.gpt2!.feedforward);
    expect(() => prepareIA3Config(normalizeIA3Config({ peft_type: 'IA3' }), { modelType: 'nope', config: {} })).toThrow(
      /target_modules: is required/,
    );
    expect(() =>
      prepareIA3Config(normalizeIA3Config({ peft_type: 'IA3', target_modules: ['x'] }), {
        modelType: undefined,
        config: {},
      }),
    ).toThrow(/feedforward_modules: is required/);
  });

  it('a bad regex and wrong types are typed errors naming the field', () => {
    expect(() => normalizeIA3Config({ peft_type: 'IA3', init_ia3_weights: 'yes' })).toThrow(/init_ia3_weights/);
    const n = net();
    expect(() => getPeftModel(n, { ...CONFIG, feedforward_modules: '(', target_modules: ['k_proj'] })).toThrow(
      /feedforward_modules: invalid regular expression/,
    );
    // nothing was left behind by the failed attempt
    expect(n.getSubmodule('model.attn.k_proj')).toBeInstanceOf(Linear);
  });

  it('saves PEFT keys and config, and loads them back into a fresh model', async () => {
    manualSeed(1);
    const n = net();
    const peft = getPeftModel(n, CONFIG);
    randomVectors(peft, 13);
    const x = tensor(rand(M * IN, 14), [M, IN]);
    const layerOut = (p: PeftModel) =>
      ['model.attn.k_proj', 'model.mlp.down_proj'].map((k) => f64((p.model.getSubmodule(k) as IA3Layer).forward(x)));
    const y = layerOut(peft);
    const files = await peft.toAdapterFiles();
    expect(files.config).toMatchObject({
      peft_type: 'IA3',
      target_modules: ['k_proj', 'down_proj'],
      feedforward_modules: ['down_proj'],
      fan_in_fan_out: false,
      init_ia3_weights: true,
      inference_mode: true,
    });
    manualSeed(1);
    const loaded = await PeftModel.fromAdapterFiles(net(), files);
    expect(Object.keys(loaded.adapterStateDict()).sort()).toEqual([
      'base_model.model.model.attn.k_proj.ia3_l',
      'base_model.model.model.mlp.down_proj.ia3_l',
    ]);
    const z = layerOut(loaded);
    expectClose(z[0]!, y[0]!, 1e-7);
    expectClose(z[1]!, y[1]!, 1e-7);
    expect(loaded.countTrainable().trainable).toBe(0); // loaded for inference
  });
});
