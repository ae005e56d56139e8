import { broadcastStrides, getKernel, type TensorInfo } from '@peftjs/tensor';
import type { GPUData, WebGPUBackend } from '../backend.js';
import { gpu, webgpuKernel } from '../kernel.js';
import { collapseDims, gridGroups, type UniformType } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * Where a row's mask starts: the mask's strides over the leading axes of x [..., Tk], merged to at most 3 axes
 * (attention's [B, H, Tq] against a [B, 1, 1, Tk] padding mask merges to [B, H·Tq] with strides [Tk, 0]). Masks
 * that do not merge that far are first materialised at x's shape.
 */
export interface MaskPlan {
  /** The mask buffer (the input's, or a broadcast copy to release after the dispatch). */
  data: GPUData;
  temp: boolean;
  /** Leading extents l0, l1, l2; mask strides m0, m1, m2; key stride mk. */
  values: number[];
}

export const MASK_UNIFORMS: [string, UniformType][] = [
  ['l1', 'u32'],
  ['l2', 'u32'],
  ['m0', 'u32'],
  ['m1', 'u32'],
  ['m2', 'u32'],
  ['mk', 'u32'],
];

export function planMask(be: WebGPUBackend, x: TensorInfo, mask: TensorInfo): MaskPlan {
  const rank = x.shape.length;
  const strides = broadcastStrides(mask.shape, x.shape);
  const lead = collapseDims(x.shape.slice(0, rank - 1), [strides.slice(0, rank - 1)]);
  if (lead.shape.length <= 3) {
    const l = [1, 1, 1, ...lead.shape].slice(-3);
    const m = [0, 0, 0, ...lead.strides[0]].slice(-3);
    return { data: gpu(mask), temp: false, values: [l[1], l[2], m[0], m[1], m[2], strides[rank - 1]] };
  }
  const full = getKernel('webgpu', 'broadcastTo')(be, [mask], { shape: x.shape });
  const tk = x.shape[rank - 1];
  const rows = x.shape.slice(0, rank - 1).reduce((a, b) => a * b, 1);
  return { data: full.dataId as GPUData, temp: true, values: [1, rows, 0, 0, tk, 1] };
}

/** WGSL: `visible(row, k)` for the row's query index, causality and the mask (when bound as `ms`). */
export function visibility(hasMask: boolean): string {
  return `
fn visible(row: u32, k: u32) -> bool {
  let q = i32(row % u.tq);
  let last = select(i32(u.c) - 1, q + i32(u.c) - i32(u.tq), u.causal != 0u);
  if (i32(k) > last) { return false; }
${
  hasMask
    ? `  let i2 = row % u.l2;
  let r1 = row / u.l2;
  let mo = (r1 / u.l1) * u.m0 + (r1 % u.l1) * u.m1 + i2 * u.m2;
  return ms[mo + k * u.mk] != 0u;`
    : '  return true;'
}
}`;
}

/** Attention probabilities: one workgroup per row computes the masked, scaled scores, their max, Σexp and writes. */
export const maskedSoftmax = webgpuKernel('maskedSoftmax', (be, [x, mask], { scale, causal }) => {
  const out = be.output(x.shape, 'f32', 'maskedSoftmax');
  const rank = x.shape.length;
  const c = x.shape[rank - 1] ?? 1;
  const tq = rank >= 2 ? x.shape[rank - 2] : 1;
  const rows = c === 0 ? 0 : out.dataId.size / c;
  if (rows === 0) return out;
  const wg = rowWorkgroup(c);
  const plan = mask ? planMask(be, x, mask) : null;
  be.dispatch(
    {
      kernel: 'maskedSoftmax',
      key: `maskedSoftmax:${plan ? 'mask' : 'nomask'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
        ['tq', 'u32'],
        ['causal', 'u32'],
        ['scale', 'f32'],
        ...(plan ? MASK_UNIFORMS : []),
      ],
      inputs: [{ name: 'xs', type: 'f32' }, ...(plan ? [{ name: 'ms', type: 'u32' }] : [])],
      outputs: [{ name: 'ys', type: 'f32' }],
      source: () =>
        rowMain(
          wg,
          `  let base = row * u.c;
  var mx = -f_inf();
  for (var k = lid; k < u.c; k = k + ${wg}u) { mx = max_nan(mx, score(row, base, k)); }
  mx = wg_max(mx, lid);
  var s = 0.0;
  for (var k = lid; k < u.c; k = k + ${wg}u) { s = s + exp_acc(score(row, base, k) - mx); }
  s = wg_sum(s, lid);
  for (var k = lid; k < u.c; k = k + ${wg}u) { ys[base + k] = exp_acc(score(row, base, k) - mx) / s; }`,
          `${WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32')}${visibility(plan !== null)}
fn score(row: u32, base: u32, k: u32) -> f32 {
  if (visible(row, k)) { return xs[base + k] * u.scale; }
  return bitcast<f32>(0xff7fffffu); // the lowest f32, as Hugging Face masks
}`,
        ),
    },
    plan ? [gpu(x), plan.data] : [gpu(x)],
    [out.dataId],
    [rows, c, tq, causal ? 1 : 0, scale, ...(plan ? plan.values : [])],
    gridGroups(rows),
  );
  if (plan?.temp) be.releaseTemp(plan.data);
  return out;
});
