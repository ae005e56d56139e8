import { isLinearLike, Linear, type LinearLike, type Module } from '@peftjs/nn';
import { Linear4bit, Linear8bit } from '@peftjs/quant-nf4';
import { tensor } from '@peftjs/tensor';
import { QuantizerError, type LayerQuantizer, toFloat16 } from './quantizer.js';

/**
 * Bytes a base weight holds with {@link bnbQuantizer}: 4 → packed NF4 codes (two per byte) + a float32 absmax per
 * block of 64; 8 → int8 codes + a float32 scale per row + the one-byte `weight_format`; 16 → float16 values held
 * in float32 (the tensor backends store no 16-bit floats), 4 bytes per weight.
 */
export function bnbBaseBytes(bits: number, outFeatures: number, inFeatures: number): number {
  const n = outFeatures * inFeatures;
  if (bits === 4) return Math.ceil(n / 2) + 4 * Math.ceil(n / 64);
  if (bits === 8) return n + 4 * outFeatures + 1;
  if (bits === 16) return 4 * n;
  throw new QuantizerError(`bits must be 4, 8 or 16, got ${bits}`);
}

/**
 * The real quantizer: `@peftjs/quant-nf4`'s bitsandbytes-exact layers — `Linear4bit` (NF4, blocks of 64, no double
 * quantization) at 4 bits, `Linear8bit` (LLM.int8 row-wise) at 8 — and a float16-valued dense layer at 16. Its
 * `baseBytes` is what those layers' buffers hold. CPU tensors (the dense weight is read synchronously).
 */
export const bnbQuantizer: LayerQuantizer = {
  name: 'bitsandbytes NF4 / int8 (@peftjs/quant-nf4), float16 values',
  baseBytes: bnbBaseBytes,
  quantize(layer: LinearLike, bits: number): Module {
    if (!isLinearLike(layer)) throw new QuantizerError('can only quantize Linear-like layers');
    const dense = layer.denseWeight();
    const w = dense.dataSync() as Float32Array;
    dense.dispose();
    const { outFeatures: o, inFeatures: i } = layer;
    const backend = layer.parameters()[0]!.backend;
    const bias = layer.bias ? (layer.bias.dataSync() as Float32Array) : null;
    let out: Module;
    if (bits === 4) out = Linear4bit.quantize(w, o, i, { quantType: 'nf4', blocksize: 64, backend, bias });
    else if (bits === 8) out = Linear8bit.quantize(w, o, i, { backend, bias });
    else if (bits === 16) {
      const l = new Linear(i, o, { bias: bias !== null, backend });
      const t = tensor(w.map(toFloat16), [o, i], { backend });
      l.setDenseWeight(t);
      t.dispose();
      if (bias) l.setParameter('bias', tensor(bias, [o], { backend }))?.dispose();
      out = l;
    } else throw new QuantizerError(`bits must be 4, 8 or 16, got ${bits}`);
    out.requiresGrad_(false);
    return out;
  },
};
