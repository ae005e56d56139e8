import type { GPUData, WebGPUBackend } from '../backend.js';
import { gpu, webgpuKernel } from '../kernel.js';
import { NAN_MINMAX, wgReduce } from '../programs/rows.js';
import { WGSL_MATH } from '../wgsl.js';

const WG = 256;
/** Most tensors one dispatch sums (further ones chain through the running total). */
const MAX_PER_DISPATCH = 14;

/**
 * acc + Σⱼ Σxⱼ² in one workgroup per dispatch, over up to a binding limit's worth of tensors: for each x in turn
 * the threads sum strided shares in f32 (partial sums of 64 terms, as `reduce` does), a tree combine gives Σx², and
 * that is added to the running total. The global gradient norm of a LoRA model is then one or a few dispatches.
 */
export const sumSquares = webgpuKernel('sumSquares', (be, inputs, a) => {
  const xs = (a.acc ? inputs.slice(0, -1) : inputs).map(gpu);
  let acc: GPUData | null = a.acc ? gpu(inputs[inputs.length - 1]) : null;
  const out = be.output([1], 'f32', 'sumSquares');
  const per = Math.max(1, Math.min(MAX_PER_DISPATCH, be.device.limits.maxStorageBuffersPerShaderStage - 2));
  if (xs.length === 0) {
    // nothing to add: the total is acc (or 0)
    sumChunk(be, [], acc, out.dataId);
    return out;
  }
  for (let i = 0; i < xs.length; i += per) {
    const chunk = xs.slice(i, i + per);
    const last = i + per >= xs.length;
    const dst = last ? out.dataId : be.alloc(1, 'sumSquares');
    sumChunk(be, chunk, acc, dst);
    if (acc && i > 0) be.releaseTemp(acc);
    acc = dst;
  }
  return out;
});

function sumChunk(be: WebGPUBackend, xs: GPUData[], acc: GPUData | null, dst: GPUData): void {
  const k = xs.length;
  const body: string[] = [`  var total = ${acc ? 'acc[0]' : '0.0'};`];
  for (let j = 0; j < k; j++) {
    body.push(`  {
    var t = 0.0;
    var part = 0.0;
    var cnt = 0u;
    for (var e = lid; e < u.n${j}; e = e + ${WG}u) {
      let v = x${j}[e];
      part = part + v * v;
      cnt = cnt + 1u;
      if (cnt == 64u) { t = t + part; part = 0.0; cnt = 0u; }
    }
    let s = wg_sum(t + part, lid);
    total = ${j === 0 && !acc ? 's' : 'total + s'};
  }`);
  }
  be.dispatch(
    {
      kernel: 'sumSquares',
      key: `sumSquares:${k}:${acc ? 'acc' : 'first'}`,
      uniforms: k ? Array.from({ length: k }, (_, j) => [`n${j}`, 'u32'] as const) : [],
      inputs: [
        ...Array.from({ length: k }, (_, j) => ({ name: `x${j}`, type: 'f32' })),
        ...(acc ? [{ name: 'acc', type: 'f32' }] : []),
      ],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => `${WGSL_MATH}${NAN_MINMAX}${wgReduce(WG, 'f32')}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
${body.join('\n')}
  if (lid == 0u) { out[0] = total; }
}`,
    },
    acc ? [...xs, acc] : xs,
    [dst],
    xs.map((x) => x.size),
    [1, 1, 1],
  );
}
