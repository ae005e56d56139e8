import { join } from 'node:path';
import { memory, noGrad, relMaxError, reshape, slice, tensor, tidy } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { type CausalLMInputs, generate, type PreTrainedModel } from '../src/index.js';
import { fromPretrained } from '../src/node.js';
import { goldenRoot } from './helpers/golden.js';

const load = (arch: string) =>
  fromPretrained<PreTrainedModel<PreTrainedModel['config'], CausalLMInputs>>(join(goldenRoot(), 'base', arch));
const prompt = [
  [5, 17, 99, 3, 42],
  [11, 4, 90, 23, 77],
];

describe('generate', () => {
  for (const arch of ['llama', 'gpt2'] as const) {
    it(`${arch}: one cached step gives the logits of recomputing the whole sequence`, async () => {
      const model = await load(arch);
      model.eval();
      const full = [
        [...prompt[0], 8],
        [...prompt[1], 6],
      ];
      const [cached, recomputed] = noGrad(() =>
        tidy(() => {
          const ids = tensor(Int32Array.from(prompt.flat()), [2, 5], { dtype: 'i32' });
          const first = model.forward({ inputIds: ids, useCache: true });
          expect(first.pastKeyValues).toHaveLength(2);
          expect(first.pastKeyValues![0].key.shape[2]).toBe(5);
          const step = model.forward({
            inputIds: tensor(Int32Array.from([8, 6]), [2, 1], { dtype: 'i32' }),
            pastKeyValues: first.pastKeyValues,
            useCache: true,
          });
          expect(step.pastKeyValues![0].key.shape[2]).toBe(6);
          const all = model.forward({ inputIds: tensor(Int32Array.from(full.flat()), [2, 6], { dtype: 'i32' }) });
          const v = all.logits.shape[2];
          const last = reshape(slice(all.logits, [0, 5, 0], [2, 1, v]), [2, v]);
          for (const kv of [...first.pastKeyValues!, ...step.pastKeyValues!]) {
            kv.key.dispose();
            kv.value.dispose();
          }
          return [reshape(step.logits, [2, v]), last];
        }),
      );
      expect(relMaxError(await cached.data(), await recomputed.data())).toBeLessThan(1e-5);
      cached.dispose();
      recomputed.dispose();
      model.dispose();
    });

    it(`${arch}: greedy decoding with the KV cache gives the tokens of decoding without it`, async () => {
      const model = await load(arch);
      model.eval();
      const before = memory().tensors;
      const withCache = await generate(model, prompt, { maxNewTokens: 12 });
      const without = await generate(model, prompt, { maxNewTokens: 12, useCache: false });
      expect(memory().tensors).toBe(before); // the cache is freed
      expect(withCache).toEqual(without);
      expect(withCache[0].slice(0, 5)).toEqual(prompt[0]);
      expect(withCache[0]).toHaveLength(17);
      model.dispose();
    });
  }

  it('sampling: the same seed gives the same tokens, another seed others; top-k 1 is greedy', async () => {
    const model = await load('llama');
    model.eval();
    const opts = { maxNewTokens: 16, temperature: 1, seed: 3 };
    const a = await generate(model, prompt[0], opts);
    const b = await generate(model, prompt[0], opts);
    const c = await generate(model, prompt[0], { ...opts, seed: 4 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const greedy = await generate(model, prompt[0], { maxNewTokens: 16 });
    expect(await generate(model, prompt[0], { ...opts, topK: 1 })).toEqual(greedy);
    expect(await generate(model, prompt[0], { ...opts, topP: 1e-6 })).toEqual(greedy);
    model.dispose();
  });

  it('stops a row at eos and checks its arguments', async () => {
    const model = await load('llama');
    model.eval();
    const greedy = (await generate(model, prompt[0], { maxNewTokens: 8 }))[0];
    const eos = greedy[7]; // the third generated token
    const stopped = (await generate(model, prompt[0], { maxNewTokens: 8, eos }))[0];
    expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(eos, 5) + 1));
    await expect(generate(model, [], {})).rejects.toThrow(/at least one token/);
    await expect(generate(model, [[1, 2], [3]], {})).rejects.toThrow(/same length/);
    await expect(generate(model, [1], { temperature: -1 })).rejects.toThrow(/temperature/);
    await expect(generate(model, [1], { topP: 0 })).rejects.toThrow(/topP/);
    await expect(generate(model, [1], { maxNewTokens: 1.5 })).rejects.toThrow(/maxNewTokens/);
    model.dispose();
  });
});
