import { gpu, webgpuKernel } from '../kernel.js';
import { NAN_MINMAX, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

const WG = 256;

/**
 * acc + Σx² in one workgroup: each thread sums a strided share in f32 (in partial sums of 64 terms, as `reduce`
 * does), then a tree combine. One dispatch per gradient for the global norm (the op layer composes past 2²⁰
 * elements, where one workgroup would be slow).
 */
export const sumSquares = webgpuKernel('sumSquares', (be, inputs) => {
  const [x, acc] = inputs;
  const out = be.output([1], 'f32', 'sumSquares');
  const n = (x.dataId as { size: number }).size;
  be.dispatch(
    {
      kernel: 'sumSquares',
      key: `sumSquares:${acc ? 'acc' : 'first'}`,
      uniforms: [['n', 'u32']],
      inputs: [{ name: 'xs', type: 'f32' }, ...(acc ? [{ name: 'acc', type: 'f32' }] : [])],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => `${WGSL_MATH}${NAN_MINMAX}${wgReduce(WG, 'f32')}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var total = 0.0;
  var part = 0.0;
  var cnt = 0u;
  for (var k = lid; k < u.n; k = k + ${WG}u) {
    let v = xs[k];
    part = part + v * v;
    cnt = cnt + 1u;
    if (cnt == 64u) { total = total + part; part = 0.0; cnt = 0u; }
  }
  let s = wg_sum(total + part, lid);
  if (lid == 0u) { out[0] = ${acc ? 'acc[0] + ' : ''}s; }
}`,
    },
    inputs.map(gpu),
    [out.dataId],
    [n],
    [1, 1, 1],
  );
  return out;
});
