/**
 * Building blocks of the row programs (reductions, softmax, cross-entropy): one workgroup per row, its threads
 * striding over the row, then a tree combine in workgroup memory. Rows are numbered over a 2-D grid of
 * workgroups, so more than 65535 rows need no second dispatch.
 */

/** Workgroup size for rows of length `n`: 64 threads, 256 for long rows. */
export const rowWorkgroup = (n: number): 64 | 256 => (n >= 4096 ? 256 : 64);

/** The entry point: `row` (uniform) and `lid` are in scope in `body`; rows past `u.rows` exit (uniformly). */
export function rowMain(wg: number, body: string, helpers = ''): string {
  return `${helpers}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; }
${body}
}`;
}

/**
 * Tree reductions over the workgroup for scalar type `t`: `wg_sum`, `wg_max`, `wg_min` (f32 versions propagate
 * NaN, as the CPU's comparisons do). Every thread must call them (they contain barriers).
 */
export function wgReduce(wg: number, t: 'f32' | 'i32'): string {
  const combine = (name: string, expr: string) => `
fn ${name}(v: ${t}, lid: u32) -> ${t} {
  red_${t}[lid] = v;
  workgroupBarrier();
  for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { let a = red_${t}[lid]; let b = red_${t}[lid + s]; red_${t}[lid] = ${expr}; }
    workgroupBarrier();
  }
  let r = red_${t}[0];
  workgroupBarrier();
  return r;
}`;
  const nanMax = t === 'f32' ? 'max_nan(a, b)' : 'max(a, b)';
  const nanMin = t === 'f32' ? 'min_nan(a, b)' : 'min(a, b)';
  return `var<workgroup> red_${t}: array<${t}, ${wg}>;
${combine('wg_sum', 'a + b')}
${combine('wg_max', nanMax)}
${combine('wg_min', nanMin)}`;
}

/** NaN-propagating max/min (WGSL's max/min are unspecified for NaN). Needs WGSL_MATH. */
export const NAN_MINMAX = /* wgsl */ `
fn max_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return max(a, b); }
fn min_nan(a: f32, b: f32) -> f32 { if (is_nan(a)) { return a; } if (is_nan(b)) { return b; } return min(a, b); }
`;
