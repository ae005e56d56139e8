/**
 * Every optional hook of the registry, used by two third-party methods written here against the public API only,
 * on a real (tiny, random) LLaMA, trained by the real Trainer, saved and loaded back:
 *
 * - SHAREDGATE (a tuner): y = base(x) ⊙ (1 + g) with ONE gate vector g shared by every adapted layer — created in
 *   `prepareInjection` on the tuner root (`ctx.shared`), saved once under the absolute key
 *   `base_model.sharedgate_bank`, looked up by the layers at forward time (so loading ties them again);
 *   `prepareConfig` reads the gate size from the model's config (`hidden_size`); `onTrainStep` clamps the gate
 *   after each optimizer step and records the steps it saw and whether gradients were still there;
 *   `transformStateForSave` / `transformStateForLoad` store the gate as `1 + g` and back.
 * - VPREFIX (a prompt method): learned virtual-token embeddings that a model-level `forward` prepends to the input
 *   embeddings, growing the attention mask and labels; saved as one `vprefix_embeddings` tensor.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLinearLike, type LinearLike, Module } from '@peftjs/nn';
import { LlamaForCausalLM } from '@peftjs/models';
import {
  AdapterLayer,
  type AdapterMethod,
  type AdapterSlot,
  field,
  getPeftModel,
  isNumber,
  normalizeTunerFields,
  PeftConfigError,
  registerAdapter,
  type SharedState,
  type TargetContext,
  type TunerConfig,
} from '@peftjs/registry';
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';
import { loadTensors } from '@peftjs/safetensors';
import {
  add,
  composite,
  concat,
  full,
  manualSeed,
  maximum,
  minimum,
  mul,
  noGrad,
  randn,
  reshape,
  sub,
  type Tensor,
  tensor,
  tidy,
} from '@peftjs/tensor';
import { chunkTokens, Trainer } from '@peftjs/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BANK = 'sharedgate_bank';

interface SharedGateConfig extends TunerConfig {
  peft_type: 'SHAREDGATE';
  /** Size of the shared gate: the model's hidden size (filled by prepareConfig). */
  gate_dim?: number | null;
  /** |g| is clamped to this after every optimizer step. */
  max_gate?: number;
}

/** What the training-step hook saw, for the assertions. */
const stepLog: { step: number; gradPresent: boolean }[] = [];
const injections: { adapter: string; paths: string[] }[] = [];

class SharedGateLayer extends AdapterLayer {
  private readonly shared: SharedState;
  constructor(base: Module, _config: SharedGateConfig, ctx: TargetContext) {
    super(base);
    this.shared = ctx.shared;
    this.addAdapter(ctx.adapterName);
  }
  addAdapter(name: string): void {
    this.adapterNames.push(name);
  }
  deleteAdapter(name: string): void {
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
  }
  /** The layer owns no tensor: the gate is on the root and saved there. */
  adapterSlots(): AdapterSlot[] {
    return [];
  }
  forward(x: Tensor): Tensor {
    const base = this.baseLayer as unknown as LinearLike;
    const names = this.adaptersToApply();
    if (!names.length) return base.forward(x);
    return composite(() => {
      let y = base.forward(x);
      for (const a of names) y = mul(y, add(this.shared.get(a, BANK), 1)); // looked up now: tied after load
      return y;
    });
  }
}

const sharedGate: AdapterMethod<SharedGateConfig> = {
  name: 'sharedgate',
  peftType: 'SHAREDGATE',
  supportedModules: ['linear layers whose output size is the hidden size'],
  normalizeConfig: (raw) => ({
    ...normalizeTunerFields(raw),
    peft_type: 'SHAREDGATE',
    gate_dim: field(raw, 'gate_dim', null, isNumber, 'a number'),
    max_gate: field(raw, 'max_gate', 0.05, isNumber, 'a number'),
  }),
  toJSON: (c) => ({
    peft_type: 'SHAREDGATE',
    target_modules: c.target_modules ?? null,
    gate_dim: c.gate_dim ?? null,
    max_gate: c.max_gate ?? 0.05,
  }),
  canAdapt: (m) => isLinearLike(m),
  createLayer: (m, c, ctx) => new SharedGateLayer(m, c, ctx),
  prepareConfig(config, model) {
    const hidden = model.config.hidden_size;
    if (typeof hidden !== 'number') throw new PeftConfigError('gate_dim', 'the model config has no hidden_size');
    return { ...config, gate_dim: config.gate_dim ?? hidden };
  },
  prepareInjection(targets, config, ctx) {
    for (const t of targets) {
      if ((t.module as unknown as LinearLike).outFeatures !== config.gate_dim)
        throw new PeftConfigError('target_modules', `'${t.path}' does not output ${config.gate_dim} features`);
    }
    injections.push({ adapter: ctx.adapterName, paths: targets.map((t) => t.path) });
    const g = randn([config.gate_dim!], 0, 0.01);
    g.requiresGrad = true;
    ctx.shared.register(ctx.adapterName, BANK, g);
    return undefined;
  },
  onTrainStep(ctx) {
    const bank = ctx.shared!.get(ctx.adapterName, BANK);
    stepLog.push({ step: ctx.step, gradPresent: bank.grad !== null });
    const m = ctx.config.max_gate ?? 0.05;
    ctx.shared!.set(
      ctx.adapterName,
      BANK,
      noGrad(() => tidy(() => maximum(minimum(bank, m), -m))),
    );
  },
  transformStateForSave(state) {
    // stored as the multiplier 1 + g (a stand-in for any change of representation)
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(state)) out[k] = k === `base_model.${BANK}` ? noGrad(() => add(t, 1)) : t;
    return out;
  },
  transformStateForLoad(state) {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(state)) out[k] = k === `base_model.${BANK}` ? noGrad(() => sub(t, 1)) : t;
    return out;
  },
};

interface VPrefixConfig extends TunerConfig {
  peft_type: 'VPREFIX';
  num_virtual_tokens?: number;
  token_dim?: number | null;
}

class VPrefixEncoder extends Module {
  constructor(n: number, dim: number) {
    super();
    const e = randn([n, dim], 0, 0.5);
    e.requiresGrad = true;
    this.registerParameter('embedding', e);
  }
}

const vprefix: AdapterMethod<VPrefixConfig> = {
  name: 'vprefix',
  peftType: 'VPREFIX',
  kind: 'prompt',
  supportedModules: [],
  normalizeConfig: (raw) => ({
    ...normalizeTunerFields(raw),
    peft_type: 'VPREFIX',
    num_virtual_tokens: field(raw, 'num_virtual_tokens', 3, isNumber, 'a number'),
    token_dim: field(raw, 'token_dim', null, isNumber, 'a number'),
  }),
  toJSON: (c) => ({ peft_type: 'VPREFIX', num_virtual_tokens: c.num_virtual_tokens, token_dim: c.token_dim ?? null }),
  canAdapt: () => false,
  createLayer: () => {
    throw new Error('a prompt method wraps no layer');
  },
  prepareConfig: (c, model) => ({ ...c, token_dim: c.token_dim ?? (model.config.hidden_size as number) }),
  createPromptEncoder: (c) => new VPrefixEncoder(c.num_virtual_tokens!, c.token_dim!),
  forward(inputs, next, ctx) {
    const model = ctx.model as unknown as LlamaForCausalLM;
    const ids = inputs.inputIds!;
    const [b] = ids.shape;
    const n = ctx.config.num_virtual_tokens!;
    const prompts = ctx.promptEncoder!.param('embedding');
    const words = model.getInputEmbeddings().forward(ids);
    const embeds = concat([mul(full([b, n, prompts.shape[1]!], 1), reshape(prompts, [1, n, -1])), words], 1);
    const mask = inputs.attentionMask
      ? concat([full([b, n], 1, { dtype: inputs.attentionMask.dtype }), inputs.attentionMask], 1)
      : null;
    const labels = inputs.labels ? concat([full([b, n], -100, { dtype: 'i32' }), inputs.labels], 1) : null;
    return next({ inputsEmbeds: embeds, attentionMask: mask, labels });
  },
  transformStateForSave: (state) => ({ vprefix_embeddings: state['prompt_encoder.embedding']! }),
  transformStateForLoad: (state) => ({ 'prompt_encoder.embedding': state.vprefix_embeddings! }),
};

registerAdapter(sharedGate);
registerAdapter(vprefix);

function tinyLlama(): LlamaForCausalLM {
  manualSeed(7);
  return new LlamaForCausalLM({
    model_type: 'llama',
    vocab_size: 32,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 32,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: false,
  });
}
const data = chunkTokens(
  Array.from({ length: 400 }, (_, i) => (i * 7 + (i >> 3)) % 32),
  16,
);
const ids = tensor(
  Array.from({ length: 2 * 8 }, (_, i) => (i * 5) % 32),
  [2, 8],
  { dtype: 'i32' },
);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-hooks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('registry hooks, used by third-party methods', () => {
  it('shared state on the root, config preparation, injection planning, the training-step hook, save transforms', async () => {
    const peft = getPeftModel(tinyLlama(), { peft_type: 'SHAREDGATE', target_modules: ['o_proj', 'down_proj'] });
    // prepareConfig filled gate_dim from the model; prepareInjection saw all four targets at once
    expect((peft.peftConfig() as SharedGateConfig).gate_dim).toBe(16);
    expect(injections.at(-1)).toEqual({
      adapter: 'default',
      paths: [
        'model.layers.0.self_attn.o_proj',
        'model.layers.0.mlp.down_proj',
        'model.layers.1.self_attn.o_proj',
        'model.layers.1.mlp.down_proj',
      ],
    });
    // one shared tensor, saved once under its absolute key, and the only trainable parameter
    expect(Object.keys(peft.adapterStateDict())).toEqual([`base_model.${BANK}`]);
    expect(peft.countTrainable().trainable).toBe(16);

    const trainer = new Trainer({ model: peft, train: data, lr: 0.05, maxSteps: 4, batchSize: 4, seed: 1 });
    stepLog.length = 0;
    await trainer.train();
    // called after every optimizer step, counted from 0, with the step's gradients still present
    expect(stepLog).toEqual([0, 1, 2, 3].map((step) => ({ step, gradPresent: true })));
    const gate = await peft.adapterStateDict()[`base_model.${BANK}`]!.data();
    expect(Math.max(...Array.from(gate, Math.abs))).toBeLessThanOrEqual(0.05 + 1e-7); // the hook's clamp held
    expect(Math.max(...Array.from(gate, Math.abs))).toBeGreaterThan(0.01); // and training moved the gate

    const logits = await noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits)).data();
    await savePeftModel(peft, join(dir, 'gate'));
    const saved = await loadTensors(new Uint8Array(await readFile(join(dir, 'gate', 'adapter_model.safetensors'))));
    expect(Object.keys(saved)).toEqual([`base_model.${BANK}`]);
    const stored = await saved[`base_model.${BANK}`]!.data();
    expect(Array.from(stored, (v, i) => v - 1 - gate[i]!).every((d) => Math.abs(d) < 1e-6)).toBe(true); // 1 + g

    const loaded = await loadPeftModel(tinyLlama(), join(dir, 'gate'));
    const again = await noGrad(() => tidy(() => loaded.forward({ inputIds: ids }).logits)).data();
    let worst = 0;
    for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(again[i]! - logits[i]!));
    expect(worst).toBeLessThan(1e-5); // every layer reads the one loaded gate
  });

  it('a prompt method: its encoder, a model-level forward that grows the inputs, one saved tensor', async () => {
    const base = tinyLlama();
    const before = await noGrad(() => tidy(() => base.forward({ inputIds: ids }).logits)).data();
    const peft = getPeftModel(base, { peft_type: 'VPREFIX', num_virtual_tokens: 3 });
    expect(peft.kind).toBe('prompt');
    expect((peft.peftConfig() as VPrefixConfig).token_dim).toBe(16);
    expect(peft.countTrainable().trainable).toBe(3 * 16);
    const out = noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits));
    expect(out.shape).toEqual([2, 11, 32]); // virtual positions first, as PEFT's prompt methods
    out.dispose();
    // disabled, the model-level forward is bypassed
    const off = await peft.disableAdapter(() =>
      noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits)).data(),
    );
    expect(Array.from(off)).toEqual(Array.from(before));

    const trainer = new Trainer({ model: peft, train: data, lr: 0.05, maxSteps: 3, batchSize: 4, seed: 1 });
    const first = await trainer.evaluate(data.slice(0, 8));
    await trainer.train();
    const after = await trainer.evaluate(data.slice(0, 8));
    expect(after.loss).toBeLessThan(first.loss);

    await savePeftModel(peft, join(dir, 'prefix'));
    const files = JSON.parse(await readFile(join(dir, 'prefix', 'adapter_config.json'), 'utf8'));
    expect(files).toMatchObject({ peft_type: 'VPREFIX', num_virtual_tokens: 3, token_dim: 16 });
    const saved = await loadTensors(new Uint8Array(await readFile(join(dir, 'prefix', 'adapter_model.safetensors'))));
    expect(Object.keys(saved)).toEqual(['vprefix_embeddings']);
    const loaded = await loadPeftModel(tinyLlama(), join(dir, 'prefix'));
    const a = await noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits)).data();
    const b = await noGrad(() => tidy(() => loaded.forward({ inputIds: ids }).logits)).data();
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
