import { isLinearLike, Linear, type LinearLike, type Module } from '@peftjs/nn';
import { tensor } from '@peftjs/tensor';
import { defaultBaseBytes } from './memory.js';

/**
 * "Quantize this layer at b bits": what the search needs of a quantization backend. `@peftjs/quant-nf4`'s
 * `Linear4bit` / `Linear8bit` plug in here (an adapter of a few lines, once that package is on main); until then
 * {@link simulatedQuantizer} stands in.
 */
export interface LayerQuantizer {
  readonly name: string;
  /** A frozen base layer computing with `layer`'s weight stored at `bits` (bias kept). The caller frees `layer`. */
  quantize(layer: LinearLike, bits: number): Module;
  /** Bytes the base weight takes at `bits`, quantization state included (the memory model's base term). */
  baseBytes(bits: number, outFeatures: number, inFeatures: number): number;
}

export class QuantizerError extends Error {
  override name = 'QuantizerError';
}

/** bitsandbytes' NF4 code book (reference doc §9.1) and the midpoints its bucketize uses. */
const NF4 = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];
const NF4_MID = NF4.slice(1).map((v, i) => Math.fround((v + NF4[i]!) / 2));

/** NF4 values as bitsandbytes dequantizes them (blockwise absmax, nearest code, a tie to the lower code). */
export function nf4RoundTrip(w: Float32Array, blocksize = 64): Float32Array {
  const out = new Float32Array(w.length);
  for (let b = 0; b < w.length; b += blocksize) {
    const end = Math.min(b + blocksize, w.length);
    let absmax = 0;
    for (let i = b; i < end; i++) absmax = Math.max(absmax, Math.abs(w[i]!));
    const inv = Math.fround(1 / Math.max(absmax, 1e-38));
    for (let i = b; i < end; i++) {
      const s = Math.min(1, Math.max(-1, Math.fround(w[i]! * inv)));
      let c = 0;
      while (c < NF4_MID.length && s > NF4_MID[c]!) c++;
      out[i] = Math.fround(NF4[c]! * absmax);
    }
  }
  return out;
}

/** Round to the nearest float16 value (ties to even), kept as float32. */
export function toFloat16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Number.POSITIVE_INFINITY;
  // spacing of float16 numbers around a: 2^(e − 10) for normals, 2^−24 below 2^−14
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12) r = Math.trunc(q) % 2 === 0 ? Math.trunc(q) : Math.trunc(q) + 1;
  return Math.sign(x) * r * ulp;
}

/** LLM.int8 row-wise values as bitsandbytes dequantizes them: float16 input, SCB = row absmax,
 * code = round-half-even(w16 · (127 · (1/SCB))) in float32 (as torch evaluates it), value = code · SCB / 127. */
export function int8RoundTrip(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = w.map(toFloat16);
  for (let r = 0; r < rows; r++) {
    let scb = 0;
    for (let c = 0; c < cols; c++) scb = Math.max(scb, Math.abs(half[r * cols + c]!));
    const s = Math.fround(127 * Math.fround(1 / scb));
    for (let c = 0; c < cols; c++) {
      const v = roundHalfEven(Math.fround(half[r * cols + c]! * s));
      const q = Number.isFinite(v) ? Math.max(-128, Math.min(127, v)) : 0;
      out[r * cols + c] = Math.fround(Math.fround(q * scb) / 127);
    }
  }
  return out;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * A stand-in quantizer: the weight takes the values bitsandbytes' NF4 (4 bits, blocks of 64), LLM.int8 (8 bits)
 * or float16 (16 bits) would give it, but is held dense in float32 (so its buffers are not the compressed sizes;
 * `baseBytes` reports the real formats' bytes). CPU tensors only (values are read synchronously).
 */
export const simulatedQuantizer: LayerQuantizer = {
  name: 'simulated (bitsandbytes values, dense float32 storage)',
  baseBytes: defaultBaseBytes,
  quantize(layer: LinearLike, bits: number): Module {
    if (!isLinearLike(layer)) throw new QuantizerError('can only quantize Linear-like layers');
    if (bits !== 4 && bits !== 8 && bits !== 16) throw new QuantizerError(`bits must be 4, 8 or 16, got ${bits}`);
    const dense = layer.denseWeight();
    const w = dense.dataSync() as Float32Array;
    dense.dispose();
    const { outFeatures: o, inFeatures: i } = layer;
    const values = bits === 4 ? nf4RoundTrip(w) : bits === 8 ? int8RoundTrip(w, o, i) : w.map(toFloat16);
    const backend = layer.parameters()[0]!.backend;
    const out = new Linear(i, o, { bias: layer.bias !== null, backend });
    const next = tensor(values, [o, i], { backend });
    out.setDenseWeight(next);
    next.dispose();
    if (layer.bias)
      out.setParameter('bias', tensor(layer.bias.dataSync() as Float32Array, [o], { backend }))?.dispose();
    out.requiresGrad_(false);
    return out;
  },
};
