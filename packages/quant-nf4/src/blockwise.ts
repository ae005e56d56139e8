import { type CodeSearch, code4bit, codeSearch, DYNAMIC_CODE, nearestCode, type QuantType4bit } from './codes.js';
import { QuantizationError } from './errors.js';

/** Block sizes bitsandbytes' 4-bit quantization accepts. */
export const BLOCKSIZES_4BIT: readonly number[] = [32, 64, 128, 256, 512, 1024, 2048, 4096];
/** The block size bitsandbytes uses for the 8-bit codes of double-quantized absmax. */
export const NESTED_BLOCKSIZE = 256;

// bitsandbytes clamps the scale to this (as float32: a subnormal) before taking its reciprocal.
const MIN_ABSMAX = Math.fround(1e-38);

/** Per-block scales quantized to 8 bits (bitsandbytes' `compress_statistics` / `bnb_4bit_use_double_quant`). */
export interface NestedAbsmax {
  /** uint8 codes of (absmax − offset), one per 4-bit block, in `code`. */
  readonly codes: Uint8Array;
  /** float32 scale of each `blocksize` run of codes. */
  readonly absmax: Float32Array;
  /** The 8-bit code book (bitsandbytes' dynamic map). */
  readonly code: Float32Array;
  readonly blocksize: number;
  /** float32 mean of the raw absmax, subtracted before the 8-bit quantization. */
  readonly offset: number;
}

/** A 4-bit quantized tensor in bitsandbytes' layout. */
export interface Quantized4bit {
  readonly quantType: QuantType4bit;
  readonly blocksize: number;
  /** Shape of the dequantized tensor ([out, in] for a Linear weight). */
  readonly shape: readonly number[];
  /** Two codes per byte, the first value in the high nibble; an odd count ends with a padding code. */
  readonly packed: Uint8Array;
  /** The 16-value code book. */
  readonly code: Float32Array;
  /** float32 absmax per block (when not double-quantized). */
  readonly absmax: Float32Array | null;
  /** The 8-bit absmax (when double-quantized). */
  readonly nested: NestedAbsmax | null;
}

export interface Quantize4bitOptions {
  /** 'nf4' (QLoRA) or 'fp4' (bitsandbytes' default). Default 'nf4'. */
  quantType?: QuantType4bit;
  /** Values per absmax block (32 … 4096, a power of two). Default 64. */
  blocksize?: number;
  /** Quantize the block scales to 8 bits too (double quantization). Default false. */
  doubleQuant?: boolean;
}

export function checkQuantType(t: unknown, tensor?: string): QuantType4bit {
  if (t !== 'nf4' && t !== 'fp4') {
    throw new QuantizationError('BAD_QUANT_TYPE', `unknown 4-bit quant type ${JSON.stringify(t)} (nf4 or fp4)`, tensor);
  }
  return t;
}

export function checkBlocksize4bit(b: unknown, tensor?: string): number {
  if (typeof b !== 'number' || !BLOCKSIZES_4BIT.includes(b)) {
    throw new QuantizationError(
      'BAD_BLOCKSIZE',
      `blocksize ${JSON.stringify(b)} is not one bitsandbytes allows (${BLOCKSIZES_4BIT.join(', ')})`,
      tensor,
    );
  }
  return b;
}

export const blockCount = (n: number, blocksize: number): number => Math.ceil(n / blocksize);

/**
 * absmax per block and each value scaled into [−1, 1], exactly as bitsandbytes' reference kernels: full blocks are
 * multiplied by the float32 reciprocal of max(absmax, 1e-38) and keep the raw absmax; a trailing partial block stores
 * the clamped absmax and is divided by it.
 */
function scaleBlocks(values: Float32Array, blocksize: number): { scaled: Float32Array; absmax: Float32Array } {
  const n = values.length;
  const blocks = blockCount(n, blocksize);
  const absmax = new Float32Array(blocks);
  const scaled = new Float32Array(n);
  const full = Math.floor(n / blocksize);
  for (let b = 0; b < blocks; b++) {
    const start = b * blocksize;
    const end = Math.min(n, start + blocksize);
    let m = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(values[i]);
      if (a > m || Number.isNaN(a)) m = a;
    }
    if (b < full) {
      absmax[b] = m;
      const recip = Math.fround(1 / Math.max(m, MIN_ABSMAX));
      for (let i = start; i < end; i++) scaled[i] = clamp1(Math.fround(values[i] * recip));
    } else {
      const am = Math.max(m, MIN_ABSMAX);
      absmax[b] = am;
      for (let i = start; i < end; i++) scaled[i] = clamp1(Math.fround(values[i] / am));
    }
  }
  return { scaled, absmax };
}

const clamp1 = (v: number): number => Math.max(-1, Math.min(v, 1));

/** Blockwise 8-bit quantization with a sorted code book (bitsandbytes `quantize_blockwise`). */
export function quantizeBlockwise(
  values: Float32Array,
  blocksize: number,
  code: Float32Array = DYNAMIC_CODE,
): { codes: Uint8Array; absmax: Float32Array } {
  const { scaled, absmax } = scaleBlocks(values, blocksize);
  const s = codeSearch(code);
  const codes = new Uint8Array(values.length);
  for (let i = 0; i < codes.length; i++) codes[i] = nearestCode(s, scaled[i]);
  return { codes, absmax };
}

/** out[i] = code[codes[i]] · absmax[i / blocksize] in float32. */
export function dequantizeBlockwise(
  codes: Uint8Array,
  absmax: Float32Array,
  blocksize: number,
  code: Float32Array = DYNAMIC_CODE,
): Float32Array {
  const out = new Float32Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = code[codes[i]] * absmax[(i / blocksize) | 0];
  return out;
}

/**
 * float32 mean as torch computes it on the CPU (the offset bitsandbytes subtracts before quantizing absmax): the sum
 * runs over `lanes`-wide vectors in four interleaved accumulators with cascade levels of 16 rows (ATen's
 * `vectorized_inner_sum` / `row_sum` / `multi_row_sum`), then the scalar tail and the lanes are added, then the sum
 * is divided by n. Every addition rounds to float32, so the offset (and the bytes depending on it) match exactly.
 * `lanes` = 8 (eight-float vectors) matches torch 2.x's CPU sum, checked against it on lengths 32 … 5000.
 */
export function torchMeanF32(x: Float32Array, lanes = 8): number {
  const f = Math.fround;
  const n = x.length;
  const vecSize = Math.floor(n / lanes);
  const ilp = 4;
  const sizeIlp = Math.floor(vecSize / ilp);
  const levels = 4;
  const levelPower = Math.max(4, Math.floor(ceilLog2(sizeIlp) / levels));
  const levelStep = 1 << levelPower;
  const levelMask = levelStep - 1;
  // acc[level][k][lane]
  const acc = Array.from({ length: levels }, () => Array.from({ length: ilp }, () => new Float32Array(lanes)));
  const addRow = (target: Float32Array, vec: number) => {
    for (let l = 0; l < lanes; l++) target[l] = f(target[l] + x[vec * lanes + l]);
  };
  let i = 0;
  while (i + levelStep <= sizeIlp) {
    for (let j = 0; j < levelStep; j++, i++) for (let k = 0; k < ilp; k++) addRow(acc[0][k], i * ilp + k);
    for (let j = 1; j < levels; j++) {
      for (let k = 0; k < ilp; k++) {
        for (let l = 0; l < lanes; l++) acc[j][k][l] = f(acc[j][k][l] + acc[j - 1][k][l]);
        acc[j - 1][k].fill(0);
      }
      if ((i & (levelMask << (j * levelPower))) !== 0) break;
    }
  }
  for (; i < sizeIlp; i++) for (let k = 0; k < ilp; k++) addRow(acc[0][k], i * ilp + k);
  for (let j = 1; j < levels; j++)
    for (let k = 0; k < ilp; k++) for (let l = 0; l < lanes; l++) acc[0][k][l] = f(acc[0][k][l] + acc[j][k][l]);
  const partial = acc[0];
  for (let v = sizeIlp * ilp; v < vecSize; v++) addRow(partial[0], v);
  for (let k = 1; k < ilp; k++) for (let l = 0; l < lanes; l++) partial[0][l] = f(partial[0][l] + partial[k][l]);
  let total = 0;
  for (let t = vecSize * lanes; t < n; t++) total = f(total + x[t]);
  for (let l = 0; l < lanes; l++) total = f(total + partial[0][l]);
  return f(total / n);
}

function ceilLog2(v: number): number {
  return v <= 1 ? 0 : Math.ceil(Math.log2(v));
}

/** Quantize float32 values of `shape` to 4 bits, as bitsandbytes' `quantize_4bit`. */
export function quantize4bit(
  values: Float32Array,
  shape: readonly number[],
  opts: Quantize4bitOptions = {},
): Quantized4bit {
  const quantType = checkQuantType(opts.quantType ?? 'nf4');
  const blocksize = checkBlocksize4bit(opts.blocksize ?? 64);
  const n = values.length;
  if (shape.reduce((a, b) => a * b, 1) !== n) {
    throw new QuantizationError('BAD_SHAPE', `${n} values do not fill shape [${shape.join(', ')}]`);
  }
  const code = code4bit(quantType);
  const { scaled, absmax } = scaleBlocks(values, blocksize);
  const packed = new Uint8Array((n + 1) >> 1);
  const s: CodeSearch = codeSearch(code);
  // An odd count is padded with one scaled 0.0 (NF4 code 7, FP4 code 0).
  const pad = nearestCode(s, 0);
  for (let i = 0; i < packed.length; i++) {
    const hi = nearestCode(s, scaled[2 * i]);
    const lo = 2 * i + 1 < n ? nearestCode(s, scaled[2 * i + 1]) : pad;
    packed[i] = (hi << 4) | lo;
  }
  let nested: NestedAbsmax | null = null;
  if (opts.doubleQuant) {
    const offset = torchMeanF32(absmax);
    const centered = new Float32Array(absmax.length);
    for (let i = 0; i < absmax.length; i++) centered[i] = absmax[i] - offset;
    const q = quantizeBlockwise(centered, NESTED_BLOCKSIZE, DYNAMIC_CODE);
    nested = { codes: q.codes, absmax: q.absmax, code: DYNAMIC_CODE, blocksize: NESTED_BLOCKSIZE, offset };
  }
  return { quantType, blocksize, shape: [...shape], packed, code, absmax: nested ? null : absmax, nested };
}

/** The float32 absmax per block that dequantization uses (for double quant: dyn[code] · nestedAbsmax + offset). */
export function blockAbsmax(q: Quantized4bit): Float32Array {
  if (q.absmax) return q.absmax;
  const d = q.nested as NestedAbsmax;
  const out = dequantizeBlockwise(d.codes, d.absmax, d.blocksize, d.code);
  const off = Math.fround(d.offset);
  for (let i = 0; i < out.length; i++) out[i] += off;
  return out;
}

/** Dequantize to float32 (row-major, `q.shape`), as bitsandbytes' `dequantize_4bit`. */
export function dequantize4bit(q: Quantized4bit): Float32Array {
  const n = q.shape.reduce((a, b) => a * b, 1);
  const absmax = blockAbsmax(q);
  const { packed, code, blocksize } = q;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const byte = packed[i >> 1];
    const c = i & 1 ? byte & 15 : byte >> 4;
    out[i] = code[c] * absmax[(i / blocksize) | 0];
  }
  return out;
}

/** Bytes a quantized tensor holds (packed codes and scales; the shared code books are not counted). */
export function quantizedBytes(q: Quantized4bit): number {
  return (
    q.packed.byteLength +
    (q.absmax
      ? q.absmax.byteLength
      : (q.nested as NestedAbsmax).codes.byteLength + (q.nested as NestedAbsmax).absmax.byteLength)
  );
}
