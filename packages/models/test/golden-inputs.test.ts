import { describeInputCases } from './helpers/golden-inputs.js';

describeInputCases('cpu', () => undefined);
