import type { BinaryOp } from '@peftjs/tensor';
import { broadcastStrides } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { collapseDims, grid1D, mainElementwise, stridedIndexing, stridedValues, wgslType } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

const F32: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow: 'pow_f(a, b)',
  // the CPU's `a >= b || isNaN(a) ? a : b`: NaN in either operand propagates
  maximum: 'select(b, a, a >= b || is_nan(a))',
  minimum: 'select(b, a, a <= b || is_nan(a))',
};

/** i32: wrapping arithmetic; division truncates toward zero and x / 0 is 0 (Int32Array of ±Infinity or NaN). */
const I32: Record<BinaryOp, string> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'select(0, a / select(b, 1, b == 0), b != 0)',
  pow: 'pow_i(a, b)',
  maximum: 'max(a, b)',
  minimum: 'min(a, b)',
};

/** a ** b for i32 as the CPU computes it (a double power truncated to i32): negative exponents give 0 unless |a| = 1. */
const POW_I = /* wgsl */ `
fn pow_i(a: i32, b: i32) -> i32 {
  if (b == 0) { return 1; }
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) == 1); }
    return 0;
  }
  var e = u32(b);
  var base = a;
  var r = 1;
  loop {
    if ((e & 1u) == 1u) { r = r * base; }
    e = e >> 1u;
    if (e == 0u) { break; }
    base = base * base;
  }
  return r;
}`;

/** out = a op b with broadcasting through (collapsed) strides. */
export const binary = webgpuKernel('binary', (be, [a, b], { op, shape }) => {
  const out = be.output(shape, a.dtype, 'binary');
  const n = out.dataId.size;
  if (n === 0) return out;
  const t = wgslType(a.dtype);
  const c = collapseDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  const rank = c.shape.length;
  const { fields, code } = stridedIndexing(rank, ['a', 'b']);
  const expr = t === 'f32' ? F32[op] : I32[op];
  be.dispatch(
    {
      kernel: 'binary',
      key: `binary:${op}:${t}:r${rank}`,
      uniforms: [['n', 'u32'], ...fields],
      inputs: [
        { name: 'as_', type: t },
        { name: 'bs_', type: t },
      ],
      outputs: [{ name: 'out', type: t }],
      source: () =>
        mainElementwise(
          `${code}\n  let a = as_[off_a];\n  let b = bs_[off_b];\n  out[i] = ${expr};`,
          t === 'f32' ? WGSL_MATH : POW_I,
        ),
    },
    [gpu(a), gpu(b)],
    [out.dataId],
    [n, ...stridedValues(c.shape, c.strides)],
    grid1D(n),
  );
  return out;
});
