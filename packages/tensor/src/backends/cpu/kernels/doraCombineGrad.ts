import type { KernelOutput } from '../../../backend.js';
import { sizeOf } from '../../../shape.js';
import { cpuKernel } from '../kernel.js';
import { simdDoraCombineGrad } from '../simd.js';

/**
 * Sum p [d₀, …, d_{k−1}, c] over its leading axes the way unbroadcast's `sum` does: the highest axis first, each
 * column in float64 in order and rounded to f32 (kernels/reduce.ts), down to [c].
 */
function sumLeading(p: Float32Array, dims: number[], c: number): Float32Array {
  let cur = p;
  const rest = [...dims];
  while (rest.length > 0) {
    const n = rest.pop() as number;
    const outer = sizeOf(rest);
    const next = new Float32Array(outer * c);
    const acc = new Float64Array(c);
    for (let o = 0; o < outer; o++) {
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const row = (o * n + k) * c;
        for (let j = 0; j < c; j++) acc[j] += cur[row + j];
      }
      next.set(acc, o * c);
    }
    cur = next;
  }
  return cur;
}

/**
 * DoRA's gradients from [dy, base, lora, scale] (see the kernel contract): with d3 = fround(dy·fround(s)),
 * d base = fround(dy·fround(scale − 1)), d lora = fround(d3·scale), d scale = fround(S(fround(dy·base)) +
 * S(fround(d3·lora))) with S unbroadcast's sum over the leading axes (axis rank − 2 first, then rank − 3, …, each in
 * float64 in order, rounded to f32). The first of these passes runs fused (elementwise parts and the sums over axis
 * rank − 2), the rest of S over the small [d₀, …, d_{rank−3}, C] partial sums.
 */
export const doraCombineGrad = cpuKernel('doraCombineGrad', (be, [dy, base, lora, scale], attrs) => {
  const s32 = Math.fround(attrs.s);
  const dv = be.values(dy) as Float32Array;
  const bv = be.values(base) as Float32Array;
  const lv = be.values(lora) as Float32Array;
  const sv = be.values(scale) as Float32Array;
  const c = sv.length;
  const lead = dy.shape.slice(0, -1);
  const n = lead.length > 0 ? lead[lead.length - 1] : 1;
  const outer = sizeOf(lead.slice(0, -1));
  const dB = attrs.base ? be.output(dy.shape, 'f32', false) : null;
  const dL = attrs.lora ? be.output(dy.shape, 'f32', false) : null;
  const dS = attrs.scale ? be.output(scale.shape, 'f32', false) : null;
  const dbv = (dB?.values as Float32Array | undefined) ?? null;
  const dlv = (dL?.values as Float32Array | undefined) ?? null;
  const p1 = dS ? new Float32Array(outer * c) : null;
  const p3 = dS ? new Float32Array(outer * c) : null;
  if (!simdDoraCombineGrad(dv, bv, lv, sv, dbv, dlv, p1, p3, outer, n, s32)) {
    const a1 = new Float64Array(c);
    const a3 = new Float64Array(c);
    for (let o = 0; o < outer; o++) {
      a1.fill(0);
      a3.fill(0);
      for (let k = 0; k < n; k++) {
        const row = (o * n + k) * c;
        for (let j = 0; j < c; j++) {
          const i = row + j;
          const g = dv[i];
          const sc = sv[j];
          const d3 = Math.fround(g * s32);
          if (dbv) dbv[i] = g * Math.fround(sc - 1);
          if (dlv) dlv[i] = d3 * sc;
          if (p1) {
            a1[j] += Math.fround(g * bv[i]);
            a3[j] += Math.fround(d3 * lv[i]);
          }
        }
      }
      p1?.set(a1, o * c);
      p3?.set(a3, o * c);
    }
  }
  const outs: KernelOutput[] = [];
  if (dB) outs.push(dB.out);
  if (dL) outs.push(dL.out);
  if (dS && p1 && p3) {
    const dims = lead.slice(0, -1);
    const s1 = sumLeading(p1, dims, c);
    const s3 = sumLeading(p3, dims, c);
    const dsv = dS.values as Float32Array;
    for (let j = 0; j < c; j++) dsv[j] = s1[j] + s3[j];
    outs.push(dS.out);
  }
  if (outs.length === 0) throw new Error('doraCombineGrad: no gradient asked for');
  return { ...outs[0], extra: outs.slice(1) };
});
