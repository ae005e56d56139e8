// The library example of the root README, runnable: `pnpm build && npx tsx examples/finetune-lora.ts`.
import '@peftjs/lora'; // registers LoRA (and re-exports getPeftModel)
import { getPeftModel } from '@peftjs/registry';
import { savePeftModel } from '@peftjs/registry/node'; // files on disk (browsers: peft.toAdapterFiles())
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { chunkTokens, Trainer } from '@peftjs/trainer';

const { model, tokenizer } = await loadTinyLlama();
const { train, heldOut } = loadCorpus('sotu');
const peft = getPeftModel(model, { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] });
peft.printTrainableParameters();

const trainer = new Trainer({
  model: peft,
  train: chunkTokens(tokenizer.encode(train), 128),
  eval: chunkTokens(tokenizer.encode(heldOut), 128).slice(0, 32),
  lr: 3e-3,
  schedule: 'cosine',
  warmupSteps: 10,
  maxSteps: 90,
  batchSize: 8,
  checkpointDir: 'checkpoints', // atomic; `resume: true` continues bit-exactly after a crash
});
const before = await trainer.evaluate();
await trainer.train();
const after = await trainer.evaluate();
console.log(`perplexity ${before.perplexity.toFixed(3)} → ${after.perplexity.toFixed(3)}`);
await savePeftModel(peft, 'my-adapter'); // PEFT's files
