import { STEP_STATS as S } from '@peftjs/tensor';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise } from '../program.js';

/**
 * torch's AdamW step of one parameter in one pass (see the tensor package's `adamw` kernel): the new parameter, m
 * and v from p, g (and m, v after the first step); with a step-control vector, the clip coefficient, the bias
 * corrections and the skip decision are read from it on the device.
 */
export const adamw = webgpuKernel('adamw', (be, inputs, a) => {
  const controlled = a.controlled;
  const state = inputs.length - (controlled ? 1 : 0) === 4;
  const shape = inputs[0].shape;
  const p = be.output(shape, 'f32', 'adamw');
  const m = be.output(shape, 'f32', 'adamw');
  const v = be.output(shape, 'f32', 'adamw');
  const out = { ...p, extra: [m, v] };
  const n = p.dataId.size;
  if (n === 0) return out;
  const ctl = (k: number) => `ctl[${k}]`;
  const skip = controlled
    ? `  if (${ctl(S.skip)} != 0.0) {
    po[i] = ps[i];
    mo[i] = ${state ? 'ms[i]' : '0.0'};
    vo[i] = ${state ? 'vs[i]' : '0.0'};
    return;
  }
  if (${ctl(S.clip)} != 0.0) { g = g * ${ctl(S.coef)}; }
`
    : '';
  be.dispatch(
    {
      kernel: 'adamw',
      key: `adamw:${state ? 'state' : 'first'}:${controlled ? 'ctl' : 'plain'}`,
      uniforms: [
        ['n', 'u32'],
        ['b1', 'f32'],
        ['c1', 'f32'],
        ['b2', 'f32'],
        ['c2', 'f32'],
        ['decay', 'f32'],
        ['bc2', 'f32'],
        ['eps', 'f32'],
        ['step_size', 'f32'],
        ['wd', 'u32'],
      ],
      inputs: [
        { name: 'ps', type: 'f32' },
        { name: 'gs', type: 'f32' },
        ...(state
          ? [
              { name: 'ms', type: 'f32' },
              { name: 'vs', type: 'f32' },
            ]
          : []),
        ...(controlled ? [{ name: 'ctl', type: 'f32' }] : []),
      ],
      outputs: [
        { name: 'po', type: 'f32' },
        { name: 'mo', type: 'f32' },
        { name: 'vo', type: 'f32' },
      ],
      source: () =>
        mainElementwise(`  var g = gs[i];
${skip}  let m = ${state ? 'ms[i] * u.b1 + ' : ''}g * u.c1;
  let v = ${state ? 'vs[i] * u.b2 + ' : ''}(g * g) * u.c2;
  mo[i] = m;
  vo[i] = v;
  let decayed = select(ps[i], ps[i] * u.decay, u.wd != 0u);
  let denom = sqrt(v) / ${controlled ? ctl(S.bc2) : 'u.bc2'} + u.eps;
  po[i] = decayed - (m / denom) * ${controlled ? ctl(S.stepSize) : 'u.step_size'};`),
    },
    inputs.map(gpu),
    [p.dataId, m.dataId, v.dataId],
    [
      n,
      a.beta1,
      1 - a.beta1,
      a.beta2,
      1 - a.beta2,
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
