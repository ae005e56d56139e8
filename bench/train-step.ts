/**
 * One fine-tuning configuration, timed step by step: the whole optimizer step as the Trainer runs it (forward,
 * backward through the frozen base, gradient clipping, AdamW, cosine schedule), on the CPU or WebGPU backend.
 *
 *   pnpm build && tsx bench/train-step.ts [--backend cpu|webgpu] [--model tiny|llama23m] [--method lora|dora]
 *       [--batch 8] [--seq 128] [--steps 6] [--warmup 2] [--log-every 10] [--tokens FILE] [--json FILE]
 *       [--by-kernel] [--kernel-times] [--kernel-shapes]
 *
 * Models: `tiny` is the embedded tiny LLaMA (@peftjs/tiny-llama, 0.76M parameters, pretrained weights);
 * `llama23m` is a freshly initialised LLaMA of 23.5M parameters (hidden 512, ffn 1376, 8 layers, 8 heads / 4 kv
 * heads, head_dim 64, byte vocabulary 259, untied head). Adapter: r 8, alpha 16, dropout 0.05 on q,k,v,o,gate,up,
 * down (DoRA: the same with use_dora). AdamW lr 3e-3, weight decay 0.01, cosine schedule without warmup, clipping
 * at 1.0. Data: the State of the Union train split as bytes in `seq`-token chunks (or `--tokens FILE`, a JSON array
 * of token-id arrays, which is what `bench/vs-pytorch.ts` hands both sides).
 *
 * Prints one JSON object: backend, model, batch, seq, method, the tokens/s of the steps after the
 * warm-up, dispatches, submits and host↔device reads per step (reads: `Backend.read`/`readSync` calls) and the
 * trainer's peak tensor bytes. A benchmark, never a test: nothing here asserts a time.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import '@peftjs/lora';
import '@peftjs/dora';
import { LlamaForCausalLM } from '@peftjs/models';
import { getPeftModel } from '@peftjs/registry';
import { type Backend, initBackend, manualSeed, observeKernels, setBackend } from '@peftjs/tensor';
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { chunkTokens, defaultMethodConfig, type StepInfo, type TokenExample, Trainer } from '@peftjs/trainer';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
function intArg(name: string, fallback: number): number {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

const backendName = arg('backend', 'cpu');
const modelName = arg('model', 'tiny');
const method = arg('method', 'lora');
const batch = intArg('batch', modelName === 'tiny' ? 8 : 4);
const seq = intArg('seq', 128);
const steps = intArg('steps', 6);
const warmup = intArg('warmup', 2);
const logEvery = intArg('log-every', 10);
const tokensFile = process.argv.includes('--tokens') ? arg('tokens', '') : null;
const jsonOut = process.argv.includes('--json') ? arg('json', '') : null;
if (!['cpu', 'webgpu'].includes(backendName)) throw new Error(`--backend: cpu or webgpu, got '${backendName}'`);
if (!['tiny', 'llama23m'].includes(modelName)) throw new Error(`--model: tiny or llama23m, got '${modelName}'`);
if (!['lora', 'dora'].includes(method)) throw new Error(`--method: lora or dora, got '${method}'`);
if (steps < 1) throw new Error('--steps must be >= 1');

/** The 23.5M-parameter LLaMA of the PyTorch comparison (bench/pytorch/train_step.py builds the same). */
export const LLAMA23M_CONFIG = {
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  hidden_size: 512,
  intermediate_size: 1376,
  num_hidden_layers: 8,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 64,
  vocab_size: 259,
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  hidden_act: 'silu',
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
  attention_dropout: 0,
  initializer_range: 0.02,
  pad_token_id: 256,
  bos_token_id: 257,
  eos_token_id: 258,
};

if (backendName === 'webgpu') {
  const { registerWebGPUBackend } = await import('@peftjs/kernels-webgpu');
  registerWebGPUBackend();
}
await initBackend(backendName);
const backend: Backend = await setBackend(backendName);

// count host↔device reads: every Backend.read / readSync call (a readSync inside a read, as the CPU's, counts once)
let reads = 0;
let inRead = false;
const origRead = backend.read.bind(backend);
backend.read = async (...a) => {
  reads++;
  inRead = true;
  try {
    return await origRead(...a);
  } finally {
    inRead = false;
  }
};
if (backend.readSync) {
  const origSync = backend.readSync.bind(backend);
  backend.readSync = (...a) => {
    if (!inRead) reads++;
    return origSync(...a);
  };
}
// --by-kernel: dispatches per kernel over the timed steps (WebGPU)
const byKernel = new Map<string, number>();
if (process.argv.includes('--by-kernel') && 'dispatch' in backend) {
  const be = backend as unknown as { dispatch: (p: { kernel: string }, ...rest: unknown[]) => void };
  const orig = be.dispatch.bind(be);
  be.dispatch = (p, ...rest) => {
    byKernel.set(p.kernel, (byKernel.get(p.kernel) ?? 0) + 1);
    orig(p, ...rest);
  };
}
// --kernel-times: milliseconds per kernel (matmuls also by m×n×k) over the timed steps, on the calling thread;
// --kernel-shapes: the same, every kernel keyed by its input shapes
const kernelMs = new Map<string, { ms: number; calls: number }>();
let timingKernels = false;
const allShapes = process.argv.includes('--kernel-shapes');
if (process.argv.includes('--kernel-times') || allShapes) {
  observeKernels((name, inputs, ms) => {
    if (!timingKernels) return;
    let key: string = name;
    const [a, b] = inputs;
    if (name === 'matmul' && a && b) key = `matmul ${a.shape.join('x')} @ ${b.shape.join('x')}`;
    else if (allShapes && a) key = `${name} ${inputs.map((t) => t?.shape.join('x') ?? '-').join(', ')}`;
    const e = kernelMs.get(key) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    kernelMs.set(key, e);
  });
}
const gpuCounts = () => {
  const s = (backend as unknown as { dispatchCount?: number; submitCount?: number }) ?? {};
  return { dispatches: s.dispatchCount ?? 0, submits: s.submitCount ?? 0 };
};

manualSeed(0);
const base =
  modelName === 'tiny' ? (await loadTinyLlama({ backend })).model : new LlamaForCausalLM(LLAMA23M_CONFIG, { backend });
const peft = getPeftModel(base, defaultMethodConfig(method, { r: 8, alpha: 16, dropout: 0.05 }));

let train: TokenExample[];
if (tokensFile) {
  const rows = JSON.parse(readFileSync(tokensFile, 'utf8')) as number[][];
  train = rows.map((r) => ({ inputIds: Int32Array.from(r.slice(0, seq)) }));
} else {
  const bytes = new TextEncoder().encode(loadCorpus('sotu').train);
  train = chunkTokens(Array.from(bytes), seq);
}
const total = warmup + steps;
if (train.length < total * batch) throw new Error(`need ${total * batch} sequences of ${seq}, have ${train.length}`);

const perStep: { seconds: number; tokens: number }[] = [];
// counts at the end of the warm-up: the callback takes every warm-up step as it ends (a read each), then switches
// to batched delivery so that the timed steps read back only as the trainer's own logging does (`--log-every`)
let mark = { ...gpuCounts(), reads: 0 };
const meter = {
  batched: warmup === 0,
  onStepEnd(info: StepInfo) {
    perStep.push({ seconds: info.seconds, tokens: info.tokens });
    if (perStep.length === warmup) {
      mark = { ...gpuCounts(), reads };
      byKernel.clear();
      timingKernels = true;
      meter.batched = true;
    }
  },
};
const trainer = new Trainer({
  model: peft,
  train: train.slice(0, total * batch),
  lr: 3e-3,
  schedule: 'cosine',
  maxSteps: total,
  batchSize: batch,
  shuffle: false,
  maxGradNorm: 1.0,
  logEvery,
  progress: false,
  callbacks: [meter],
});
const load0 = loadavg()[0];
const result = await trainer.train();
const end = { ...gpuCounts(), reads };
const timed = perStep.slice(warmup);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Kernel milliseconds per timed step, largest first; matmuls also summed over their shapes. */
function kernelTimesPerStep(): Record<string, number> {
  const rows = new Map<string, number>();
  for (const [k, v] of kernelMs) {
    rows.set(k, (rows.get(k) ?? 0) + v.ms / steps);
    if (k.startsWith('matmul ')) rows.set('matmul (all)', (rows.get('matmul (all)') ?? 0) + v.ms / steps);
  }
  rows.set(
    '(all kernels)',
    [...kernelMs.values()].reduce((a, v) => a + v.ms / steps, 0),
  );
  return Object.fromEntries([...rows].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number(v.toFixed(2))]));
}
const out = {
  side: 'peftjs',
  backend: backendName,
  model: modelName,
  batch,
  seq,
  method,
  steps,
  warmup,
  // CPU: the median step (each step's work is done when it ends); WebGPU: the timed steps together, since a step's
  // device work may be waited for by a later step's read
  tokPerSec:
    backendName === 'cpu'
      ? median(timed.map((s) => s.tokens / s.seconds))
      : sum(timed.map((s) => s.tokens)) / sum(timed.map((s) => s.seconds)),
  stepSeconds: timed.map((s) => Number(s.seconds.toFixed(4))),
  dispatchesPerStep: (end.dispatches - mark.dispatches) / steps,
  submitsPerStep: (end.submits - mark.submits) / steps,
  // the trainer reads the loss, gradient norm and skip flags back every `logEvery` steps (and at the last one)
  readsPerStep: (end.reads - mark.reads) / steps,
  logEvery,
  ...(byKernel.size
    ? {
        dispatchesByKernel: Object.fromEntries(
          [...byKernel].map(([k, v]) => [k, v / steps]).sort((a, b) => +b[1] - +a[1]),
        ),
      }
    : {}),
  ...(kernelMs.size ? { kernelMsPerStep: kernelTimesPerStep() } : {}),
  peakTensorBytes: result.peakTensorBytes,
  trainableParams: result.trainableParams,
  totalParams: result.totalParams,
  firstLoss: result.history[0]?.loss,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAvgStart: load0, loadAvgEnd: loadavg()[0] },
  node: process.version,
};
const text = JSON.stringify(out);
console.log(text);
if (jsonOut) writeFileSync(jsonOut, `${text}\n`);
peft.dispose?.();
