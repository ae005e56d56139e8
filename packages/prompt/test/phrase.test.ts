/**
 * Prompt-learned tiny LLaMAs trained to continue a fixed phrase write it with generate(): the base model's weights
 * never change, only the virtual tokens. Trained on the phrase alone (AdamW, 100 steps), greedy decoding from its
 * first word then produces the rest.
 *
 * Measured on the 0.76M-parameter tiny LLaMA: prefix tuning (keys/values in every layer) learns the phrase exactly
 * (loss 0.045). Prompt tuning (virtual embeddings at the input only) learns its tail — "the red boat" replaces the
 * base model's "the sea whale" — but not the word the base model most insists on ("sold" stays "some"; loss
 * plateaus near 0.7 with 16 or 32 tokens, lr 0.3 to 1, up to 200 steps, random or TEXT init): the capacity limit the
 * prompt-tuning paper (Lester et al. 2021) reports for small models. The test asserts exactly that.
 */
import { generate } from '@peftjs/models';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { manualSeed, tensor, tidy } from '@peftjs/tensor';
import { loadTinyLlama } from '@peftjs/tiny-llama';
import { AdamW, trainableParams } from '@peftjs/trainer';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const PHRASE = 'Ahab sold the red boat.';

async function train(peft: PeftModel, ids: number[], lr: number, steps: number): Promise<number> {
  peft.train();
  const opt = new AdamW(trainableParams(peft), { lr, weightDecay: 0 });
  const t = tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'i32' });
  let loss = Number.NaN;
  for (let step = 0; step < steps; step++) {
    const l = tidy(() => {
      const out = peft.forward({ inputIds: t, labels: t });
      out.loss!.backward();
      return out.loss!;
    });
    loss = await l.item();
    l.dispose();
    opt.step();
    peft.zeroGrad();
  }
  t.dispose();
  peft.eval();
  return loss;
}

describe('a prompt-learned tiny LLaMA continues a trained phrase', () => {
  const cases = [
    ['prefix tuning', { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 8 }, 0.05, true],
    ['prompt tuning', { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 32 }, 1.0, false],
  ] as const;
  for (const [label, config, lr, exact] of cases) {
    it(label, { timeout: 900_000 }, async () => {
      manualSeed(5);
      const { model, tokenizer } = await loadTinyLlama();
      const phrase = tokenizer.encode(PHRASE); // <bos> + bytes
      const start = phrase.slice(0, 6); // <bos>"Ahab "
      const write = async (m: Parameters<typeof generate>[0]) =>
        tokenizer.decode((await generate(m, start, { maxNewTokens: phrase.length - start.length }))[0], {
          skipSpecialTokens: true,
        });
      const before = await write(model);
      expect(before).not.toContain('red boat');
      const peft = getPeftModel(model, { ...config, task_type: 'CAUSAL_LM' });
      const loss = await train(peft, phrase, lr, 100);
      const after = await write(peft);
      console.log(
        `${label}: loss ${loss.toFixed(4)}; before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
      );
      if (exact) {
        expect(after).toBe(PHRASE);
        expect(loss).toBeLessThan(0.1);
      } else {
        expect(after).toMatch(/^Ahab .*the red boat/);
        expect(loss).toBeLessThan(1);
      }
      // the adapter is all that changed: without it the model writes what it wrote before
      expect(await peft.disableAdapter(() => write(peft))).toBe(before);
      peft.dispose();
    });
  }
});
