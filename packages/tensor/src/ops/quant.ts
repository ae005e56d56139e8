import { record, registerGradient } from '../autograd.js';
import { noGrad } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import type { Quant4bitLayout } from '../kernels.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { reshape } from './shape.js';
import { kernel } from './util.js';

/**
 * A 4-bit quantized weight on a backend: the packed codes (u8), the block scales (f32, or u8 codes with a f32
 * nested absmax when double-quantized) and the layout they follow. The tensors are owned by whoever built it.
 */
export interface Quant4bitWeight {
  readonly packed: Tensor;
  readonly absmax: Tensor;
  readonly nestedAbsmax: Tensor | null;
  readonly layout: Quant4bitLayout;
}

/** An int8 row-quantized weight: codes i8 [R, C] and one f32 scale per row (LLM.int8's SCB). */
export interface Int8Weight {
  readonly weight: Tensor;
  readonly scb: Tensor;
}

function check4bit(op: string, w: Quant4bitWeight): { rows: number; cols: number } {
  const { layout: l, packed, absmax, nestedAbsmax } = w;
  if (l.shape.length !== 2) throw new ShapeError(op, 'a 4-bit weight must be 2-D [rows, cols]', [l.shape]);
  const n = sizeOf(l.shape);
  const blocks = Math.ceil(n / l.blocksize);
  if (!(Number.isInteger(l.blocksize) && l.blocksize > 0)) throw new ShapeError(op, `bad blocksize ${l.blocksize}`);
  if (l.code.length !== 16) throw new ShapeError(op, `the code book has ${l.code.length} values, not 16`);
  if (packed.dtype !== 'u8') throw new DTypeError(op, `packed codes must be u8, got ${packed.dtype}`);
  if (packed.size !== Math.ceil(n / 2)) {
    throw new ShapeError(op, `${packed.size} packed bytes for ${n} values (need ${Math.ceil(n / 2)})`);
  }
  if (absmax.size !== blocks) throw new ShapeError(op, `${absmax.size} absmax values for ${blocks} blocks`);
  if (l.nested) {
    if (absmax.dtype !== 'u8') throw new DTypeError(op, `double-quantized absmax must be u8, got ${absmax.dtype}`);
    if (l.nested.code.length !== 256)
      throw new ShapeError(op, `the nested code book has ${l.nested.code.length} values`);
    const nb = Math.ceil(blocks / l.nested.blocksize);
    if (nestedAbsmax?.dtype !== 'f32' || nestedAbsmax.size !== nb) {
      throw new ShapeError(op, `double quantization needs a f32 nested absmax of ${nb} values`);
    }
  } else if (absmax.dtype !== 'f32') {
    throw new DTypeError(op, `absmax must be f32, got ${absmax.dtype}`);
  }
  return { rows: l.shape[0], cols: l.shape[1] };
}

function parts4bit(w: Quant4bitWeight): Tensor[] {
  return w.layout.nested && w.nestedAbsmax ? [w.packed, w.absmax, w.nestedAbsmax] : [w.packed, w.absmax];
}

/** The dense f32 weight of a 4-bit quantized tensor (bitsandbytes' `dequantize_4bit`). Not differentiable. */
export function dequantize4bit(w: Quant4bitWeight): Tensor {
  check4bit('dequantize4bit', w);
  return kernel('dequantize4bit', 'dequantize4bit', parts4bit(w), w.layout);
}

function checkInt8(op: string, w: Int8Weight): { rows: number; cols: number } {
  if (w.weight.dtype !== 'i8' || w.weight.rank !== 2) {
    throw new DTypeError(op, `an int8 weight must be a 2-D i8 tensor, got ${w.weight.dtype} [${w.weight.shape}]`);
  }
  if (w.scb.dtype !== 'f32' || w.scb.size !== w.weight.shape[0]) {
    throw new ShapeError(op, `scb must be f32 with one value per row (${w.weight.shape[0]})`, [w.scb.shape]);
  }
  return { rows: w.weight.shape[0], cols: w.weight.shape[1] };
}

/** The dense f32 weight of an int8 row-quantized tensor: (w · scb) / 127 per row. Not differentiable. */
export function dequantizeInt8(w: Int8Weight): Tensor {
  checkInt8('dequantizeInt8', w);
  return kernel('dequantizeInt8', 'dequantizeInt8', [w.weight, w.scb], {});
}

export interface QuantMatmulOptions {
  /** Multiply by Wᵀ (a Linear layer's forward: x [..., C] → [..., R]); default true. False: x [..., R] · W. */
  transW?: boolean;
}

interface QuantMatmulAttrs {
  w: Quant4bitWeight | Int8Weight;
  transW: boolean;
}

/** Run a quantized product on x flattened to [M, K]; the output keeps x's leading axes. */
function flatProduct(op: string, x: Tensor, k: number, n: number, run: (x2: Tensor) => Tensor): Tensor {
  if (x.dtype !== 'f32') throw new DTypeError(op, `expects f32 input, got ${x.dtype}`);
  if (x.rank < 1 || x.shape[x.rank - 1] !== k) {
    throw new ShapeError(op, `input's last axis must be ${k}`, [x.shape]);
  }
  const lead = x.shape.slice(0, -1);
  const x2 = reshape(x, [sizeOf(lead), k]);
  const y2 = run(x2);
  x2.dispose();
  const y = reshape(y2, [...lead, n]);
  y2.dispose();
  return y;
}

/**
 * x · Wᵀ (default) or x · W for a 4-bit weight W [R, C], dequantized inside the kernel: no dense copy of W outlives
 * the call. Differentiable in x (the weight is frozen): dx uses the same fused kernel with the other orientation.
 */
export function matmul4bit(x: Tensor, w: Quant4bitWeight, opts: QuantMatmulOptions = {}): Tensor {
  const transW = opts.transW ?? true;
  const { rows, cols } = check4bit('matmul4bit', w);
  const [k, n] = transW ? [cols, rows] : [rows, cols];
  const out = noGrad(() =>
    flatProduct('matmul4bit', x, k, n, (x2) =>
      kernel('matmul4bit', 'matmul4bit', [x2, ...parts4bit(w)], { ...w.layout, transW }),
    ),
  );
  return record<QuantMatmulAttrs>('matmul4bit', [x], out, { w, transW });
}

/** x · Wᵀ (default) or x · W for an int8 row-quantized W, dequantized inside the kernel; differentiable in x. */
export function matmulInt8(x: Tensor, w: Int8Weight, opts: QuantMatmulOptions = {}): Tensor {
  const transW = opts.transW ?? true;
  const { rows, cols } = checkInt8('matmulInt8', w);
  const [k, n] = transW ? [cols, rows] : [rows, cols];
  const out = noGrad(() =>
    flatProduct('matmulInt8', x, k, n, (x2) => kernel('matmulInt8', 'matmulInt8', [x2, w.weight, w.scb], { transW })),
  );
  return record<QuantMatmulAttrs>('matmulInt8', [x], out, { w, transW });
}

registerGradient<QuantMatmulAttrs>('matmul4bit', (dy, { attrs }) => [
  () => matmul4bit(dy, attrs.w as Quant4bitWeight, { transW: !attrs.transW }),
]);
registerGradient<QuantMatmulAttrs>('matmulInt8', (dy, { attrs }) => [
  () => matmulInt8(dy, attrs.w as Int8Weight, { transW: !attrs.transW }),
]);
