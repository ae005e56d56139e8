// docs/guides/browser.md, runnable: `pnpm build && node examples/guides/browser/serve.mjs`, then open the URL it prints.
// Fine-tunes the tiny LLaMA with LoRA in a page: WebGPU when the browser has it, else the CPU backend; checkpoints
// in IndexedDB (a reload resumes); the adapter downloads as PEFT's two files.
import '@peftjs/lora';
import { registerWebGPUBackend } from '@peftjs/kernels-webgpu';
import { getPeftModel } from '@peftjs/registry';
import { initBackend, manualSeed, setBackend } from '@peftjs/tensor';
import { fetchCorpus, loadTinyLlama } from '@peftjs/tiny-llama/browser';
import { chunkTokens, evaluate, IndexedDbCheckpointStore, Trainer } from '@peftjs/trainer';

const out = document.getElementById('out')!;
const print = (line: string) => {
  out.textContent += `${line}\n`;
};

// 1. a backend: WebGPU if the browser has it, with the reason shown when not
let backendName = 'cpu';
if ((navigator as { gpu?: unknown }).gpu) {
  registerWebGPUBackend();
  try {
    await initBackend('webgpu');
    backendName = 'webgpu';
  } catch (e) {
    print(`WebGPU failed (${(e as Error).message}); using the CPU backend`);
  }
} else print('no WebGPU in this browser; using the CPU backend');
const backend = await setBackend(backendName);

// 2. the model and the data: weights and corpus are files served next to this script (serve.mjs copies them)
const { model, tokenizer } = await loadTinyLlama({ weights: './model.safetensors', backend });
const { train, heldOut } = await fetchCorpus('moby-dick', { url: './moby-dick.json' });
const data = chunkTokens(tokenizer.encode(train.slice(0, 40_000)), 64);
const evalSet = chunkTokens(tokenizer.encode(heldOut.slice(0, 8_000)), 64).slice(0, 16);

// 3. an adapter and the trainer: progress through callbacks, checkpoints in IndexedDB
manualSeed(0);
const peft = getPeftModel(model, { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'] });
print(`${backendName}: ${peft.countTrainable().trainable} trainable parameters`);
const before = await evaluate(model, evalSet);
const stop = new AbortController();
document.getElementById('stop')!.onclick = () => stop.abort();
const result = await new Trainer({
  model: peft,
  train: data,
  lr: 3e-3,
  maxSteps: 20,
  batchSize: 4,
  seed: 0,
  checkpointStore: new IndexedDbCheckpointStore({ database: 'peftjs-browser-guide' }),
  checkpointEvery: 5,
  resume: true, // a reload continues from the newest complete checkpoint
  signal: stop.signal,
  callbacks: [{ onStepEnd: (s) => print(`step ${s.step}  loss ${s.loss.toFixed(4)}  ${s.tokens} tokens`) }],
}).train();
const after = await evaluate(model, evalSet);
print(`${result.stoppedReason}: held-out perplexity ${before.perplexity.toFixed(3)} → ${after.perplexity.toFixed(3)}`);

// 4. the adapter as PEFT's files (Python's PeftModel.from_pretrained loads them)
const files = await peft.toAdapterFiles();
const link = (name: string, blob: Blob) => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = a.textContent = name;
  document.body.append(a, ' ');
};
link('adapter_config.json', new Blob([JSON.stringify(files.config, null, 2)], { type: 'application/json' }));
link('adapter_model.safetensors', new Blob([files.weights as Uint8Array<ArrayBuffer>]));
document.body.dataset.done = 'true';
