import { gpu, webgpuKernel } from '../kernel.js';
import { gridGroups } from '../program.js';
import { NAN_MINMAX, rowMain, rowWorkgroup, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

/** dx from y and dy per row: log-softmax dx = dy − exp(y)·Σdy; softmax dx = y·(dy − Σ y·dy). */
export const softmaxGrad = webgpuKernel('softmaxGrad', (be, [y, dy], { log }) => {
  const out = be.output(y.shape, 'f32', 'softmaxGrad');
  const c = y.shape[y.shape.length - 1] ?? 1;
  const rows = c === 0 ? 0 : out.dataId.size / c;
  if (rows === 0) return out;
  const wg = rowWorkgroup(c);
  const body = log
    ? `  for (var k = lid; k < u.c; k = k + ${wg}u) { s = s + dys[base + k]; }
  s = wg_sum(s, lid);
  for (var k = lid; k < u.c; k = k + ${wg}u) { dxs[base + k] = dys[base + k] - exp_acc(ys[base + k]) * s; }`
    : `  for (var k = lid; k < u.c; k = k + ${wg}u) { s = s + ys[base + k] * dys[base + k]; }
  s = wg_sum(s, lid);
  for (var k = lid; k < u.c; k = k + ${wg}u) { dxs[base + k] = ys[base + k] * (dys[base + k] - s); }`;
  be.dispatch(
    {
      kernel: 'softmaxGrad',
      key: `softmaxGrad:${log ? 'log' : 'exp'}:wg${wg}`,
      uniforms: [
        ['rows', 'u32'],
        ['c', 'u32'],
      ],
      inputs: [
        { name: 'ys', type: 'f32' },
        { name: 'dys', type: 'f32' },
      ],
      outputs: [{ name: 'dxs', type: 'f32' }],
      source: () =>
        rowMain(wg, `  let base = row * u.c;\n  var s = 0.0;\n${body}`, WGSL_MATH + NAN_MINMAX + wgReduce(wg, 'f32')),
    },
    [gpu(y), gpu(dy)],
    [out.dataId],
    [rows, c],
    gridGroups(rows),
  );
  return out;
});
