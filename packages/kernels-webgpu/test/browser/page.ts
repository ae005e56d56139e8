/** The page entry bundled for Chromium: registers the WebGPU backend and exposes the subset to the test driver. */
import * as T from '@peftjs/tensor';
import { formatDeviceReport, registerWebGPUBackend, type WebGPUBackend } from '../../src/index.js';
import { type CaseInputs, runCases } from './cases.js';

declare global {
  interface Window {
    peftjsRun: (
      inputs: CaseInputs,
    ) => Promise<{ adapter: string; platform: string; outputs: Record<string, number[]> }>;
  }
}

window.peftjsRun = async (inputs) => {
  registerWebGPUBackend();
  const be = (await T.setBackend('webgpu')) as WebGPUBackend;
  const outputs = await runCases(inputs);
  await be.flush();
  return { adapter: formatDeviceReport(be.report), platform: be.report.platform, outputs };
};
document.title = 'peftjs-webgpu-ready';
