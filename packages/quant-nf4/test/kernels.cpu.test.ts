import { getBackend } from '@peftjs/tensor';
import { describe } from 'vitest';
import { quantKernelSuite } from './kernel-suite.js';

describe('quantized kernels on the CPU backend', () => quantKernelSuite(() => getBackend()));
