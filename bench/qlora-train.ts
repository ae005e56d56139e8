/**
 * QLoRA vs LoRA training on the main job's model (@peftjs/tiny-llama, 759k parameters): LoRA r 8 on every linear
 * layer of the float model, and the same adapter on the model quantized at load to NF4 with double quantization.
 * Reports the trainer's tokens/s and peak tensor bytes (all live tensors, sampled every micro-batch), and the bytes
 * the base's linear weights take on the backend.
 *
 *   pnpm build && tsx bench/qlora-train.ts [--backend cpu|webgpu] [--steps 20] [--batch 8] [--seq 128]
 *
 * Data: the State of the Union training text, tokenized by the model's byte tokenizer and cut into seq-long windows.
 */
import '@peftjs/lora';
import { getPeftModel } from '@peftjs/registry';
import * as T from '@peftjs/tensor';
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { chunkTokens, Trainer } from '@peftjs/trainer';
import { Linear4bit, quantizeModel } from '../packages/quant-nf4/src/index.js';

function arg(name: string, d: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : d;
}
const backendName = arg('backend', 'cpu');
const steps = Number(arg('steps', '20'));
const batchSize = Number(arg('batch', '8'));
const seqLen = Number(arg('seq', '128'));

if (backendName === 'webgpu') {
  const { registerWebGPUBackend } = await import('../packages/kernels-webgpu/src/index.js');
  registerWebGPUBackend();
}
const be = await T.setBackend(backendName);
const { train } = loadCorpus('sotu');

console.log(`backend ${be.name}; ${steps} steps of batch ${batchSize} × ${seqLen} tokens`);
console.log('| model | base linear weight bytes | tokens/s | peak tensor MiB | final loss |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const quant of [false, true]) {
  const { model, tokenizer } = await loadTinyLlama({ backend: be });
  const ids = tokenizer.encode(train.slice(0, steps * batchSize * seqLen * 2));
  const data = chunkTokens(ids, seqLen).slice(0, steps * batchSize);
  if (quant)
    await quantizeModel(model, { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true });
  let linearBytes = 0;
  for (const [n, m] of model.namedModules()) {
    if (!/layers\.\d+\.(self_attn|mlp)\.\w+_proj$/.test(n)) continue;
    linearBytes +=
      m instanceof Linear4bit
        ? m
            .parameters()
            .concat(m.namedBuffers().map(([, t]) => t))
            .reduce((s, t) => s + t.storage.bytes, 0)
        : m.parameters().reduce((s, t) => s + t.storage.bytes, 0);
  }
  const peft = getPeftModel(model, { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: 'all-linear' });
  const result = await new Trainer({
    model: peft,
    train: data,
    batchSize,
    maxSteps: steps,
    lr: 1e-3,
    seed: 1,
    progress: false,
  }).train();
  const last = result.history[result.history.length - 1];
  console.log(
    `| ${quant ? 'QLoRA (NF4 + double quant)' : 'LoRA (float32)'} | ${linearBytes} | ${result.tokensPerSecond.toFixed(0)} | ${(result.peakTensorBytes / 2 ** 20).toFixed(2)} | ${last.loss.toFixed(4)} |`,
  );
  peft.dispose();
}
await T.destroyBackend(be.name);
