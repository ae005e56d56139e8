/**
 * Memory, measured from the backend's buffers (`memory()`): the tiny LLaMA of @peftjs/tiny-llama loaded as NF4 with
 * double quantization holds its quantized Linear weights in ≤ 4.13 bits per parameter (bitsandbytes: 4.127), and a
 * QLoRA training step leaves nothing behind but the LoRA gradients (no dense f32 copy of a quantized weight).
 */
import '@peftjs/lora';
import { getPeftModel } from '@peftjs/registry';
import { type Backend, memory, tensor, tidy } from '@peftjs/tensor';
import { loadTinyLlama } from '@peftjs/tiny-llama';
import { expect, it } from 'vitest';
import { Linear4bit, quantizeModel } from '../src/index.js';

export function memorySuite(backend: () => Backend): void {
  it('tiny LLaMA as NF4 + double quant: ≤ 4.13 bits per quantized parameter; a QLoRA step keeps no dense copy', async () => {
    const be = backend();
    const { model } = await loadTinyLlama({ backend: be });
    const before = memory().byBackend[be.name]?.bytes ?? 0;
    const denseLinearBytes = model
      .namedModules()
      .filter(([n]) => /layers\.\d+\.(self_attn|mlp)\.\w+_proj$/.test(n))
      .reduce(
        (s, [, m]) =>
          s +
          4 *
            (m as unknown as { inFeatures: number; outFeatures: number }).inFeatures *
            (m as unknown as { outFeatures: number }).outFeatures,
        0,
      );
    const paths = await quantizeModel(model, {
      load_in_4bit: true,
      bnb_4bit_quant_type: 'nf4',
      bnb_4bit_use_double_quant: true,
    });
    expect(paths.length).toBe(4 * 7);
    let params = 0;
    for (const p of paths) {
      const l = model.getSubmodule(p) as Linear4bit;
      expect(l).toBeInstanceOf(Linear4bit);
      params += l.inFeatures * l.outFeatures;
    }
    expect(params * 4).toBe(denseLinearBytes);
    // the backend now holds the quantized weights instead of the dense ones: the difference is what they take
    const after = memory().byBackend[be.name]?.bytes ?? 0;
    const quantBytes = after - before + denseLinearBytes;
    const bits = (8 * quantBytes) / params;
    console.log(`${be.name}: ${params} quantized parameters in ${quantBytes} bytes = ${bits.toFixed(4)} bits/param`);
    expect(bits).toBeGreaterThan(4.12);
    expect(bits).toBeLessThanOrEqual(4.13);

    // a QLoRA step (forward + backward) leaves only the LoRA gradients behind
    const peft = getPeftModel(model, { peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: 'all-linear' });
    peft.train();
    const ids = tensor(
      Int32Array.from({ length: 32 }, (_, i) => (i * 17) % 256),
      [2, 16],
      { dtype: 'i32', backend: be },
    );
    const atRest = memory().byBackend[be.name]?.bytes ?? 0;
    tidy(() => {
      const out = peft.forward({ inputIds: ids, labels: ids });
      out.loss!.backward();
    });
    let gradBytes = 0;
    for (const [, p] of peft.namedTrainableParameters()) gradBytes += p.grad ? p.grad.size * 4 : 0;
    expect(gradBytes).toBeGreaterThan(0);
    const afterStep = memory().byBackend[be.name]?.bytes ?? 0;
    // any dense f32 copy of one quantized weight kept alive would add ≥ 64 KiB here
    expect(afterStep - atRest).toBe(gradBytes);
    ids.dispose();
    peft.dispose();
  }, 300_000);
}
