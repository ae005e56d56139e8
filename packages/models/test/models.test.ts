import { join } from 'node:path';
import { type Linear, Module } from '@peftjs/nn';
import { crossEntropy, Generator, memory, noGrad, randint, randn, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import {
  BertForSequenceClassification,
  causalLMLoss,
  GPT2LMHeadModel,
  LlamaForCausalLM,
  type PreTrainedModel,
  type RawConfig,
  sequenceClassificationLoss,
} from '../src/index.js';
import { fromPretrained } from '../src/node.js';
import { goldenRoot, relMaxError } from './helpers/golden.js';

const base = (arch: string) => join(goldenRoot(), 'base', arch);
const values = async (t: Tensor) => Array.from(await t.data());

const tinyLlama: RawConfig = {
  vocab_size: 40,
  hidden_size: 16,
  intermediate_size: 24,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};

describe('padding, causality and input forms', () => {
  const ids = [
    [5, 17, 99, 3, 42, 8, 61, 7, 1, 2],
    [11, 4, 90, 23, 77, 6, 50, 0, 0, 0],
  ];
  const mask = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
  ];

  for (const arch of ['llama', 'gpt2', 'bert'] as const) {
    it(`${arch}: a right-padded row gives the logits of the same tokens without padding`, async () => {
      const m: PreTrainedModel = await fromPretrained(base(arch));
      const padded = await values(
        tidy(
          () =>
            m.forward({
              inputIds: tensor(ids, [2, 10], { dtype: 'i32' }),
              attentionMask: tensor(mask, [2, 10], { dtype: 'i32' }),
            }).logits,
        ),
      );
      const alone = await values(
        tidy(() => m.forward({ inputIds: tensor([ids[1].slice(0, 7)], [1, 7], { dtype: 'i32' }) }).logits),
      );
      const per = arch === 'bert' ? 2 : 7 * 128;
      const offset = arch === 'bert' ? 2 : 10 * 128;
      expect(relMaxError(padded.slice(offset, offset + per), alone)).toBeLessThan(1e-5);
      // a bool mask means the same as the integer one
      const asBool = await values(
        tidy(
          () =>
            m.forward({
              inputIds: tensor(ids, [2, 10], { dtype: 'i32' }),
              attentionMask: tensor(mask, [2, 10], { dtype: 'bool' }),
            }).logits,
        ),
      );
      expect(asBool).toEqual(padded);
      m.dispose();
    });
  }

  for (const arch of ['llama', 'gpt2'] as const) {
    it(`${arch}: causal — changing a later token leaves earlier logits unchanged`, async () => {
      const m: PreTrainedModel = await fromPretrained(base(arch));
      const a = await values(tidy(() => m.forward({ inputIds: tensor([ids[0]], [1, 10], { dtype: 'i32' }) }).logits));
      const changed = [...ids[0]];
      changed[6] = 100;
      const b = await values(tidy(() => m.forward({ inputIds: tensor([changed], [1, 10], { dtype: 'i32' }) }).logits));
      expect(b.slice(0, 6 * 128)).toEqual(a.slice(0, 6 * 128));
      expect(b.slice(6 * 128)).not.toEqual(a.slice(6 * 128));
      m.dispose();
    });
  }

  for (const arch of ['llama', 'gpt2', 'bert'] as const) {
    it(`${arch}: inputsEmbeds = the embedding of inputIds gives the same logits`, async () => {
      const m: PreTrainedModel = await fromPretrained(base(arch));
      const x = tensor(ids, [2, 10], { dtype: 'i32' });
      const a = await values(tidy(() => m.forward({ inputIds: x }).logits));
      const b = await values(tidy(() => m.forward({ inputsEmbeds: m.getInputEmbeddings().forward(x) }).logits));
      expect(b).toEqual(a);
      expect(() => m.forward({})).toThrow(/exactly one of inputIds and inputsEmbeds/);
      expect(() => m.forward({ inputIds: x, attentionMask: tensor([[1, 1]], [1, 2], { dtype: 'i32' }) })).toThrow(
        /attentionMask must be \[batch, past \+ seq\] = \[2, 10\]/,
      );
      m.dispose();
    });
  }
});

describe('losses', () => {
  it('causal LM loss: shifted next-token cross-entropy, -100 ignored, mean over kept targets', async () => {
    const logits = randn([2, 4, 5], 0, 1, { generator: new Generator(1) });
    const labels = tensor(
      [
        [1, 2, 3, 4],
        [0, 4, -100, -100],
      ],
      [2, 4],
      { dtype: 'i32' },
    );
    const l = await values(logits);
    const y = [
      [1, 2, 3, 4],
      [0, 4, -100, -100],
    ];
    let total = 0;
    let n = 0;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 3; t++) {
        const target = y[b][t + 1];
        if (target === -100) continue;
        const row = l.slice((b * 4 + t) * 5, (b * 4 + t + 1) * 5);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
        total += lse - row[target];
        n++;
      }
    }
    expect(n).toBe(4);
    expect(await tidy(() => causalLMLoss(logits, labels)).item()).toBeCloseTo(total / n, 5);
  });

  it('sequence classification: cross-entropy, MSE for one label, BCE-with-logits for multi-hot f32 labels', async () => {
    const logits = tensor([
      [0.5, -1.0, 2.0],
      [1.5, 0.25, -0.5],
    ]);
    const ce = await tidy(() => sequenceClassificationLoss(logits, tensor([2, 0], [2], { dtype: 'i32' }), 3)).item();
    expect(ce).toBeCloseTo(await tidy(() => crossEntropy(logits, tensor([2, 0], [2], { dtype: 'i32' }))).item(), 6);
    const reg = await tidy(() => sequenceClassificationLoss(tensor([[0.5], [2]]), tensor([1, 1]), 1)).item();
    expect(reg).toBeCloseTo((0.25 + 1) / 2, 6);
    const multi = [
      [1, 0, 1],
      [0, 0, 1],
    ];
    const bce = await tidy(() => sequenceClassificationLoss(logits, tensor(multi), 3)).item();
    const x = [0.5, -1.0, 2.0, 1.5, 0.25, -0.5];
    const ref =
      x.reduce((s, v, i) => {
        const yv = multi.flat()[i];
        return s - (yv * Math.log(1 / (1 + Math.exp(-v))) + (1 - yv) * Math.log(1 - 1 / (1 + Math.exp(-v))));
      }, 0) / 6;
    expect(bce).toBeCloseTo(ref, 6);
    expect(() => sequenceClassificationLoss(logits, tensor([1, 0], [2], { dtype: 'i32' }), 3, 'regression')).toThrow(
      /f32 labels/,
    );
  });

  it('BERT regression head (num_labels = 1) uses MSE', async () => {
    const m = new BertForSequenceClassification(
      {
        vocab_size: 20,
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 16,
        num_labels: 1,
      },
      { generator: new Generator(3) },
    );
    m.eval();
    const out = tidy(() =>
      m.forward({ inputIds: tensor([[1, 2, 3]], [1, 3], { dtype: 'i32' }), labels: tensor([0.5]) }),
    );
    const logit = (await values(out.logits))[0];
    expect(await out.loss!.item()).toBeCloseTo((logit - 0.5) ** 2, 5);
    m.dispose();
  });
});

describe('fresh models, tying, freezing and wrapping', () => {
  it('builds from a config with Hugging Face initialisation and state-dict names', async () => {
    const m = new LlamaForCausalLM(tinyLlama, { generator: new Generator(1) });
    const names = m.namedParameters().map(([n]) => n);
    expect(names.slice(0, 2)).toEqual(['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight']);
    expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
    expect(names.at(-1)).toBe('lm_head.weight');
    expect(m.stateDict()['model.layers.0.self_attn.k_proj.weight'].shape).toEqual([8, 16]);
    const w = await values(m.stateDict()['model.layers.0.mlp.up_proj.weight']);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.025);
    expect(await values(m.stateDict()['model.norm.weight'])).toEqual(new Array(16).fill(1));
    const { logits } = tidy(() => m.forward({ inputIds: tensor([[1, 2, 3]], [1, 3], { dtype: 'i32' }) }));
    expect(logits.shape).toEqual([1, 3, 40]);
    m.dispose();
  });

  it('tie_word_embeddings: one tensor, whose gradient sums the embedding and head gradients', async () => {
    const gen = new Generator(5);
    const tied = new LlamaForCausalLM({ ...tinyLlama, tie_word_embeddings: true }, { generator: gen });
    const untied = new LlamaForCausalLM(tinyLlama, { generator: gen });
    expect(tied.namedParameters().map(([n]) => n)).not.toContain('lm_head.weight');
    const dict = { ...tied.stateDict() };
    untied.loadStateDict(dict); // lm_head.weight and embed_tokens.weight both from the tied tensor
    const ids = randint(0, 40, [2, 6], { generator: gen });
    const run = (m: PreTrainedModel) =>
      tidy(() => {
        const out = m.forward({ inputIds: ids, labels: ids });
        out.loss!.backward();
        return out.loss!;
      });
    const lt = await run(tied).item();
    const lu = await run(untied).item();
    expect(lt).toBeCloseTo(lu, 6);
    const g = await values(tied.stateDict()['lm_head.weight'].grad!);
    const ge = await values(untied.stateDict()['model.embed_tokens.weight'].grad!);
    const gh = await values(untied.stateDict()['lm_head.weight'].grad!);
    expect(
      relMaxError(
        g,
        ge.map((v, i) => v + gh[i]),
      ),
    ).toBeLessThan(1e-6);
    tied.dispose();
    untied.dispose();
  });

  it('BERT key bias: its gradient is exactly zero (softmax ignores it), and the logits are unchanged', async () => {
    const m = await fromPretrained(base('bert'));
    const x = tensor([[5, 9, 2, 7, 1]], [1, 5], { dtype: 'i32' });
    const labels = tensor([1], [1], { dtype: 'i32' });
    const withGrad = tidy(() => {
      const out = m.forward({ inputIds: x, labels });
      out.loss!.backward();
      return out.logits;
    });
    for (const l of [0, 1]) {
      const g = await values(m.stateDict()[`bert.encoder.layer.${l}.attention.self.key.bias`].grad!);
      expect(g.every((v) => v === 0)).toBe(true);
      expect(
        (await values(m.stateDict()[`bert.encoder.layer.${l}.attention.self.query.bias`].grad!)).some((v) => v !== 0),
      ).toBe(true);
    }
    const plain = noGrad(() => m.forward({ inputIds: x }).logits);
    expect(relMaxError(await values(withGrad), await values(plain))).toBeLessThan(1e-6);
    m.dispose();
  });

  it('a frozen base trains only the head: frozen parameters get no gradient', async () => {
    const m = await fromPretrained(base('bert'));
    m.freeze();
    m.getSubmodule('classifier').requiresGrad_(true);
    tidy(() => {
      const out = m.forward({
        inputIds: tensor([[1, 2, 3, 4]], [1, 4], { dtype: 'i32' }),
        labels: tensor([1], [1], { dtype: 'i32' }),
      });
      out.loss!.backward();
    });
    for (const [n, p] of m.namedParameters()) {
      if (n.startsWith('classifier.')) expect(p.grad, n).not.toBeNull();
      else expect(p.grad, n).toBeNull();
    }
    expect(m.countParameters().trainable).toBe(2 * 64 + 2);
    m.dispose();
  });

  it('setSubmodule: a wrapper around q_proj keeps the base weights under base_layer and is called by the model', async () => {
    class Scaled extends Module {
      constructor(
        base: Linear,
        readonly s: number,
      ) {
        super();
        this.registerModule('base_layer', base);
      }
      forward(x: Tensor): Tensor {
        return this.callLayer('base_layer', x).mul(this.s);
      }
    }
    const m = await fromPretrained(base('llama'));
    const x = tensor([[3, 1, 4, 1, 5]], [1, 5], { dtype: 'i32' });
    const before = await values(tidy(() => m.forward({ inputIds: x }).logits));
    const path = 'model.layers.1.self_attn.q_proj';
    const orig = m.getSubmodule(path) as Linear;
    m.setSubmodule(path, new Scaled(orig, 1));
    expect(m.namedParameters().map(([n]) => n)).toContain(`${path}.base_layer.weight`);
    expect(await values(tidy(() => m.forward({ inputIds: x }).logits))).toEqual(before);
    m.setSubmodule(path, new Scaled(orig, 2));
    expect(await values(tidy(() => m.forward({ inputIds: x }).logits))).not.toEqual(before);
    m.dispose();
  });

  it('dropout is active in train mode only, and reproducible with a seeded generator', async () => {
    const cfg = {
      vocab_size: 30,
      n_embd: 16,
      n_layer: 1,
      n_head: 2,
      n_positions: 16,
      resid_pdrop: 0.3,
      embd_pdrop: 0.3,
      attn_pdrop: 0.3,
    };
    const make = () => new GPT2LMHeadModel(cfg, { generator: new Generator(9) });
    const a = make();
    const b = make();
    const x = tensor([[1, 2, 3, 4]], [1, 4], { dtype: 'i32' });
    a.eval();
    const e1 = await values(tidy(() => a.forward({ inputIds: x }).logits));
    const e2 = await values(tidy(() => a.forward({ inputIds: x }).logits));
    expect(e2).toEqual(e1);
    a.train();
    b.train();
    const t1 = await values(tidy(() => a.forward({ inputIds: x }).logits));
    expect(t1).not.toEqual(e1);
    expect(await values(tidy(() => b.forward({ inputIds: x }).logits))).toEqual(t1); // same seed, same masks
    expect(await values(tidy(() => a.forward({ inputIds: x }).logits))).not.toEqual(t1); // the stream moves on
    a.dispose();
    b.dispose();
  });

  it('forward + backward inside tidy leaks nothing; without grad, intermediates are freed at once', async () => {
    const m = await fromPretrained(base('gpt2'));
    const x = randint(0, 128, [2, 8], { generator: new Generator(2) });
    const step = () =>
      tidy(() => {
        const out = m.forward({ inputIds: x, labels: x });
        out.loss!.backward();
      });
    step();
    m.zeroGrad();
    const before = memory().tensors;
    step();
    m.zeroGrad();
    expect(memory().tensors).toBe(before);
    const inference = noGrad(() => m.forward({ inputIds: x }));
    expect(memory().tensors).toBe(before + 1); // just the logits
    inference.logits.dispose();
    m.dispose();
  });
});
