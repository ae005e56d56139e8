import { getBackend, initBackend, registerBackend } from '@peftjs/tensor';
import { WebGPUBackend, type WebGPUBackendOptions } from './backend.js';
import { type RequestDeviceOptions, requestWebGPUDevice } from './device.js';
import { registerWebGPUKernels } from './kernels/index.js';

export { registerWebGPUKernels };

export interface RegisterWebGPUOptions extends RequestDeviceOptions, WebGPUBackendOptions {
  /** Priority among registered backends (default 2: above the CPU's 0). */
  priority?: number;
}

const REGISTERED = Symbol.for('@peftjs/kernels-webgpu/registered');
const g = globalThis as unknown as Record<symbol, { backend: boolean } | undefined>;
/** On globalThis, like the engine it mirrors: two bundled copies of this package register the backend once. */
if (!g[REGISTERED]) g[REGISTERED] = { backend: false };
const state = g[REGISTERED];

/**
 * Register backend 'webgpu' with the tensor engine, and its kernels. The device is requested on first use:
 * `await setBackend('webgpu')` (or `initBackend('webgpu')`), which throws a WebGPUUnavailableError naming what
 * to install when there is no adapter; the CPU backend stays usable either way. Idempotent: the first call's
 * options win.
 */
export function registerWebGPUBackend(opts: RegisterWebGPUOptions = {}): void {
  registerWebGPUKernels();
  if (state.backend) return;
  state.backend = true;
  registerBackend('webgpu', async () => new WebGPUBackend(await requestWebGPUDevice(opts), opts), opts.priority ?? 2);
}

/** The started WebGPU backend (after `setBackend('webgpu')` / `initBackend('webgpu')`), e.g. for pool statistics. */
export async function getWebGPUBackend(): Promise<WebGPUBackend> {
  const active = safeActive();
  if (active instanceof WebGPUBackend) return active;
  const b = await initBackend('webgpu');
  if (!(b instanceof WebGPUBackend)) throw new TypeError("backend 'webgpu' is not a WebGPUBackend");
  return b;
}

function safeActive(): unknown {
  try {
    return getBackend();
  } catch {
    return null;
  }
}
