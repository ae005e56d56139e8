// docs/guides/fine-tuning.md, runnable: `pnpm build && npx tsx examples/guides/fine-tuning.ts` (about 40 s on 2 cores).
// Fine-tune the embedded tiny LLaMA with LoRA: checkpoints, resume, logs, callbacks, the NaN guard; save in PEFT's
// format, load back, merge, and compare LoRA with DoRA under the same budget.
import { rm } from 'node:fs/promises';
import '@peftjs/lora'; // registers LoRA
import { getPeftModel } from '@peftjs/registry';
import { noGrad, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { chunkTokens, compareMethods, formatComparisonTable, Trainer, type TrainerOptions } from '@peftjs/trainer/node';
import '@peftjs/dora'; // registers DoRA (use_dora: true)
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';

const OUT = '/tmp/peftjs-guide';
await rm(OUT, { recursive: true, force: true });

// 1. Model and data: byte-level tokens, cut into 64-token sequences.
const { model, tokenizer } = await loadTinyLlama();
const { train, heldOut } = loadCorpus('sotu', { years: [2001, 2021] });
const trainSet = chunkTokens(tokenizer.encode(train), 64);
const evalSet = chunkTokens(tokenizer.encode(heldOut), 64).slice(0, 16);
console.log(`train sequences ${trainSet.length}, eval sequences ${evalSet.length}`);

// 2. Wrap with LoRA: the base model is frozen, only lora_A / lora_B train.
const peft = getPeftModel(model, {
  peft_type: 'LORA',
  task_type: 'CAUSAL_LM',
  r: 8,
  lora_alpha: 16,
  lora_dropout: 0.05,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
});
peft.printTrainableParameters();

// 3. Train 12 steps of 2 micro-batches × 4 sequences, checkpointing every 4 steps.
const options: TrainerOptions = {
  model: peft,
  train: trainSet,
  eval: evalSet,
  lr: 3e-3,
  schedule: 'cosine',
  warmupSteps: 2,
  batchSize: 4,
  gradAccumSteps: 2,
  maxSteps: 12,
  maxGradNorm: 1.0,
  seed: 0,
  evalEvery: 6,
  checkpointDir: `${OUT}/checkpoints`,
  checkpointEvery: 4,
  onNonFinite: 'stop', // the default: a NaN/Inf loss or gradient norm rejects train() with NonFiniteError
  logFile: `${OUT}/train.jsonl`,
  callbacks: [
    {
      onStepEnd: (s) => {
        if (s.step % 4 === 0) console.log(`step ${s.step} loss ${s.loss.toFixed(4)} lr ${s.lr.toExponential(2)}`);
      },
    },
    {
      onEval: (e) => console.log(`eval @${e.step}: loss ${e.loss.toFixed(4)} ppl ${e.perplexity.toFixed(3)}`),
    },
    { onCheckpoint: (path) => console.log(`checkpoint ${path.slice(OUT.length + 1)}`) },
  ],
};
const trainer = new Trainer(options);
const before = await trainer.evaluate();
const result = await trainer.train();
console.log(
  `perplexity ${before.perplexity.toFixed(3)} → ${result.evals.at(-1)!.perplexity.toFixed(3)}; ` +
    `${result.steps} steps, ${result.tokensPerSecond.toFixed(0)} tokens/s, peak tensors ${(result.peakTensorBytes / 2 ** 20).toFixed(0)} MiB`,
);

// 4. Resume: a new Trainer with a larger maxSteps continues from the newest verified checkpoint.
const resumed = await new Trainer({ ...options, maxSteps: 16, resume: true, callbacks: [] }).train();
console.log(`resumed from step ${resumed.resumedFrom}, now at step ${resumed.steps}`);

// 5. Save in PEFT's format; load onto a fresh base model; the logits agree.
await savePeftModel(peft, `${OUT}/adapter`);
const fresh = (await loadTinyLlama()).model;
const loaded = await loadPeftModel(fresh, `${OUT}/adapter`);
const ids = Array.from(evalSet[0].inputIds);
const input = tensor(new Int32Array(ids), [1, ids.length], { dtype: 'i32' });
peft.model.eval();
const logitsOf = (m: { forward(x: { inputIds: Tensor }): { logits: Tensor } }) =>
  noGrad(() => tidy(() => m.forward({ inputIds: input }).logits));
const a = await logitsOf(model).data();
const b = await logitsOf(fresh).data();
console.log(`saved → loaded: max |Δlogit| ${maxDiff(a, b).toExponential(2)}`);

// 6. Merge: fold B·A into the base weights, get the plain model back (original parameter names).
const merged = loaded.mergeAndUnload();
const c = await logitsOf(merged).data();
console.log(
  `merged vs adapter: max |Δlogit| ${maxDiff(b, c).toExponential(2)}; keys: ${Object.keys(merged.stateDict()).slice(1, 3).join(', ')}`,
);

// 7. Compare LoRA and DoRA with the same budget, each from a fresh base model.
const comparison = await compareMethods({
  makeModel: async () => (await loadTinyLlama()).model,
  methods: [
    { name: 'lora', config: { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] } },
    {
      name: 'dora',
      config: { peft_type: 'LORA', use_dora: true, r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] },
    },
  ],
  train: trainSet,
  eval: evalSet,
  trainerOptions: { lr: 3e-3, batchSize: 4, maxSteps: 8, seed: 0 },
});
console.log(formatComparisonTable(comparison));

function maxDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
