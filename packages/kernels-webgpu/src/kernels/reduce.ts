import { sizeOf } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, gridGroups, mainElementwise, wgslType } from '../program.js';
import { fillBits, valueBits } from '../programs/fill.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * Reduce one axis of x viewed as [outer, n, inner]; the output keeps the axis with length 1.
 *
 * Two programs, chosen by shape: 'rows' (one workgroup per output, its threads striding over the n inputs, then a
 * tree combine; used when inner = 1 or there are few outputs) and 'cols' (one thread per output looping over n,
 * coalesced across inner). f32 sums accumulate in f32 (the CPU uses float64): partial sums of 64 terms are
 * added up separately, so the error grows with n/64 + 64 rather than n. max/min propagate NaN; an empty axis
 * gives NaN for max/min and 0 for sum (0 for every i32 op, as Int32Array stores NaN).
 */
export const reduce = webgpuKernel('reduce', (be, [x], { op, axis }) => {
  const shape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const out = be.output(shape, x.dtype, 'reduce');
  const outer = sizeOf(x.shape.slice(0, axis));
  const n = x.shape[axis];
  const inner = sizeOf(x.shape.slice(axis + 1));
  const count = outer * inner;
  if (count === 0) return out;
  const t = wgslType(x.dtype) as 'f32' | 'i32';
  if (n === 0) {
    fillBits(be, out.dataId, count, op === 'sum' || t === 'i32' ? 0 : valueBits(Number.NaN, 'f32'), 'reduce');
    return out;
  }
  const identity =
    op === 'sum'
      ? t === 'f32'
        ? '0.0'
        : '0'
      : t === 'f32'
        ? op === 'max'
          ? '-f_inf()'
          : 'f_inf()'
        : op === 'max'
          ? 'bitcast<i32>(0x80000000u)'
          : '2147483647';
  const step =
    op === 'sum'
      ? 'part = part + v; cnt = cnt + 1u; if (cnt == 64u) { acc = acc + part; part = ZERO; cnt = 0u; }'
      : t === 'f32'
        ? `acc = ${op}_nan(acc, v);`
        : `acc = ${op}(acc, v);`;
  const loop = (start: string, stride: string, index: string) => `  var acc: ${t} = ${identity};
  var part: ${t} = ZERO;
  var cnt = 0u;
  for (var k = ${start}; k < u.len; k = k + ${stride}) {
    let v = xs[${index}];
    ${step}
  }
${op === 'sum' ? '  acc = acc + part;' : ''}`;
  const zero = `const ZERO: ${t} = ${t === 'f32' ? '0.0' : '0'};`;
  const helpers = `${WGSL_MATH}${NAN_MINMAX}${zero}`;
  const useRows = inner === 1 || count < 2048;
  if (useRows) {
    const wg = rowWorkgroup(n);
    be.dispatch(
      {
        kernel: 'reduce',
        key: `reduce:rows:${op}:${t}:wg${wg}`,
        uniforms: [
          ['rows', 'u32'],
          ['len', 'u32'],
          ['inner', 'u32'],
        ],
        inputs: [{ name: 'xs', type: t }],
        outputs: [{ name: 'out', type: t }],
        source: () =>
          rowMain(
            wg,
            `  let o = row / u.inner;
  let i = row % u.inner;
${loop('lid', `${wg}u`, '(o * u.len + k) * u.inner + i')}
  let r = wg_${op}(acc, lid);
  if (lid == 0u) { out[row] = r; }`,
            helpers + wgReduce(wg, t),
          ),
      },
      [gpu(x)],
      [out.dataId],
      [count, n, inner],
      gridGroups(count),
    );
  } else {
    be.dispatch(
      {
        kernel: 'reduce',
        key: `reduce:cols:${op}:${t}`,
        uniforms: [
          ['n', 'u32'],
          ['len', 'u32'],
          ['inner', 'u32'],
        ],
        inputs: [{ name: 'xs', type: t }],
        outputs: [{ name: 'out', type: t }],
        source: () =>
          mainElementwise(
            `  let o = i / u.inner;
  let c = i % u.inner;
${loop('0u', '1u', '(o * u.len + k) * u.inner + c')}
  out[i] = acc;`,
            helpers,
          ),
      },
      [gpu(x)],
      [out.dataId],
      [count, n, inner],
      grid1D(count),
    );
  }
  return out;
});
