import { getBackend } from '@peftjs/tensor';
import { describe } from 'vitest';
import { qloraSuite } from './qlora-suite.js';

describe('QLoRA golden cases on the CPU backend', () => qloraSuite(() => getBackend()));
