/// <reference lib="webworker" />
/**
 * The playground's engine, in a dedicated worker (the page stays responsive, and a worker may block in
 * `Atomics.wait`, which the CPU backend's threads need): loads the tiny LLaMA on WebGPU or the CPU backend, trains an
 * adapter with the Trainer, evaluates, generates, and moves adapters in and out as PEFT files.
 */
import '@peftjs/lora';
import '@peftjs/dora';
import '@peftjs/ia3';
import { registerWebGPUBackend, requestWebGPUDevice } from '@peftjs/kernels-webgpu';
import type { LlamaForCausalLM, Tokenizer } from '@peftjs/models';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { loadTensors } from '@peftjs/safetensors';
import { type Backend, cpuThreading, initBackend, manualSeed, noGrad, setBackend, tensor, tidy } from '@peftjs/tensor';
import { corpusUrls, fetchCorpus, loadTinyLlama, tinyLlamaWeightsUrl } from '@peftjs/tiny-llama/browser';
import { evaluate, type TokenExample, Trainer } from '@peftjs/trainer';
import type { BackendChoice, DataRequest, EnvironmentReport, Reply, Request, TrainReport } from './protocol.js';
import { keepOffline } from './offline.js';
import { adapterConfig, datasets, playgroundMethods, splitPasted, trainerOptions } from './recipe.js';

const post = (m: Reply) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

let backendName: 'webgpu' | 'cpu' = 'cpu';
let backend: Backend | null = null;
let base: { model: LlamaForCausalLM; tokenizer: Tokenizer } | null = null;
let peft: PeftModel<LlamaForCausalLM> | null = null;
let stop: AbortController | null = null;
const corpora = new Map<string, { train: string; heldOut: string }>();

async function webgpuStatus(pageHasWebGPU: boolean): Promise<EnvironmentReport['webgpu']> {
  if (!pageHasWebGPU || !(navigator as { gpu?: unknown }).gpu)
    return { available: false, reason: 'this browser has no navigator.gpu (WebGPU is off or unsupported)' };
  try {
    const handle = await requestWebGPUDevice();
    const info = handle.adapter.info;
    const name =
      [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'adapter';
    handle.destroy();
    return { available: true, adapter: name };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

function cpuReport(): string {
  const t = cpuThreading();
  return t.mode === 'single-thread' ? `single-threaded (${t.reason})` : `${t.threads} threads (${t.reason})`;
}

async function init(choice: BackendChoice, pageHasWebGPU: boolean): Promise<EnvironmentReport> {
  const webgpu = await webgpuStatus(pageHasWebGPU);
  const want: 'webgpu' | 'cpu' = choice === 'auto' ? (webgpu.available ? 'webgpu' : 'cpu') : choice;
  if (want === 'webgpu' && !webgpu.available) throw new Error(`WebGPU is unavailable: ${webgpu.reason}`);
  if (want === 'webgpu') registerWebGPUBackend();
  if (want !== backendName || !base) {
    peft?.unload();
    peft = null;
    base?.model.dispose();
    base = null;
    backend = await initBackend(want);
    await setBackend(want);
    backendName = want;
    post({ type: 'status', text: `loading the tiny LLaMA on ${want}…` });
    base = await loadTinyLlama({ backend });
    await keepOffline([tinyLlamaWeightsUrl]).catch(() => {});
  }
  return { backend: backendName, webgpu, cpu: cpuReport(), methods: playgroundMethods() };
}

async function texts(req: DataRequest): Promise<{ train: string; heldOut: string }> {
  if (req.corpus === 'text') {
    if (!req.text?.trim()) throw new Error('paste some text to train on');
    return splitPasted(req.text);
  }
  let c = corpora.get(req.corpus);
  if (!c) {
    post({ type: 'status', text: `fetching the ${req.corpus} corpus…` });
    const split = await fetchCorpus(req.corpus);
    await keepOffline([corpusUrls[req.corpus]]).catch(() => {});
    c = { train: split.train, heldOut: split.heldOut };
    corpora.set(req.corpus, c);
  }
  return c;
}

function need<T>(x: T | null, what: string): T {
  if (!x) throw new Error(`${what}: call init first`);
  return x;
}

async function heldOutLoss(model: LlamaForCausalLM, heldOut: TokenExample[]): Promise<number> {
  return (await evaluate(model, heldOut, { batchSize: 8, backend: backend ?? undefined })).loss;
}

/** Greedy decoding (argmax at every step), the prompt preceded by <bos>. */
async function generate(prompt: string, maxNewTokens: number): Promise<string> {
  const { model, tokenizer } = need(base, 'generate');
  const ids = [...tokenizer.encode(prompt)];
  const start = ids.length;
  const maxLen = model.config.max_position_embeddings ?? 256;
  const wasTraining = model.training;
  model.eval();
  try {
    for (let i = 0; i < maxNewTokens; i++) {
      const ctx = ids.slice(-maxLen);
      const x = tensor(Int32Array.from(ctx), [1, ctx.length], { dtype: 'i32', backend: backend ?? undefined });
      const logits = noGrad(() => tidy(() => model.forward({ inputIds: x }).logits));
      const all = (await logits.data()) as Float32Array;
      logits.dispose();
      x.dispose();
      const vocab = all.length / ctx.length;
      const last = all.subarray(all.length - vocab);
      let best = 0;
      for (let v = 1; v < vocab; v++) if (last[v] > last[best]) best = v;
      if (best === tokenizer.eosTokenId) break;
      ids.push(best);
    }
  } finally {
    if (wasTraining) model.train();
  }
  return tokenizer.decode(ids.slice(start), { skipSpecialTokens: true });
}

async function train(req: Extract<Request, { type: 'train' }>['request']): Promise<TrainReport> {
  const { model, tokenizer } = need(base, 'train');
  const { spec } = req;
  const t = await texts(req);
  const data = datasets(tokenizer, t.train, t.heldOut, spec);
  // back to the bare model (the adapter layers out) before a new adapter goes in
  peft?.unload();
  peft = null;
  const generatedBefore = req.prompt ? await generate(req.prompt, req.maxNewTokens) : '';
  const heldOutBefore = await heldOutLoss(model, data.heldOut);
  manualSeed(spec.seed); // adapter initialisation draws from the default generator, as in Node
  peft = getPeftModel(model, adapterConfig(spec));
  stop = new AbortController();
  const started = performance.now();
  let tokens = 0;
  const result = await new Trainer({
    model: peft,
    train: data.train,
    ...trainerOptions(spec),
    signal: stop.signal,
    callbacks: [
      {
        onStepEnd: async (info) => {
          tokens += info.tokens;
          post({
            type: 'step',
            info,
            total: spec.steps,
            tokensPerSecond: tokens / ((performance.now() - started) / 1000),
          });
          await new Promise((r) => setTimeout(r, 0)); // let a stop message in
        },
      },
    ],
  }).train();
  stop = null;
  const heldOutAfter = await heldOutLoss(model, data.heldOut);
  const generatedAfter = req.prompt ? await generate(req.prompt, req.maxNewTokens) : '';
  return {
    history: result.history,
    heldOutBefore,
    heldOutAfter,
    tokensPerSecond: result.tokensPerSecond,
    stoppedReason: result.stoppedReason,
    trainableParams: result.trainableParams,
    generatedBefore,
    generatedAfter,
    backend: backendName,
    cpuThreading: cpuThreading(),
  };
}

async function importAdapter(config: Record<string, unknown>, weights: Uint8Array): Promise<string> {
  const { model } = need(base, 'importAdapter');
  peft?.unload();
  peft = null;
  // the adapter's layers from its config, then its weights (strict: every adapter tensor must be in the file)
  const loaded = getPeftModel(model, config);
  const tensors = await loadTensors(weights, { dtype: 'f32', backend: backend ?? undefined });
  try {
    loaded.loadAdapterState(tensors, 'default', { strict: true });
  } catch (e) {
    loaded.unload();
    throw e;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
  loaded.freezeAll();
  loaded.eval();
  peft = loaded;
  return String(config.peft_type ?? 'adapter') + (config.use_dora ? ' (DoRA)' : '');
}

async function handle(m: Request): Promise<unknown> {
  switch (m.type) {
    case 'init':
      return init(m.backend, m.pageHasWebGPU);
    case 'train':
      return train(m.request);
    case 'stop':
      stop?.abort();
      return null;
    case 'generate':
      return generate(m.prompt, m.maxNewTokens);
    case 'heldOutLoss': {
      const { model, tokenizer } = need(base, 'heldOutLoss');
      const t = await texts(m.data);
      return heldOutLoss(model, datasets(tokenizer, t.train, t.heldOut, m.data.spec).heldOut);
    }
    case 'exportAdapter': {
      if (!peft) throw new Error('no adapter yet: train one or load one');
      return peft.toAdapterFiles();
    }
    case 'importAdapter':
      return importAdapter(m.config, m.weights);
  }
}

self.onmessage = async (ev: MessageEvent<Request>) => {
  const m = ev.data;
  try {
    post({ type: 'result', id: m.id, value: await handle(m) });
  } catch (e) {
    post({ type: 'error', id: m.id, message: (e as Error).message ?? String(e) });
  }
};
