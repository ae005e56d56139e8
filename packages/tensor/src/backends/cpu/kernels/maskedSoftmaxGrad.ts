import { cpuKernel } from '../kernel.js';
import { simdMaskedSoftmaxGrad } from '../simd.js';
import { forEachMaskedRow, hidesNothing } from './maskedSoftmax.js';

export const maskedSoftmaxGrad = cpuKernel('maskedSoftmaxGrad', (be, [y, dy, mask], { scale, causal }) => {
  const yv = be.values(y);
  const dv = be.values(dy);
  const { out, values } = be.output(y.shape, 'f32', false);
  const rank = y.shape.length;
  const c = y.shape[rank - 1] ?? 1;
  const tq = rank >= 2 ? y.shape[rank - 2] : 1;
  const s32 = Math.fround(scale);
  // without a mask (or one that hides nothing): the SIMD kernel, the same bits as the loop below
  const f32 = yv instanceof Float32Array && dv instanceof Float32Array;
  const noMask = !mask || hidesNothing(be.values<Uint8Array>(mask));
  if (noMask && f32 && simdMaskedSoftmaxGrad(yv, dv, values as Float32Array, c, tq, causal, s32)) return out;
  forEachMaskedRow(be, y, mask, (r, i, mv, mo, ms) => {
    const o = r * c;
    let s = 0;
    for (let j = 0; j < c; j++) s += yv[o + j] * dv[o + j];
    // keys past `last` are hidden by causality and get no gradient
    const last = Math.min(causal ? i + c - tq : c - 1, c - 1);
    for (let j = 0; j <= last; j++) {
      const visible = mv === null || mv[mo + j * ms] !== 0;
      // softmaxGrad's f32 result, then the scale's gradient (masked positions get none)
      values[o + j] = visible ? Math.fround(yv[o + j] * (dv[o + j] - s)) * s32 : 0;
    }
    if (last + 1 < c) values.fill(0, o + Math.max(last + 1, 0), o + c);
  });
  return out;
});
