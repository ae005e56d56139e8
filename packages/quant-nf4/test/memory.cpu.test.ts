import { getBackend } from '@peftjs/tensor';
import { describe } from 'vitest';
import { memorySuite } from './memory-suite.js';

describe('quantized memory on the CPU backend', () => memorySuite(() => getBackend()));
