import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, mainElementwise, wgslType } from '../program.js';
import { WGSL_MATH } from '../wgsl.js';

/**
 * f32 → i32 as the CPU's `Int32Array[i] = Math.trunc(x)`: truncation toward zero, NaN and ±∞ give 0, and
 * values beyond the i32 range wrap modulo 2^32 (WGSL's i32(f32) would saturate instead). Exact: an f32 of
 * magnitude ≥ 2^31 is an integer and t − 2^32·⌊t / 2^32⌋ is representable.
 */
const F2I = /* wgsl */ `
fn f2i(x: f32) -> i32 {
  if (is_nan(x) || is_inf(x)) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  let r = t - 4294967296.0 * floor(t / 4294967296.0);
  return bitcast<i32>(u32(r));
}`;

const EXPR: Record<string, string> = {
  'f32>i32': 'f2i(x)',
  // x != 0 on the bits: true for NaN, false for ±0 (as the CPU's `x !== 0`)
  'f32>u32': 'select(0u, 1u, (bitcast<u32>(x) & 0x7fffffffu) != 0u)',
  'i32>f32': 'f32(x)',
  'i32>u32': 'select(0u, 1u, x != 0)',
  'u32>f32': 'f32(x)',
  'u32>i32': 'i32(x)',
  'f32>f32': 'x',
  'i32>i32': 'x',
  'u32>u32': 'x',
};

/** Convert between dtypes. */
export const cast = webgpuKernel('cast', (be, [x], { dtype }) => {
  const out = be.output(x.shape, dtype, 'cast');
  const n = out.dataId.size;
  if (n === 0) return out;
  const from = wgslType(x.dtype);
  const to = wgslType(dtype);
  const expr = EXPR[`${from}>${to}`];
  be.dispatch(
    {
      kernel: 'cast',
      key: `cast:${from}:${to}`,
      uniforms: [['n', 'u32']],
      inputs: [{ name: 'xs', type: from }],
      outputs: [{ name: 'ys', type: to }],
      source: () => mainElementwise(`  let x = xs[i];\n  ys[i] = ${expr};`, from === 'f32' ? WGSL_MATH + F2I : ''),
    },
    [gpu(x)],
    [out.dataId],
    [n],
    grid1D(n),
  );
  return out;
});
