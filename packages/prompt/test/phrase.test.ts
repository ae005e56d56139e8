/**
 * Prompt-learned tiny LLaMAs trained to continue a fixed phrase write it with generate(): the base model's weights
 * never change, only the virtual tokens. Each is trained on the phrase alone, with the loss on the continuation only
 * (labels -100 for "<bos>Ahab ", as a user teaching "continue this phrase" would), AdamW with a cosine schedule and
 * warm-up; greedy decoding from the phrase's start then produces the rest, character for character.
 *
 * The phrase is the one this test always used; the base model writes "Ahab the sea whale of t" instead (asserted).
 *
 * Measured on the 0.76M-parameter tiny LLaMA (300 steps, lr 0.1, warm-up 30): prompt tuning (virtual embeddings at
 * the input only) needs enough virtual tokens. With 64 and SAMPLE_VOCAB init it learns the phrase exactly for each of
 * seeds 1–5 (loss 0.054–0.066); RANDOM (lr 0.3 or 1) and TEXT init also get it exactly (seed 5, loss 0.14–0.16).
 * With 32 it is unreliable: SAMPLE_VOCAB gets it for 2 of 3 seeds (loss 0.17–0.30), RANDOM does not (0.55); with the
 * loss on the whole phrase, including "Ahab " after <bos>, 32 tokens stall at 0.28–0.9 and miss a word or a
 * character ("sold" → "some", the final "." → " ") in 15 of 16 runs tried (RANDOM, TEXT, SAMPLE_VOCAB; lr 0.01 to 1;
 * constant or cosine; 100 to 600 steps) — the prompt-length-vs-model-size effect of Lester et al. 2021. SAMPLE_VOCAB init (copies of word embeddings, row
 * norm ~0.76) trains faster than PEFT's RANDOM N(0, 1) rows (norm ~11, 15× the model's word embeddings). Prefix
 * tuning (keys/values in every layer) learns the phrase with 8 virtual tokens in 100 steps (lr 0.1, loss 0.040–0.053
 * for seeds 1–5).
 */
import { generate } from '@peftjs/models';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { manualSeed, tensor, tidy } from '@peftjs/tensor';
import { loadTinyLlama } from '@peftjs/tiny-llama';
import { AdamW, cosineSchedule, trainableParams } from '@peftjs/trainer';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const PHRASE = 'Ahab sold the red boat.';
const START = 6; // <bos>"Ahab "

async function train(peft: PeftModel, ids: number[], lr: number, steps: number): Promise<number> {
  peft.train();
  const opt = new AdamW(trainableParams(peft), { lr, weightDecay: 0 });
  const schedule = cosineSchedule({ warmupSteps: Math.round(steps / 10), totalSteps: steps });
  const t = tensor(Int32Array.from(ids), [1, ids.length], { dtype: 'i32' });
  const labels = tensor(
    Int32Array.from(ids, (id, i) => (i < START ? -100 : id)),
    [1, ids.length],
    { dtype: 'i32' },
  );
  let loss = Number.NaN;
  for (let step = 0; step < steps; step++) {
    opt.lr = lr * schedule(step);
    const l = tidy(() => {
      const out = peft.forward({ inputIds: t, labels });
      out.loss!.backward();
      return out.loss!;
    });
    loss = await l.item();
    l.dispose();
    opt.step();
    peft.zeroGrad();
  }
  t.dispose();
  labels.dispose();
  peft.eval();
  return loss;
}

describe('a prompt-learned tiny LLaMA continues a trained phrase', () => {
  const cases = [
    ['prefix tuning', { peft_type: 'PREFIX_TUNING', num_virtual_tokens: 8 }, 0.1, 100, 0.1],
    [
      'prompt tuning',
      { peft_type: 'PROMPT_TUNING', num_virtual_tokens: 64, prompt_tuning_init: 'SAMPLE_VOCAB' },
      0.1,
      300,
      0.1,
    ],
  ] as const;
  for (const [label, config, lr, steps, maxLoss] of cases) {
    it(label, { timeout: 900_000 }, async () => {
      manualSeed(5);
      const { model, tokenizer } = await loadTinyLlama();
      const phrase = tokenizer.encode(PHRASE); // <bos> + bytes
      const start = phrase.slice(0, START);
      const write = async (m: Parameters<typeof generate>[0]) =>
        tokenizer.decode((await generate(m, start, { maxNewTokens: phrase.length - start.length }))[0], {
          skipSpecialTokens: true,
        });
      const before = await write(model);
      expect(before).not.toBe(PHRASE);
      expect(before).not.toContain('red boat');
      const peft = getPeftModel(model, { ...config, task_type: 'CAUSAL_LM' });
      const loss = await train(peft, phrase, lr, steps);
      const after = await write(peft);
      console.log(
        `${label}: loss ${loss.toFixed(4)}; before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
      );
      expect(after).toBe(PHRASE);
      expect(loss).toBeLessThan(maxLoss);
      // the adapter is all that changed: without it the model writes what it wrote before
      expect(await peft.disableAdapter(() => write(peft))).toBe(before);
      peft.dispose();
    });
  }
});
