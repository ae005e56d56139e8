import { destroyBackend, initBackend } from '@peftjs/tensor';
import { formatDeviceReport, registerWebGPUBackend, type WebGPUBackend } from '../src/index.js';

/**
 * Register and start the WebGPU backend for a test file. Throws (so the file's tests FAIL, never skip) when no
 * adapter is found, with the WebGPUUnavailableError that names what to install. Prints the adapter once.
 */
export async function startWebGPU(): Promise<WebGPUBackend> {
  registerWebGPUBackend({ flushEvery: 64 });
  const be = (await initBackend('webgpu')) as WebGPUBackend;
  console.log(`[webgpu] adapter: ${formatDeviceReport(be.report)}`);
  return be;
}

/** Destroy the device so that Dawn lets the process exit. */
export async function stopWebGPU(): Promise<void> {
  await destroyBackend('webgpu');
}
