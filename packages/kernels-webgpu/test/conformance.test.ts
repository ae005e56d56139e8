import { describeOpConformance } from '@peftjs/tensor/testing';
import { afterAll } from 'vitest';
import { startWebGPU, stopWebGPU } from './setup.js';

// The tensor package's op-conformance suite, unchanged, on the WebGPU backend. If no adapter can be had the
// setup throws and every test of the suite fails.
describeOpConformance({
  backendName: 'webgpu',
  setup: async () => {
    await startWebGPU();
  },
  tolerances: {},
  exclude: {
    // A shader cannot throw, and the indices are not on the host when the kernel runs (readback is async only).
    // Behaviour instead (documented in src/kernels/gather.ts, crossEntropy.ts): out-of-range gather indices give
    // zeros, out-of-range labels give a NaN loss. Both are tested in test/kernels.test.ts.
    'errors/KernelError/gather-index': 'WebGPU cannot throw from a shader: out-of-range gather indices give zeros',
    'errors/KernelError/gather-negative-index': 'WebGPU cannot throw from a shader: negative gather indices give zeros',
    'errors/KernelError/crossEntropy-label':
      'WebGPU cannot throw from a shader: an out-of-range label gives a NaN loss',
  },
});

afterAll(stopWebGPU);
