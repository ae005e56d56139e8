import type { Program } from '../program.js';
import { mainElementwise } from '../program.js';

/**
 * WGSL for reading quantized weights in place. Byte tensors are `array<u32>` words holding four bytes each, little
 * endian (byte i is bits 8·(i mod 4) … of word i / 4). `codes` holds the 16 four-bit code values, then (double
 * quantization) the 256 values of the 8-bit map of the block scales.
 */
const byteAt = (buf: string) =>
  `fn byte_${buf}(i: u32) -> u32 { return (${buf}[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu; }`;

/** `wval(i)`: element i (row-major) of the dequantized 4-bit weight. */
function fourBitHelpers(nested: boolean): string {
  const scale = nested
    ? `fn block_scale(b: u32) -> f32 {
  return codes[16u + byte_absmax(b)] * nested[b / u.nbs] + u.offset;
}`
    : 'fn block_scale(b: u32) -> f32 { return absmax[b]; }';
  return `${byteAt('packed')}
${nested ? byteAt('absmax') : ''}
${scale}
fn wval(i: u32) -> f32 {
  let byte = byte_packed(i >> 1u);
  let nib = select(byte & 15u, byte >> 4u, (i & 1u) == 0u);
  return codes[nib] * block_scale(i / u.bs);
}`;
}

/** `wval(i)`: element i of the dequantized int8 weight ((w · scb[row]) / 127). */
const int8Helpers = `${byteAt('weight')}
fn wval(i: u32) -> f32 {
  let q = i32(byte_weight(i) << 24u) >> 24u;
  return (f32(q) * scb[i / u.cols]) / 127.0;
}`;

function weightBindings(kind: '4bit' | 'int8', nested: boolean) {
  if (kind === 'int8')
    return [
      { name: 'weight', type: 'u32' },
      { name: 'scb', type: 'f32' },
    ];
  const b = [
    { name: 'packed', type: 'u32' },
    { name: 'absmax', type: nested ? 'u32' : 'f32' },
  ];
  if (nested) b.push({ name: 'nested', type: 'f32' });
  b.push({ name: 'codes', type: 'f32' });
  return b;
}

const WEIGHT_UNIFORMS = [
  ['bs', 'u32'],
  ['nbs', 'u32'],
  ['offset', 'f32'],
  ['cols', 'u32'],
] as const;

/** out[i] = the dequantized weight, one thread per element. */
export function dequantProgram(kind: '4bit' | 'int8', nested: boolean): Program {
  return {
    kernel: kind === 'int8' ? 'dequantizeInt8' : 'dequantize4bit',
    key: `dequant:${kind}:${nested}`,
    uniforms: [['n', 'u32'], ...WEIGHT_UNIFORMS],
    inputs: weightBindings(kind, nested),
    outputs: [{ name: 'out', type: 'f32' }],
    source: () => mainElementwise('  out[i] = wval(i);', kind === 'int8' ? int8Helpers : fourBitHelpers(nested)),
  };
}

/** Output tile of the fused product: 64×64 per workgroup of 16×16 threads (4×4 each), 16 deep per step. */
export const QTILE = 64;
const TKQ = 16;

/**
 * out[M, N] = x[M, K] · B with B[k][n] = W[n][k] (transW: W is [N, K]) or W[k][n] (W is [K, N]). W's tile is
 * dequantized while it is loaded into workgroup memory, so the dense weight never exists in device memory.
 */
export function quantMatmulProgram(kind: '4bit' | 'int8', nested: boolean, transW: boolean): Program {
  // Loading a 16-deep × 64-wide W tile: walk W's contiguous axis fastest (k when transW, n otherwise).
  const loadB = transW
    ? `let kk = idx % ${TKQ}u; let nn = idx / ${TKQ}u;`
    : `let nn = idx % ${QTILE}u; let kk = idx / ${QTILE}u;`;
  const flat = transW ? 'gn * u.k + gk' : 'gk * u.n + gn';
  return {
    kernel: kind === 'int8' ? 'matmulInt8' : 'matmul4bit',
    key: `qmatmul:${kind}:${nested}:${transW}`,
    uniforms: [['m', 'u32'], ['n', 'u32'], ['k', 'u32'], ...WEIGHT_UNIFORMS],
    inputs: [{ name: 'x', type: 'f32' }, ...weightBindings(kind, nested)],
    outputs: [{ name: 'out', type: 'f32' }],
    source: () => `${kind === 'int8' ? int8Helpers : fourBitHelpers(nested)}
var<workgroup> As: array<f32, ${QTILE * TKQ}>;
var<workgroup> Bs: array<f32, ${QTILE * TKQ}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = wg.y * ${QTILE}u;
  let col0 = wg.x * ${QTILE}u;
  let tid = lid.y * 16u + lid.x;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < u.k; k0 += ${TKQ}u) {
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      let kk = idx % ${TKQ}u;
      let mm = idx / ${TKQ}u;
      let gm = row0 + mm;
      let gk = k0 + kk;
      var v = 0.0;
      if (gm < u.m && gk < u.k) { v = x[gm * u.k + gk]; }
      As[kk * ${QTILE}u + mm] = v;
    }
    for (var e = 0u; e < 4u; e++) {
      let idx = tid + e * 256u;
      ${loadB}
      let gn = col0 + nn;
      let gk = k0 + kk;
      var v = 0.0;
      if (gn < u.n && gk < u.k) { v = wval(${flat}); }
      Bs[kk * ${QTILE}u + nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TKQ}u; kk++) {
      let ab = kk * ${QTILE}u + lid.y * 4u;
      let bb = kk * ${QTILE}u + lid.x * 4u;
      let b = vec4f(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      acc0 += As[ab] * b;
      acc1 += As[ab + 1u] * b;
      acc2 += As[ab + 2u] * b;
      acc3 += As[ab + 3u] * b;
    }
    workgroupBarrier();
  }
  let r = row0 + lid.y * 4u;
  let c = col0 + lid.x * 4u;
  store_row(r, c, acc0);
  store_row(r + 1u, c, acc1);
  store_row(r + 2u, c, acc2);
  store_row(r + 3u, c, acc3);
}
fn store_row(r: u32, c: u32, v: vec4f) {
  if (r >= u.m) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (c + j < u.n) { out[r * u.n + c + j] = v[j]; }
  }
}`,
  };
}

/** Rows of x the small-M program handles (one accumulator each). */
export const SMALL_M = 8;

/**
 * The product for M ≤ {@link SMALL_M} rows (decoding, small batches): a workgroup owns 64 output columns; its 256
 * threads are 64 columns × 4 slices of K, each reading its slice of the column's weights once (dequantized on the
 * fly) against all M rows of x, then the 4 partial sums are added in workgroup memory. Every weight is read once.
 */
export function quantMatmulSmallMProgram(kind: '4bit' | 'int8', nested: boolean, transW: boolean): Program {
  const flat = transW ? 'n * u.k + k' : 'k * u.n + n';
  return {
    kernel: kind === 'int8' ? 'matmulInt8' : 'matmul4bit',
    key: `qmatmul-smallM:${kind}:${nested}:${transW}`,
    uniforms: [['m', 'u32'], ['n', 'u32'], ['k', 'u32'], ...WEIGHT_UNIFORMS],
    inputs: [{ name: 'x', type: 'f32' }, ...weightBindings(kind, nested)],
    outputs: [{ name: 'out', type: 'f32' }],
    source: () => `${kind === 'int8' ? int8Helpers : fourBitHelpers(nested)}
var<workgroup> partial: array<f32, ${4 * 64 * SMALL_M}>;
@compute @workgroup_size(64, 4)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = wg.x * 64u + lid.x;
  var acc: array<f32, ${SMALL_M}>;
  for (var r = 0u; r < ${SMALL_M}u; r++) { acc[r] = 0.0; }
  if (n < u.n) {
    for (var k = lid.y; k < u.k; k += 4u) {
      let w = wval(${flat});
      for (var r = 0u; r < u.m; r++) { acc[r] += x[r * u.k + k] * w; }
    }
  }
  for (var r = 0u; r < ${SMALL_M}u; r++) { partial[(lid.y * ${SMALL_M}u + r) * 64u + lid.x] = acc[r]; }
  workgroupBarrier();
  if (lid.y == 0u && n < u.n) {
    for (var r = 0u; r < u.m; r++) {
      var s = 0.0;
      for (var j = 0u; j < 4u; j++) { s += partial[(j * ${SMALL_M}u + r) * 64u + lid.x]; }
      out[r * u.n + n] = s;
    }
  }
}`,
  };
}
