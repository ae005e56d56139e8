/** The playground page: the form, the live chart, and the calls into the training worker. */
import './style.css';
import type {
  BackendChoice,
  CorpusChoice,
  DataRequest,
  EnvironmentReport,
  Reply,
  Request,
  TrainReport,
} from './protocol.js';
import { keepOffline } from './offline.js';
import type { RunSpec } from './recipe.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const setState = (s: 'loading' | 'idle' | 'training' | 'done' | 'error') => {
  document.body.dataset.state = s;
};

/** What the page exposes for scripts and tests (numbers at full precision). */
interface PlaygroundHandle {
  env: EnvironmentReport | null;
  lastReport: TrainReport | null;
  lastHeldOutLoss: number | null;
  losses: number[];
  /** True once the page's files and the model are in the offline cache. */
  offlineReady: boolean;
}
const handle: PlaygroundHandle = {
  env: null,
  lastReport: null,
  lastHeldOutLoss: null,
  losses: [],
  offlineReady: false,
};
(window as unknown as { playground: PlaygroundHandle }).playground = handle;

// ---- worker RPC

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
type Body = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
function call<T>(body: Body, transfer: Transferable[] = []): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ ...body, id }, transfer);
  });
}
worker.onmessage = (ev: MessageEvent<Reply>) => {
  const m = ev.data;
  if (m.type === 'result' || m.type === 'error') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.type === 'result') p?.resolve(m.value);
    else p?.reject(new Error(m.message));
  } else if (m.type === 'step') onStep(m.info.step, m.info.loss, m.total, m.tokensPerSecond);
  else if (m.type === 'status') status(m.text);
};
worker.onerror = (e) => fail(new Error(`the training worker failed: ${e.message}`));

// ---- view

function status(text: string) {
  $('status').textContent = text;
}
function fail(e: Error) {
  setState('error');
  status(`Error: ${e.message}`);
  busy(false);
}
function busy(on: boolean) {
  $<HTMLButtonElement>('train').disabled = on;
  $<HTMLButtonElement>('stop').disabled = !on;
  $<HTMLSelectElement>('backend').disabled = on;
  $<HTMLInputElement>('load').disabled = on;
}

const SVG = 'http://www.w3.org/2000/svg';
function drawChart(losses: number[], total: number) {
  const svg = $('chart') as unknown as SVGSVGElement;
  svg.replaceChildren();
  const W = 600;
  const H = 240;
  const pad = { l: 48, r: 12, t: 12, b: 28 };
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  el('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, stroke: '#99a' });
  el('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, stroke: '#99a' });
  el('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 11, fill: '#556' }, 'step');
  if (!losses.length) return;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const n = Math.max(total, losses.length, 2);
  const x = (i: number) => pad.l + ((W - pad.l - pad.r) * i) / (n - 1);
  const y = (v: number) => pad.t + ((H - pad.t - pad.b) * (hi - v)) / span;
  for (const v of [hi, lo + span / 2, lo]) {
    el('text', { x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#556' }, v.toFixed(3));
  }
  el('polyline', {
    points: losses.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
    fill: 'none',
    stroke: '#2b6cb0',
    'stroke-width': 2,
  });
}

let stepTotal = 0;
function onStep(step: number, loss: number, total: number, tps: number) {
  handle.losses.push(loss);
  stepTotal = total;
  $<HTMLProgressElement>('progress').value = step / total;
  $('stats').textContent =
    `step ${step}/${total} · loss ${loss.toFixed(4)} · ${Math.round(tps).toLocaleString('en-US')} tokens/s`;
  drawChart(handle.losses, total);
}

function spec(): RunSpec {
  return {
    method: $<HTMLSelectElement>('method').value,
    r: num('rank'),
    dropout: num('dropout'),
    steps: num('steps'),
    lr: num('lr'),
    batchSize: num('batch'),
    seqLen: num('seqlen'),
    seed: num('seed'),
    maxTrainSequences: 256,
    heldOutSequences: 16,
  };
}
function data(): DataRequest {
  return {
    spec: spec(),
    corpus: $<HTMLSelectElement>('corpus').value as CorpusChoice,
    text: $<HTMLTextAreaElement>('text').value,
  };
}

function describeEnv(env: EnvironmentReport) {
  const warn = $('webgpu-warning');
  if (env.webgpu.available) {
    warn.hidden = true;
  } else {
    warn.hidden = false;
    warn.textContent = `WebGPU is not available here (${env.webgpu.reason}), so training runs on the CPU backend (WebAssembly). It is slower but computes the same numbers.`;
  }
  const gpu = env.webgpu.available ? `WebGPU: ${env.webgpu.adapter}` : 'WebGPU: unavailable';
  $('env').textContent =
    `Training on ${env.backend === 'webgpu' ? 'WebGPU' : 'the CPU backend'}. ${gpu}. CPU backend: ${env.cpu}.`;
  const sel = $<HTMLSelectElement>('method');
  const keep = sel.value;
  sel.replaceChildren(...env.methods.map((m) => new Option(m, m)));
  if (env.methods.includes(keep)) sel.value = keep;
}

async function start(choice: BackendChoice) {
  setState('loading');
  busy(true);
  $<HTMLButtonElement>('stop').disabled = true;
  try {
    handle.env = await call<EnvironmentReport>({
      type: 'init',
      backend: choice,
      pageHasWebGPU: Boolean((navigator as { gpu?: unknown }).gpu),
    });
    describeEnv(handle.env);
    status('Ready.');
    setState('idle');
  } catch (e) {
    fail(e as Error);
    return;
  }
  busy(false);
}

// ---- actions

$('form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  handle.losses = [];
  drawChart([], num('steps'));
  busy(true);
  setState('training');
  status('Training…');
  $('before').textContent = '';
  $('after').textContent = '';
  try {
    const d = data();
    const report = await call<TrainReport>({
      type: 'train',
      request: { ...d, prompt: $<HTMLInputElement>('prompt').value, maxNewTokens: 48 },
    });
    handle.lastReport = report;
    handle.lastHeldOutLoss = report.heldOutAfter;
    $('before').textContent = report.generatedBefore;
    $('after').textContent = report.generatedAfter;
    $('heldout').textContent =
      `Held-out loss ${report.heldOutBefore.toFixed(4)} → ${report.heldOutAfter.toFixed(4)} (perplexity ${Math.exp(report.heldOutBefore).toFixed(3)} → ${Math.exp(report.heldOutAfter).toFixed(3)}) · ${report.trainableParams.toLocaleString('en-US')} trainable parameters · ${Math.round(report.tokensPerSecond).toLocaleString('en-US')} tokens/s on ${report.backend}`;
    status(
      report.stoppedReason === 'aborted' ? `Stopped after ${report.history.length} of ${stepTotal} steps.` : 'Done.',
    );
    $<HTMLButtonElement>('download').disabled = false;
    setState('done');
    busy(false);
  } catch (e) {
    fail(e as Error);
  }
});

$('stop').addEventListener('click', () => {
  status('Stopping after this step…');
  call({ type: 'stop' }).catch(fail);
});

function save(name: string, data: BlobPart, type: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([data], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

$('download').addEventListener('click', async () => {
  try {
    const files = await call<{ config: Record<string, unknown>; weights: Uint8Array }>({ type: 'exportAdapter' });
    save('adapter_config.json', `${JSON.stringify(files.config, null, 2)}\n`, 'application/json');
    save('adapter_model.safetensors', files.weights as Uint8Array<ArrayBuffer>, 'application/octet-stream');
    status('Downloaded adapter_config.json and adapter_model.safetensors (load them with PEFT or peftjs).');
  } catch (e) {
    fail(e as Error);
  }
});

$<HTMLInputElement>('load').addEventListener('change', async (ev) => {
  const input = ev.target as HTMLInputElement;
  const files = [...(input.files ?? [])];
  input.value = '';
  const cfg = files.find((f) => f.name.endsWith('.json'));
  const weights = files.find((f) => f.name.endsWith('.safetensors'));
  if (!cfg || !weights) {
    fail(new Error('pick both adapter_config.json and adapter_model.safetensors'));
    return;
  }
  busy(true);
  setState('training');
  try {
    const config = JSON.parse(await cfg.text()) as Record<string, unknown>;
    const bytes = new Uint8Array(await weights.arrayBuffer());
    const kind = await call<string>({ type: 'importAdapter', config, weights: bytes }, [bytes.buffer]);
    status(`Loaded a ${kind} adapter; measuring its held-out loss…`);
    const loss = await call<number>({ type: 'heldOutLoss', data: data() });
    handle.lastHeldOutLoss = loss;
    $('heldout').textContent =
      `Loaded adapter: held-out loss ${loss.toFixed(4)} (perplexity ${Math.exp(loss).toFixed(3)})`;
    const prompt = $<HTMLInputElement>('prompt').value;
    if (prompt) $('after').textContent = await call<string>({ type: 'generate', prompt, maxNewTokens: 48 });
    $<HTMLButtonElement>('download').disabled = false;
    status(`Loaded a ${kind} adapter.`);
    setState('done');
    busy(false);
  } catch (e) {
    fail(e as Error);
  }
});

$<HTMLSelectElement>('corpus').addEventListener('change', (ev) => {
  $<HTMLTextAreaElement>('text').hidden = (ev.target as HTMLSelectElement).value !== 'text';
});
$<HTMLSelectElement>('backend').addEventListener('change', (ev) =>
  start((ev.target as HTMLSelectElement).value as BackendChoice),
);

// offline: a service worker answers from a cache of every file the page has fetched (code, weights, corpora)
async function goOffline(ready: Promise<unknown>) {
  if (!('serviceWorker' in navigator) || location.protocol === 'file:') return;
  await navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`);
  await navigator.serviceWorker.ready;
  await ready; // the worker has cached the weights by then
  const own = performance
    .getEntriesByType('resource')
    .map((e) => e.name)
    .filter((u) => new URL(u).origin === location.origin);
  await keepOffline([location.href.split('?')[0], ...own]);
  handle.offlineReady = true;
}

const initial = (new URLSearchParams(location.search).get('backend') ?? 'auto') as BackendChoice;
$<HTMLSelectElement>('backend').value = initial;
drawChart([], num('steps'));
goOffline(start(initial)).catch((e) => console.warn('offline cache:', e));
