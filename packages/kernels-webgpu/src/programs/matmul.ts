/**
 * WGSL matmul programs. C[b] = op(A[b])·op(B[b]) for A [Ba, M, K] ([Ba, K, M] when transA) and B [Bb, K, N]
 * ([Bb, N, K] when transB), Ba, Bb ∈ {1, B}. Transposes are handled in the loads: no transposed copy is made.
 *
 * - `tiled`: a TILE×TILE output tile per workgroup (TILE = 64 or 32), 4×4 outputs per thread in registers,
 *   16-deep K slices of A and B staged in workgroup memory as vec4 columns, fma on vec4. Loads are vec4 when the
 *   contiguous axis of an operand is a multiple of 4 (A: K, or M if transA; B: N, or K if transB), and the store
 *   is vec4 when N is. `fit` (M, N multiples of the tile, K of 16) compiles the bounds checks out. With
 *   split-K, workgroup z also selects a K chunk and the program writes partial products to [S, B, M, N].
 * - `smallM`: M ≤ 8 (vector-matrix products, decoding, tiny batches): every thread keeps M accumulators for one
 *   output column over a strided share of K; lanes along K are summed in workgroup memory. With transB (the
 *   Linear layout) the 64 K-lanes read rows of B contiguously (vec4 when K % 4 = 0).
 * - `splitKReduce`: sums the S partial products.
 */
import type { Program } from '../program.js';

export const TK = 16;

export interface TiledSpec {
  tile: 32 | 64;
  transA: boolean;
  transB: boolean;
  vecA: boolean;
  vecB: boolean;
  vecC: boolean;
  /** M, N and K are multiples of the tile (and of 16 for K): no bounds checks. */
  fit: boolean;
  /**
   * Unroll the 16-step inner product loop (a compile-time bound). Software adapters (lavapipe, SwiftShader) take
   * seconds to compile the unrolled loop with LLVM, so they get a uniform bound instead.
   */
  unroll: boolean;
}

export const TILED_UNIFORMS = [
  ['M', 'u32'],
  ['N', 'u32'],
  ['K', 'u32'],
  ['chunk', 'u32'],
  ['splits', 'u32'],
  ['aBatch', 'u32'],
  ['bBatch', 'u32'],
  ['batchBase', 'u32'],
  ['nBatch', 'u32'],
  ['tk', 'u32'],
] as const;

export function tiledProgram(s: TiledSpec): Program {
  const flags = (b: boolean) => (b ? '1' : '0');
  const key =
    `matmul:tiled${s.tile}:t${flags(s.transA)}${flags(s.transB)}:v${flags(s.vecA)}${flags(s.vecB)}${flags(s.vecC)}` +
    `:fit${flags(s.fit)}:u${flags(s.unroll)}`;
  return {
    kernel: 'matmul',
    key,
    uniforms: TILED_UNIFORMS,
    inputs: [
      { name: 'A', type: s.vecA ? 'vec4<f32>' : 'f32' },
      { name: 'B', type: s.vecB ? 'vec4<f32>' : 'f32' },
    ],
    outputs: [{ name: 'C', type: s.vecC ? 'vec4<f32>' : 'f32' }],
    source: () => tiledSource(s),
  };
}

/**
 * Code that loads one TILE×TK slice of an operand into workgroup memory `dst` (laid out [TK][TILE] as vec4 over
 * TILE). `rowsAlongK`: the operand's contiguous axis is K (A not transposed, B transposed).
 */
function loadSlice(
  dst: string,
  src: string,
  vec: boolean,
  rowsAlongK: boolean,
  outerDim: string,
  fitOuter: boolean,
  fitK: boolean,
  tile: number,
  threads: number,
  offset: string,
  outer0: string,
): string {
  const slots = (tile * TK) / 4; // vec4 slots per slice
  const perThread = slots / threads;
  const lines: string[] = [];
  lines.push(`  for (var l = 0u; l < ${perThread}u; l = l + 1u) {`);
  lines.push(`    let slot = lid + l * ${threads}u;`);
  if (rowsAlongK) {
    // contiguous along K: slot -> (row r of the tile, 4 consecutive k)
    lines.push('    let r = slot / 4u;');
    lines.push('    let c = (slot % 4u) * 4u;');
    lines.push(`    let o = ${outer0} + r;`);
    lines.push('    let k = k0 + c;');
    lines.push('    var v = vec4<f32>(0.0);');
    const inO = fitOuter ? 'true' : `o < ${outerDim}`;
    const rowBase = `${offset} + o * u.K + k`;
    if (vec) {
      const cond = [fitOuter ? '' : `o < ${outerDim}`, fitK ? '' : 'k < kEnd'].filter(Boolean).join(' && ') || 'true';
      lines.push(`    if (${cond}) { v = ${src}[(${rowBase}) / 4u]; }`);
    } else {
      lines.push(`    if (${inO}) {`);
      for (let q = 0; q < 4; q++) {
        const cond = fitK ? 'true' : `k + ${q}u < kEnd`;
        lines.push(`      if (${cond}) { v[${q}] = ${src}[${rowBase} + ${q}u]; }`);
      }
      lines.push('    }');
    }
    // scatter the 4 k values into 4 rows of the [TK][TILE] slice
    for (let q = 0; q < 4; q++) {
      lines.push(`    ${dst}[((c + ${q}u) * ${tile}u + r) / 4u][r % 4u] = v[${q}];`);
    }
  } else {
    // contiguous along the outer axis (M for transposed A, N for B): slot -> (k row, 4 consecutive outer)
    lines.push(`    let kk = slot / ${tile / 4}u;`);
    lines.push(`    let cv = (slot % ${tile / 4}u) * 4u;`);
    lines.push('    let k = k0 + kk;');
    lines.push(`    let o = ${outer0} + cv;`);
    lines.push('    var v = vec4<f32>(0.0);');
    const rowBase = `${offset} + k * ${outerDim} + o`;
    if (vec) {
      const cond = [fitK ? '' : 'k < kEnd', fitOuter ? '' : `o < ${outerDim}`].filter(Boolean).join(' && ') || 'true';
      lines.push(`    if (${cond}) { v = ${src}[(${rowBase}) / 4u]; }`);
    } else {
      lines.push(`    if (${fitK ? 'true' : 'k < kEnd'}) {`);
      for (let q = 0; q < 4; q++) {
        const cond = fitOuter ? 'true' : `o + ${q}u < ${outerDim}`;
        lines.push(`      if (${cond}) { v[${q}] = ${src}[${rowBase} + ${q}u]; }`);
      }
      lines.push('    }');
    }
    lines.push(`    ${dst}[(kk * ${tile}u + cv) / 4u] = v;`);
  }
  lines.push('  }');
  return lines.join('\n');
}

function tiledSource(s: TiledSpec): string {
  const T = s.tile;
  const W = T / 4; // threads per dimension
  const threads = W * W;
  const store: string[] = [];
  for (let i = 0; i < 4; i++) {
    store.push(`  { let m = m0 + ty * 4u + ${i}u;`);
    store.push(`    if (${s.fit ? 'true' : 'm < u.M'}) {`);
    if (s.vecC) {
      store.push(`      if (${s.fit ? 'true' : 'n < u.N'}) { C[(cOff + m * u.N + n) / 4u] = acc${i}; }`);
    } else {
      for (let q = 0; q < 4; q++) {
        store.push(
          `      if (${s.fit ? 'true' : `n + ${q}u < u.N`}) { C[cOff + m * u.N + n + ${q}u] = acc${i}[${q}]; }`,
        );
      }
    }
    store.push('    } }');
  }
  return `
var<workgroup> As: array<vec4<f32>, ${(TK * T) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(TK * T) / 4}>;

@compute @workgroup_size(${W}, ${W}, 1)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tx = lid3.x;
  let ty = lid3.y;
  let z = u.batchBase * u.splits + wid.z;
  let batch = z / u.splits;
  let split = z % u.splits;
  let kBegin = split * u.chunk;
  let kEnd = min(u.K, kBegin + u.chunk);
  let m0 = wid.y * ${T}u;
  let n0 = wid.x * ${T}u;
  let aOff = batch * u.aBatch;
  let bOff = batch * u.bBatch;
  let cOff = (split * u.nBatch + batch) * u.M * u.N;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + ${TK}u) {
${loadSlice('As', 'A', s.vecA, !s.transA, 'u.M', s.fit, s.fit, T, threads, 'aOff', 'm0')}
${loadSlice('Bs', 'B', s.vecB, s.transB, 'u.N', s.fit, s.fit, T, threads, 'bOff', 'n0')}
    workgroupBarrier();
    for (var kk = 0u; kk < ${s.unroll ? `${TK}u` : 'u.tk'}; kk = kk + 1u) {
      let a = As[kk * ${W}u + ty];
      let b = Bs[kk * ${W}u + tx];
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
  let n = n0 + tx * 4u;
${store.join('\n')}
}`;
}

// ---------------------------------------------------------------------------------------------------------------

export interface SmallMSpec {
  /** Accumulator rows compiled in: 1, 2, 4 or 8 (≥ M; rows past M are neither read nor written). */
  rows: 1 | 2 | 4 | 8;
  transA: boolean;
  transB: boolean;
  /** vec4 loads along K (transB, !transA, K % 4 = 0). */
  vecK: boolean;
}

export const SMALLM_UNIFORMS = [
  ['M', 'u32'],
  ['N', 'u32'],
  ['K', 'u32'],
  ['aBatch', 'u32'],
  ['bBatch', 'u32'],
  ['colGroups', 'u32'],
  ['batchBase', 'u32'],
  ['halfLanes', 'u32'],
] as const;

/** Columns per workgroup and lanes along K of the small-M program. */
export const smallMShape = (transB: boolean): { cols: number; lanes: number } =>
  transB ? { cols: 4, lanes: 64 } : { cols: 64, lanes: 4 };

export function smallMProgram(s: SmallMSpec): Program {
  const key = `matmul:smallM${s.rows}:t${s.transA ? 1 : 0}${s.transB ? 1 : 0}:v${s.vecK ? 1 : 0}`;
  return {
    kernel: 'matmul',
    key,
    uniforms: SMALLM_UNIFORMS,
    inputs: [
      { name: 'A', type: s.vecK ? 'vec4<f32>' : 'f32' },
      { name: 'B', type: s.vecK ? 'vec4<f32>' : 'f32' },
    ],
    outputs: [{ name: 'C', type: 'f32' }],
    source: () => smallMSource(s),
  };
}

function smallMSource(s: SmallMSpec): string {
  const R = s.rows;
  const { cols, lanes } = smallMShape(s.transB);
  const WG = cols * lanes;
  // lane mapping: the axis B is contiguous along is the fast one
  const map = s.transB
    ? `let kl = lid % ${lanes}u;\n  let nl = lid / ${lanes}u;`
    : `let nl = lid % ${cols}u;\n  let kl = lid / ${cols}u;`;
  const laneUnit = s.transB ? 1 : cols;
  // rows past M read row M−1 (in bounds) and are never written
  const accDecl = Array.from(
    { length: R },
    (_, r) => `  var acc${r} = 0.0;\n  let ar${r} = aOff + min(${r}u, u.M - 1u)${s.transA ? '' : ' * u.K'};`,
  ).join('\n');
  let loop: string;
  if (s.vecK) {
    const body = Array.from({ length: R }, (_, r) => `      acc${r} = acc${r} + dot(A[ar${r} / 4u + k4], b4);`).join(
      '\n',
    );
    loop = `  if (n < u.N) {
    for (var k4 = kl; k4 < u.K / 4u; k4 = k4 + ${lanes}u) {
      let b4 = B[(bOff + n * u.K) / 4u + k4];
${body}
    }
  }`;
  } else {
    const aAt = (r: number) => (s.transA ? `A[ar${r} + k * u.M]` : `A[ar${r} + k]`);
    const bAt = s.transB ? 'B[bOff + n * u.K + k]' : 'B[bOff + k * u.N + n]';
    const body = Array.from({ length: R }, (_, r) => `      acc${r} = fma(${aAt(r)}, b, acc${r});`).join('\n');
    loop = `  if (n < u.N) {
    for (var k = kl; k < u.K; k = k + ${lanes}u) {
      let b = ${bAt};
${body}
    }
  }`;
  }
  const stash = Array.from({ length: R }, (_, r) => `  red[${r * WG}u + lid] = acc${r};`).join('\n');
  const combine = Array.from(
    { length: R },
    (_, r) => `      red[${r * WG}u + lid] = red[${r * WG}u + lid] + red[${r * WG}u + lid + s * ${laneUnit}u];`,
  ).join('\n');
  const write = Array.from(
    { length: R },
    (_, r) => `    if (${r}u < u.M) { C[cOff + ${r}u * u.N + n] = red[${r * WG}u + lid]; }`,
  ).join('\n');
  return `
var<workgroup> red: array<f32, ${R * WG}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  ${map}
  let group = wid.x + wid.y * u.colGroups;
  let batch = u.batchBase + wid.z;
  let n = group * ${cols}u + nl;
  let aOff = batch * u.aBatch;
  let bOff = batch * u.bBatch;
  let cOff = batch * u.M * u.N;
${accDecl}
${loop}
${stash}
  workgroupBarrier();
  for (var s = u.halfLanes; s > 0u; s = s >> 1u) {
    if (kl < s) {
${combine}
    }
    workgroupBarrier();
  }
  if (kl == 0u && n < u.N) {
${write}
  }
}`;
}

// ---------------------------------------------------------------------------------------------------------------

export const SPLITK_REDUCE: Program = {
  kernel: 'matmul',
  key: 'matmul:splitKReduce',
  uniforms: [
    ['n', 'u32'],
    ['splits', 'u32'],
  ],
  inputs: [{ name: 'parts', type: 'f32' }],
  outputs: [{ name: 'C', type: 'f32' }],
  source: () => `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * (nwg.x * 256u);
  if (i >= u.n) { return; }
  var s = 0.0;
  for (var p = 0u; p < u.splits; p = p + 1u) { s = s + parts[p * u.n + i]; }
  C[i] = s;
}`,
};
