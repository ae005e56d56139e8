import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/** base + x·scale in one pass (or x·scale alone): the LoRA branch's scale-and-add and its gradient. */
export const addScaled = webgpuKernel('addScaled', (be, inputs, { scale }) => {
  const x = inputs[inputs.length - 1];
  const out = be.output(x.shape, 'f32', 'addScaled');
  const n = out.dataId.size;
  if (n === 0) return out;
  const withBase = inputs.length === 2;
  be.dispatch(
    {
      kernel: 'addScaled',
      key: `addScaled:${withBase ? 'add' : 'scale'}`,
      uniforms: [
        ['n', 'u32'],
        ['scale', 'f32'],
      ],
      inputs: withBase
        ? [
            { name: 'bs', type: 'f32' },
            { name: 'xs', type: 'f32' },
          ]
        : [{ name: 'xs', type: 'f32' }],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => mainElementwise(withBase ? '  out[i] = bs[i] + xs[i] * u.scale;' : '  out[i] = xs[i] * u.scale;'),
    },
    inputs.map(gpu),
    [out.dataId],
    [n, scale],
    grid1D(n),
  );
  return out;
});
