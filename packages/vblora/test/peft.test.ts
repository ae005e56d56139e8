/**
 * VB-LoRA against PEFT 0.21 itself (test/fixtures/make_vblora.py): forward and ΔW of a two-layer MLP, the
 * save_only_topk_weights file both ways (PEFT's indices, dtypes and weights; PEFT's file reloaded gives PEFT's
 * output), merge / unmerge, gradients to the logits and the shared bank, and several adapters with their own banks.
 */
import { readFileSync } from 'node:fs';
import { Conv1D, Linear, Module } from '@peftjs/nn';
import { PeftModel } from '@peftjs/registry';
import { loadTensors, SafetensorsReader, saveTensors } from '@peftjs/safetensors';
import { matmul, randn, relMaxError, relu, sum, type Tensor, tidy, transpose } from '@peftjs/tensor';
import { tree } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { getPeftModel, type VBLoRALayer, vbloraPreset } from '../src/index.js';

class MLP extends Module {
  constructor() {
    super();
    this.registerModule('lin0', new Linear(32, 48));
    this.registerModule('lin1', new Linear(48, 16));
  }
  forward(x: Tensor): Tensor {
    return this.child<Linear>('lin1').forward(relu(this.child<Linear>('lin0').forward(x)));
  }
}

const fx = await loadTensors(readFileSync(new URL('./fixtures/vblora.safetensors', import.meta.url)));
const CONFIG = {
  peft_type: 'VBLORA',
  r: 3,
  num_vectors: 10,
  vector_length: 8,
  topk: 3,
  target_modules: ['lin0', 'lin1'],
};

function baseModel(): MLP {
  const m = new MLP();
  for (const [k, t] of Object.entries(fx)) {
    if (!k.startsWith('base.')) continue;
    const [layer, p] = k.slice(5).split('.');
    m.getSubmodule(layer).setParameter(p, t.detach())?.dispose();
  }
  return m;
}
const params = () =>
  Object.fromEntries(
    Object.entries(fx)
      .filter(([k]) => k.startsWith('param.'))
      // every PEFT layer also references the bank (named_parameters lists it per layer): one saved key
      .map(([k, t]) => [k.endsWith('vblora_vector_bank') ? 'base_model.vblora_vector_bank' : k.slice(6), t]),
  );
const err = async (a: Tensor, b: Tensor) => relMaxError(await a.data(), await b.data());

describe('VB-LoRA matches PEFT', () => {
  it('forward and ΔW', async () => {
    const peft = getPeftModel(baseModel(), CONFIG);
    peft.loadAdapterState(params());
    const y = peft.model.forward(fx.x);
    expect(await err(y, fx.y)).toBeLessThan(1e-5);
    for (const name of ['lin0', 'lin1']) {
      const d = (peft.model.getSubmodule(name) as VBLoRALayer).deltaWeight('default');
      expect(await err(d, fx[`delta.${name}`])).toBeLessThan(1e-5);
    }
    // bank once on the tuner root, logits per layer, nothing else trainable
    expect([...peft.adapterSlots().keys()].sort()).toEqual(
      ['lin0', 'lin1']
        .flatMap((l) => [`base_model.model.${l}.vblora_logits_A`, `base_model.model.${l}.vblora_logits_B`])
        .concat('base_model.vblora_vector_bank')
        .sort(),
    );
  });

  it('save_only_topk_weights writes what PEFT writes (uint8 indices, k − 1 weights)', async () => {
    const peft = getPeftModel(baseModel(), { ...CONFIG, save_only_topk_weights: true });
    peft.loadAdapterState(Object.fromEntries(Object.entries(params()).map(([k, t]) => [k, t])), 'default', {
      strict: true,
    });
    // (loading full logits into a top-k config goes through the load transform only for *_topk_* keys)
    const files = await peft.toAdapterFiles();
    const reader = SafetensorsReader.fromBytes(files.weights);
    const saved = await loadTensors(files.weights);
    const expected = Object.keys(fx).filter((k) => k.startsWith('saved.'));
    expect(reader.names().sort()).toEqual(expected.map((k) => k.slice(6)).sort());
    for (const k of expected) {
      const name = k.slice(6);
      if (name.endsWith('_topk_indices')) {
        expect(reader.info(name).dtype).toBe('U8');
        expect(Array.from(await saved[name].data())).toEqual(Array.from(await fx[k].data()));
      } else {
        expect(reader.info(name).dtype).toBe('F32');
        expect(await err(saved[name], fx[k])).toBeLessThan(1e-6);
      }
    }
    expect(files.config.save_only_topk_weights).toBe(true);
  });

  it("PEFT's top-k-only file loads for inference and reproduces PEFT's output", async () => {
    const tensors: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(fx)) if (k.startsWith('saved.')) tensors[k.slice(6)] = t;
    const weights = await saveTensors(
      tensors,
      { format: 'pt' },
      {
        dtype: (name) => (name.endsWith('_topk_indices') ? 'U8' : undefined),
      },
    );
    const peft = await PeftModel.fromAdapterFiles(baseModel(), {
      config: { ...CONFIG, save_only_topk_weights: true },
      weights,
    });
    const y = peft.model.forward(fx.x);
    expect(await err(y, fx.y_topk)).toBeLessThan(1e-5);
    // the rebuilt logits are −∞ outside the top k
    const la = await (peft.model.getSubmodule('lin0') as VBLoRALayer).logitsA('default').data();
    expect(la.filter((v) => v === Number.NEGATIVE_INFINITY).length).toBe((la.length / 10) * 7);
  });

  it('merge gives the same output; unmerge restores the base weights', async () => {
    const peft = getPeftModel(baseModel(), CONFIG);
    peft.loadAdapterState(params());
    const w0 = await peft.model.getSubmodule('lin0').getSubmodule('base_layer').param('weight').data();
    peft.merge();
    const layer = peft.model.getSubmodule('lin0') as VBLoRALayer;
    expect(layer.merged).toBe(true);
    expect(await err(peft.model.forward(fx.x), fx.y)).toBeLessThan(1e-5);
    peft.unmerge();
    const w1 = await layer.baseLayer.param('weight').data();
    expect(relMaxError(w1, w0)).toBeLessThan(1e-6);
  });

  it('gradients reach every layer’s logits and the shared bank', async () => {
    const peft = getPeftModel(baseModel(), CONFIG);
    peft.loadAdapterState(params());
    tidy(() => sum(peft.model.forward(fx.x)).backward());
    const grads = [...peft.adapterSlots().entries()].map(([k, s]) => [k, s.owner.param(s.param).grad] as const);
    for (const [k, g] of grads) {
      expect(g, k).toBeTruthy();
      const v = await g!.data();
      expect(
        v.some((x) => x !== 0),
        k,
      ).toBe(true);
    }
  });

  it('each adapter has its own bank; switching adapters switches banks', async () => {
    const peft = getPeftModel(baseModel(), CONFIG);
    peft.loadAdapterState(params());
    peft.addAdapter('second', CONFIG);
    expect(peft.adapterSlots('second').has('base_model.vblora_vector_bank')).toBe(true);
    const b1 = peft.adapterSlots('default').get('base_model.vblora_vector_bank')!;
    const b2 = peft.adapterSlots('second').get('base_model.vblora_vector_bank')!;
    expect(b1.owner.param(b1.param)).not.toBe(b2.owner.param(b2.param));
    peft.setAdapter('second');
    expect(await err(peft.model.forward(fx.x), fx.y)).toBeGreaterThan(1e-3);
    peft.setAdapter('default');
    expect(await err(peft.model.forward(fx.x), fx.y)).toBeLessThan(1e-5);
  });

  it('rejects dimensions not divisible by vector_length, and topk above the bank size', () => {
    expect(() => getPeftModel(baseModel(), { ...CONFIG, vector_length: 5 })).toThrow(/divisible by 5/);
    expect(() => getPeftModel(baseModel(), { ...CONFIG, topk: 11 })).toThrow(/exceeds num_vectors/);
  });

  it('the preset fits the vector length to the model', () => {
    const peft = getPeftModel(baseModel(), vbloraPreset.config({ targetModules: ['lin0', 'lin1'] }));
    expect(peft.adapterConfigJSON().vector_length).toBe(16);
  });

  it('Conv1D (weights [in, out]): y = base + x·Aᵀ·Bᵀ, ΔW transposed for merging, merge = forward', async () => {
    const conv = new Conv1D(32, 48);
    const net = tree({ c_attn: conv });
    const w0 = await conv.param('weight').data();
    const peft = getPeftModel(net, { ...CONFIG, target_modules: ['c_attn'], fan_in_fan_out: true });
    const layer = net.at('c_attn') as VBLoRALayer;
    const x = randn([3, 32]);
    const { A, B } = layer.loraMatrices('default');
    const expected = await tidy(() => conv.forward(x).add(matmul(matmul(x, transpose(A)), transpose(B)))).data();
    const y = await layer.forward(x).data();
    expect(relMaxError(y, expected)).toBeLessThan(1e-5);
    expect(layer.deltaWeight('default').shape).toEqual([32, 48]);
    peft.merge();
    expect(relMaxError(await layer.forward(x).data(), y)).toBeLessThan(1e-5);
    peft.unmerge();
    expect(relMaxError(await conv.param('weight').data(), w0)).toBeLessThan(1e-6);
  });
});
