import type { DType } from '@peftjs/tensor';

/** Scalar types a uniform field may have. All fields are 4 bytes, so the struct is packed with no padding. */
export type UniformType = 'u32' | 'i32' | 'f32';

/** A storage binding of a program: a WGSL element type (`f32`, `vec4<f32>`, `atomic<u32>`, …). */
export interface BindingSpec {
  name: string;
  type: string;
}

/**
 * One WGSL compute program: its pipeline-cache key, its uniforms (shapes, strides, scalars: never baked into the
 * code unless they are part of the key), its storage bindings and the WGSL source of its entry point `main`.
 *
 * Binding layout (generated): `@binding(0)` the uniform struct `u`, then the inputs (read-only storage), then the
 * outputs (read-write storage), in order.
 */
export interface Program {
  /** The kernel of the contract this program serves (named in errors). */
  kernel: string;
  /** The pipeline-cache key: must determine the generated WGSL completely (kernel, op, dtypes, variant flags). */
  key: string;
  uniforms: readonly (readonly [name: string, type: UniformType])[];
  inputs: readonly BindingSpec[];
  outputs: readonly BindingSpec[];
  /** Helper functions and `@compute … fn main(…)`. Called only when the key is not in the cache. */
  source: () => string;
}

/** WGSL storage element type of a dtype: bool is stored as u32 (0 or 1) on the GPU; u8 / i8 as packed u32 words. */
export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  return dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : 'u32';
}

/** The full WGSL of a program: uniform struct, bindings, then its own source. */
export function programSource(p: Program, extraHeader = ''): string {
  const fields = p.uniforms.length ? p.uniforms : ([['_pad', 'u32']] as const);
  const lines: string[] = [];
  if (extraHeader) lines.push(extraHeader);
  lines.push(`struct Uniforms {\n${fields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n};`);
  lines.push('@group(0) @binding(0) var<uniform> u: Uniforms;');
  let b = 1;
  for (const s of p.inputs) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${s.name}: array<${s.type}>;`);
  for (const s of p.outputs)
    lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${s.name}: array<${s.type}>;`);
  lines.push(p.source());
  return lines.join('\n');
}

/** Bytes of a program's uniform struct: 4 a field, rounded up to 16 (at least one field). */
export const uniformBytes = (p: Program): number => Math.ceil((Math.max(1, p.uniforms.length) * 4) / 16) * 16;

/** Write uniform values (in field order) into 32-bit views of a buffer, from word `at`. */
export function writeUniforms(
  p: Program,
  values: readonly number[],
  views: { u32: Uint32Array; i32: Int32Array; f32: Float32Array },
  at = 0,
): void {
  if (values.length !== p.uniforms.length) {
    throw new Error(`${p.kernel} (${p.key}): ${values.length} uniform values for ${p.uniforms.length} fields`);
  }
  p.uniforms.forEach(([, t], i) => {
    const v = values[i];
    if (t === 'f32') views.f32[at + i] = v;
    else if (t === 'i32') views.i32[at + i] = v;
    else views.u32[at + i] = v >>> 0;
  });
}

/** Workgroup size of the 1-D elementwise programs. */
export const WG1D = 256;
/** Most workgroups per dispatch dimension WebGPU guarantees (the adapter may allow more; we never need to). */
export const MAX_GROUPS = 65535;

/** Dispatch size for `n` threads in workgroups of `wg` (a 2-D grid when one dimension is not enough). */
export function grid1D(n: number, wg = WG1D): [number, number, number] {
  const groups = Math.ceil(n / wg);
  if (groups <= MAX_GROUPS) return [Math.max(groups, 1), 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  return [Math.ceil(groups / y), y, 1];
}

/** Dispatch size for `n` workgroups (one per row, say), as a 2-D grid when needed. */
export function gridGroups(n: number): [number, number, number] {
  if (n <= MAX_GROUPS) return [Math.max(n, 1), 1, 1];
  const y = Math.ceil(n / MAX_GROUPS);
  return [Math.ceil(n / y), y, 1];
}

/**
 * The entry point of an elementwise program: one thread per element `i < u.n` over a (possibly 2-D) grid of
 * {@link WG1D}-thread workgroups. `body` sees `i: u32`.
 */
export function mainElementwise(body: string, helpers = ''): string {
  return `${helpers}
@compute @workgroup_size(${WG1D})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * (nwg.x * ${WG1D}u);
  if (i >= u.n) { return; }
${body}
}`;
}

/**
 * Simplify a strided read pattern: drop size-1 dimensions and merge neighbours that every input walks
 * contiguously (stride[d] = stride[d+1]·shape[d+1]). `[B, T, D] + [D]` becomes `[B·T, D]` with strides
 * `[D, 1]` and `[0, 1]`. The result has rank ≥ 1.
 */
export function collapseDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => s[d] * shape[d] === outStrides[k][last])) {
      // dim `last` (outer) steps exactly over the whole of dim d: merge d into it
      outShape[last] *= shape[d];
      strides.forEach((s, k) => {
        outStrides[k][last] = s[d];
      });
      continue;
    }
    outShape.push(shape[d]);
    strides.forEach((s, k) => {
      outStrides[k].push(s[d]);
    });
  }
  if (outShape.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  return { shape: outShape, strides: outStrides };
}

/**
 * Uniform fields and WGSL for reading `names.length` inputs through strides from a flat output index `i`:
 * declares `off_<name>` for each input. Shapes/strides are uniforms `sh<d>` and `st_<name><d>`.
 */
export function stridedIndexing(
  rank: number,
  names: readonly string[],
): { fields: [string, UniformType][]; code: string } {
  const fields: [string, UniformType][] = [];
  for (let d = 1; d < rank; d++) fields.push([`sh${d}`, 'u32']);
  for (const n of names) for (let d = 0; d < rank; d++) fields.push([`st_${n}${d}`, 'u32']);
  const lines: string[] = [];
  lines.push('  var rem = i;');
  for (const n of names) lines.push(`  var off_${n} = 0u;`);
  for (let d = rank - 1; d >= 1; d--) {
    lines.push(`  { let c = rem % u.sh${d}; rem = rem / u.sh${d};`);
    for (const n of names) lines.push(`    off_${n} += c * u.st_${n}${d};`);
    lines.push('  }');
  }
  for (const n of names) lines.push(`  off_${n} += rem * u.st_${n}0;`);
  return { fields, code: lines.join('\n') };
}

/** Uniform values matching {@link stridedIndexing}'s fields. */
export function stridedValues(shape: readonly number[], strides: readonly (readonly number[])[]): number[] {
  const v: number[] = [];
  for (let d = 1; d < shape.length; d++) v.push(shape[d]);
  for (const s of strides) for (let d = 0; d < shape.length; d++) v.push(s[d]);
  return v;
}
