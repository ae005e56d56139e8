/**
 * Where the wasm GEMM's helper threads come from: Node's `worker_threads`, or a page's Web Workers. A page shares
 * the GEMM's memory with its workers only when it is cross-origin isolated (that is what gives it SharedArrayBuffer),
 * and the calling thread must be one that may block in `Atomics.wait` (a worker, not a page's main thread); the
 * caller checks both. Everything else (the job protocol) is in gemm-wasm.ts.
 */

/** What a helper receives: the compiled module, the shared memory and its place in the protocol. */
export interface HelperData {
  module: WebAssembly.Module;
  /** The elementwise module (elementwise.wat), whose run_task runs jobs of kind 1; null where it did not compile. */
  ewModule: WebAssembly.Module | null;
  memory: WebAssembly.Memory;
  sync: number;
  job: number;
  ewJob: number;
  scratch: number;
  index: number;
  bits: number;
  spin: number;
}

/** A source of helper threads. */
export interface HelperHost {
  kind: 'node-worker-threads' | 'web-workers';
  /** Cores available to this process / page. */
  cores(): number;
  /** Start a helper; `onFail` runs if it errors or exits. */
  spawn(data: HelperData, onFail: () => void): { terminate(): unknown };
}

/** A helper's code: claims tasks of published jobs until told to exit (word indices as S_* in gemm-wasm.ts). */
const HELPER_MAIN = `
function main({ module, ewModule, memory, sync, job, ewJob, scratch, index, bits, spin }) {
  const run = new WebAssembly.Instance(module, { env: { memory } }).exports.run_task;
  const ew = ewModule ? new WebAssembly.Instance(ewModule, { env: { memory } }).exports.run_task : null;
  const I = new Int32Array(memory.buffer, sync, 16);
  const MASK = (1 << bits) - 1;
  function waitPacked(np) {
    for (let i = 0; ; i++) {
      const d = Atomics.load(I, 7);
      if (d >= np) return;
      if (i > spin) Atomics.wait(I, 7, d, 20);
    }
  }
  function work() {
    for (;;) {
      if (Atomics.load(I, 5) < index) return;
      const v = Atomics.load(I, 0);
      const n = Atomics.load(I, 3);
      const t = v & MASK;
      if (t >= n) return;
      if (Atomics.compareExchange(I, 0, v, v + 1) !== v) continue;
      const np = Atomics.load(I, 6);
      if (t >= np) waitPacked(np);
      try {
        if (Atomics.load(I, 8) === 0) run(job, t, scratch);
        else ew(ewJob, t, scratch);
      } catch { Atomics.store(I, 4, 1); }
      if (t < np) { Atomics.add(I, 7, 1); Atomics.notify(I, 7); }
      if (Atomics.add(I, 1, 1) + 1 === n) Atomics.notify(I, 1);
    }
  }
  let seen = NaN;
  while (Atomics.load(I, 5) >= 0) {
    const g = Atomics.load(I, 2);
    if (g !== seen) { seen = g; work(); continue; }
    for (let i = 0; i < spin && Atomics.load(I, 2) === seen; i++);
    if (Atomics.load(I, 2) === seen) Atomics.wait(I, 2, seen);
  }
}
`;

interface NodeWorker {
  unref(): void;
  terminate(): unknown;
  on(ev: string, cb: (...args: unknown[]) => void): void;
}
interface NodeWorkerThreads {
  Worker: new (src: string, opts: { eval: boolean; execArgv: string[]; workerData: unknown }) => NodeWorker;
}

/** A Node built-in without importing it (so that bundles for browsers never see a `node:` import). */
export function nodeBuiltin<T>(name: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return undefined;
  try {
    return proc.getBuiltinModule(name) as T | undefined;
  } catch {
    return undefined;
  }
}

function nodeHost(): HelperHost | null {
  const wt = nodeBuiltin<NodeWorkerThreads>('node:worker_threads');
  if (!wt) return null;
  return {
    kind: 'node-worker-threads',
    cores() {
      const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
      if (!os) return 1;
      try {
        return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
      } catch {
        return 1;
      }
    },
    spawn(data, onFail) {
      // plain CommonJS, no loaders: don't inherit flags such as --import or --input-type from the parent
      const worker = new wt.Worker(`${HELPER_MAIN}\nmain(require('node:worker_threads').workerData);`, {
        eval: true,
        execArgv: [],
        workerData: data,
      });
      worker.unref(); // helpers never keep the process alive
      worker.on('error', onFail);
      worker.on('exit', onFail);
      return worker;
    },
  };
}

let blobUrl: string | undefined;

function webHost(): HelperHost | null {
  const g = globalThis as {
    Worker?: new (url: string) => Worker;
    crossOriginIsolated?: boolean;
    navigator?: { hardwareConcurrency?: number };
  };
  if (typeof g.Worker !== 'function' || g.crossOriginIsolated !== true) return null;
  if (typeof Blob !== 'function' || typeof URL?.createObjectURL !== 'function') return null;
  const WorkerCtor = g.Worker;
  return {
    kind: 'web-workers',
    cores: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
    spawn(data, onFail) {
      blobUrl ??= URL.createObjectURL(
        new Blob([`${HELPER_MAIN}\nself.onmessage = (e) => main(e.data);`], { type: 'text/javascript' }),
      );
      const worker = new WorkerCtor(blobUrl);
      worker.onerror = onFail;
      worker.onmessageerror = onFail;
      worker.postMessage(data); // the module and the shared memory are shared, not copied
      return worker;
    },
  };
}

let host: HelperHost | null | undefined;
/** The helper-thread source of this environment, or null (then the GEMM runs on the calling thread only). */
export function helperHost(): HelperHost | null {
  if (host === undefined) host = nodeHost() ?? webHost();
  return host;
}
