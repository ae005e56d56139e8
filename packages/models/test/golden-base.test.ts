import { describe, expect, it } from 'vitest';
import { runBaseCase, TOL } from './helpers/golden.js';

describe('golden base models (CPU): logits, loss and every parameter gradient match Hugging Face', () => {
  for (const arch of ['llama', 'bert', 'gpt2'] as const) {
    it(arch, async () => {
      const r = await runBaseCase(arch);
      console.log(
        `[golden cpu] ${arch}: logits ${r.logits.toExponential(2)}, loss ${r.loss.toExponential(2)}, ` +
          `grads ${r.grad.max.toExponential(2)} (worst ${r.grad.worst}, ${r.grad.count} params)`,
      );
      expect(r.logits).toBeLessThanOrEqual(TOL.logits);
      expect(r.loss).toBeLessThanOrEqual(TOL.loss);
      expect(r.grad.max).toBeLessThanOrEqual(TOL.grad);
    });
  }
});
