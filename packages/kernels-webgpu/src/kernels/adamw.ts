import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/** One part of the AdamW step per element (see the tensor package's `adamw` kernel): m, v, or the new parameter. */
export const adamw = webgpuKernel('adamw', (be, inputs, a) => {
  const out = be.output(inputs[0]!.shape, 'f32', 'adamw');
  const n = out.dataId.size;
  if (n === 0) return out;
  if (a.part === 'm' || a.part === 'v') {
    const prev = inputs.length > 1;
    const beta = a.part === 'm' ? a.beta1 : a.beta2;
    const g = a.part === 'm' ? 'gs[i]' : '(gs[i] * gs[i])';
    be.dispatch(
      {
        kernel: 'adamw',
        key: `adamw:${a.part}:${prev ? 'prev' : 'first'}`,
        uniforms: [
          ['n', 'u32'],
          ['b', 'f32'],
          ['c', 'f32'],
        ],
        inputs: [{ name: 'gs', type: 'f32' }, ...(prev ? [{ name: 'ps', type: 'f32' }] : [])],
        outputs: [{ name: 'out', type: 'f32' }],
        source: () => mainElementwise(`  out[i] = ${prev ? 'ps[i] * u.b + ' : ''}${g} * u.c;`),
      },
      inputs.map(gpu),
      [out.dataId],
      [n, beta, 1 - beta],
      grid1D(n),
    );
    return out;
  }
  be.dispatch(
    {
      kernel: 'adamw',
      key: 'adamw:param',
      uniforms: [
        ['n', 'u32'],
        ['decay', 'f32'],
        ['bc2', 'f32'],
        ['eps', 'f32'],
        ['step_size', 'f32'],
        ['wd', 'u32'],
      ],
      inputs: [
        { name: 'ps', type: 'f32' },
        { name: 'ms', type: 'f32' },
        { name: 'vs', type: 'f32' },
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () =>
        mainElementwise(`  let decayed = select(ps[i], ps[i] * u.decay, u.wd != 0u);
  let denom = sqrt(vs[i]) / u.bc2 + u.eps;
  out[i] = decayed - (ms[i] / denom) * u.step_size;`),
    },
    inputs.map(gpu),
    [out.dataId],
    [
      n,
      1 - a.lr * a.weightDecay,
      Math.sqrt(1 - a.beta2 ** a.step),
      a.eps,
      a.lr / (1 - a.beta1 ** a.step),
      a.weightDecay !== 0 ? 1 : 0,
    ],
    grid1D(n),
  );
  return out;
});
