import { broadcastStrides } from '../../../shape.js';
import type { TensorInfo } from '../../../kernels.js';
import type { CpuBackend } from '../backend.js';
import { cpuKernel } from '../kernel.js';
import { simdMaskedSoftmax } from '../simd.js';

/** What a masked score becomes (Hugging Face: the dtype's lowest value, not −∞). */
const F32_LOWEST = -3.4028234663852886e38;

/**
 * For each row of x [..., Tq, Tk]: its query index, and where the (broadcast) bool mask's row starts with the
 * mask's stride along the keys. `visit(row, query, maskRowOffset, maskKeyStride)`.
 */
export function forEachMaskedRow(
  be: CpuBackend,
  x: TensorInfo,
  mask: TensorInfo | undefined,
  visit: (row: number, query: number, maskValues: Uint8Array | null, mo: number, ms: number) => void,
): void {
  const shape = x.shape;
  const rank = shape.length;
  const tk = shape[rank - 1] ?? 1;
  const tq = rank >= 2 ? shape[rank - 2] : 1;
  const rows = tk === 0 ? 0 : shape.reduce((a, b) => a * b, 1) / tk;
  const mv = mask ? be.values<Uint8Array>(mask) : null;
  const strides = mask ? broadcastStrides(mask.shape, shape) : null;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < rows; r++) {
    let mo = 0;
    if (strides) for (let d = 0; d < rank - 1; d++) mo += idx[d] * strides[d];
    visit(r, r % tq, mv, mo, strides ? strides[rank - 1] : 0);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Whether a bool mask keeps every key (then masking changes nothing, bit for bit). */
export function hidesNothing(mask: Uint8Array): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] === 0) return false;
  return true;
}

export const maskedSoftmax = cpuKernel('maskedSoftmax', (be, [x, mask], { scale, causal }) => {
  const xv = be.values(x);
  const { out, values } = be.output(x.shape, 'f32', false);
  const rank = x.shape.length;
  const c = x.shape[rank - 1] ?? 1;
  const tq = rank >= 2 ? x.shape[rank - 2] : 1;
  const s32 = Math.fround(scale);
  // without a mask (or with one that hides nothing, as a batch without padding has): the SIMD kernel, the same
  // bits as the loops below
  const noMask = !mask || hidesNothing(be.values<Uint8Array>(mask));
  if (noMask && xv instanceof Float32Array && simdMaskedSoftmax(xv, values as Float32Array, c, tq, causal, s32))
    return out;
  // the masked scores as f32, exactly what mul + where would have stored
  const row = new Float32Array(c);
  const ex = new Float64Array(c);
  const vis = new Uint8Array(c);
  forEachMaskedRow(be, x, mask, (r, i, mv, mo, ms) => {
    const o = r * c;
    // keys past `last` are hidden by causality: only [0, last] is read (half the row on average)
    const last = Math.min(causal ? i + c - tq : c - 1, c - 1);
    let mx = -Infinity;
    let visible = 0;
    for (let j = 0; j <= last; j++) {
      if (mv !== null && mv[mo + j * ms] === 0) {
        vis[j] = 0;
        continue;
      }
      vis[j] = 1;
      row[j] = xv[o + j] * s32;
      mx = Math.max(mx, row[j]);
      visible++;
    }
    if (visible < c) mx = Math.max(mx, F32_LOWEST); // a hidden score is the lowest f32
    if (visible === 0 || Number.isNaN(mx)) {
      fullRow(xv, values, o, c, last, mv, mo, ms, row, ex, vis, s32);
      return;
    }
    // with a visible, non-NaN maximum, exp(lowest − max) is exactly 0: hidden keys add nothing to the sum and get
    // 0 / sum, as in the full computation
    let s = 0;
    for (let j = 0; j <= last; j++) {
      if (vis[j] === 0) continue;
      const e = Math.exp(row[j] - mx);
      ex[j] = e; // float64: the same value softmax computes twice
      s += e;
    }
    const zero = 0 / s;
    for (let j = 0; j <= last; j++) values[o + j] = vis[j] === 0 ? zero : ex[j] / s;
    if (last + 1 < c) values.fill(zero, o + Math.max(last + 1, 0), o + c);
  });
  return out;
});

/** One row the general way (no visible key, or a NaN maximum): every key's exponential, hidden ones included. */
function fullRow(
  xv: Float32Array,
  values: Float32Array,
  o: number,
  c: number,
  last: number,
  mv: Uint8Array | null,
  mo: number,
  ms: number,
  row: Float32Array,
  ex: Float64Array,
  vis: Uint8Array,
  s32: number,
): void {
  for (let j = 0; j < c; j++) {
    const visible = j <= last && (mv === null || mv[mo + j * ms] !== 0);
    vis[j] = visible ? 1 : 0;
    row[j] = visible ? xv[o + j] * s32 : F32_LOWEST;
  }
  let mx = -Infinity;
  let anyVisible = false;
  for (let j = 0; j < c; j++) {
    mx = Math.max(mx, row[j]);
    if (vis[j]) anyVisible = true;
  }
  const skip = anyVisible && !Number.isNaN(mx);
  let s = 0;
  for (let j = 0; j < c; j++) {
    const e = skip && !vis[j] ? 0 : Math.exp(row[j] - mx);
    ex[j] = e;
    s += e;
  }
  for (let j = 0; j < c; j++) values[o + j] = ex[j] / s;
}
