import type { Backend } from '@peftjs/tensor';
import { expect, it } from 'vitest';
import { runQloraCase } from './qlora-golden.js';

/** The bars of ../shared/golden/README.md ("QLoRA cases"). */
const BARS = {
  llama_qlora_nf4: { logits: 1e-4, loss: 1e-5, grad: 1e-3, dequantized: 1e-6, merged: 1e-3 },
  // LLM.int8's reference logits come from float16 activations with outlier decomposition: compared loosely
  llama_lora_int8: { logits: 1e-2, loss: 1e-2, grad: 1e-2, dequantized: 1e-6, merged: 1e-3 },
} as const;

export function qloraSuite(backend: () => Backend): void {
  for (const [name, bar] of Object.entries(BARS)) {
    it(name, async () => {
      const r = await runQloraCase(name, backend());
      console.log(
        `${name} on ${backend().name}: logits ${r.logits.toExponential(2)}, loss ${r.loss.toExponential(2)}, ` +
          `max grad ${Math.max(...Object.values(r.grads)).toExponential(2)}, max dequantized ${Math.max(...Object.values(r.dequantized)).toExponential(2)}` +
          (r.merged === null ? '' : `, merged logits ${r.merged.toExponential(2)}`),
      );
      expect(r.counts.trainable).toBe(r.counts.wantTrainable);
      expect(r.counts.total).toBe(r.counts.wantTotal);
      expect(r.missingGrads).toEqual([]);
      expect(Object.keys(r.grads).length).toBeGreaterThan(0);
      expect(Object.keys(r.dequantized).length).toBe(14);
      for (const [k, e] of Object.entries(r.dequantized)) expect(e, k).toBeLessThanOrEqual(bar.dequantized);
      expect(r.logits).toBeLessThanOrEqual(bar.logits);
      expect(r.loss).toBeLessThanOrEqual(bar.loss);
      for (const [k, e] of Object.entries(r.grads)) expect(e, k).toBeLessThanOrEqual(bar.grad);
      if (name === 'llama_qlora_nf4') {
        expect(r.merged).not.toBeNull();
        expect(r.merged!).toBeLessThanOrEqual(bar.merged);
      }
    });
  }
}
