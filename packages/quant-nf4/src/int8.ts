import { f16ToNumber, numberToF16 } from '@peftjs/safetensors';
import { QuantizationError } from './errors.js';

/** LLM.int8 weight storage: int8 codes with one float32 scale (SCB) per row. */
export interface QuantizedInt8 {
  /** [rows, cols]. */
  readonly shape: readonly [number, number];
  /** Row-major int8 codes. */
  readonly weight: Int8Array;
  /** Row absmax of the float16-cast weight, as float32 ([rows]). */
  readonly scb: Float32Array;
}

const toF16 = (x: number): number => f16ToNumber(numberToF16(x));

/**
 * Quantize a [rows, cols] float32 weight row-wise to int8 as bitsandbytes' `int8_vectorwise_quant(W.half())`:
 * SCB = max |W16| per row, code = round_half_even(W16 · (127 · (1 / SCB))) in float32.
 */
export function quantizeInt8Rowwise(values: Float32Array, rows: number, cols: number): QuantizedInt8 {
  if (rows * cols !== values.length) {
    throw new QuantizationError('BAD_SHAPE', `${values.length} values do not fill shape [${rows}, ${cols}]`);
  }
  const weight = new Int8Array(values.length);
  const scb = new Float32Array(rows);
  const half = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < cols; c++) {
      const h = toF16(values[r * cols + c]);
      half[c] = h;
      const a = Math.abs(h);
      if (a > m) m = a;
    }
    scb[r] = m;
    // torch evaluates `127.0 / t` as 127 · reciprocal(t), each rounded to float32
    const s = Math.fround(127 * Math.fround(1 / m));
    for (let c = 0; c < cols; c++) {
      const v = roundHalfEven(Math.fround(half[c] * s));
      // an all-zero row gives 0·∞ = NaN, which torch casts to 0
      weight[r * cols + c] = Number.isFinite(v) ? Math.max(-128, Math.min(127, v)) : 0;
    }
  }
  return { shape: [rows, cols], weight, scb };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** w · SCB / 127 per row, in float32 (as bitsandbytes / transformers dequantize an int8 weight). */
export function dequantizeInt8(q: QuantizedInt8): Float32Array {
  const [rows, cols] = q.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const s = q.scb[r];
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.fround(q.weight[r * cols + c] * s) / 127;
  }
  return out;
}
