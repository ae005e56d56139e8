/**
 * An independent float64 reference implementation of every op, for the conformance suite.
 *
 * Written from the mathematical definitions with naive index loops on a tiny `{ shape, data }` type. It must not
 * call the package's ops, kernels or math helpers: it is what they are checked against.
 */

/** A float64 array with a shape (row-major). Integer and bool tensors are stored as whole numbers / 0–1. */
export interface Ref {
  shape: number[];
  data: Float64Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Basics

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function ref(shape: readonly number[], data?: ArrayLike<number>): Ref {
  const n = numel(shape);
  const out = new Float64Array(n);
  if (data) {
    if (data.length !== n) throw new Error(`ref: ${data.length} values for shape [${shape.join(', ')}]`);
    for (let i = 0; i < n; i++) out[i] = data[i];
  }
  return { shape: [...shape], data: out };
}

export function clone(x: Ref): Ref {
  return { shape: [...x.shape], data: Float64Array.from(x.data) };
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Flat index → multi-index. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Multi-index → flat index. */
function ravel(idx: readonly number[], shape: readonly number[]): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + idx[d];
  return off;
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`reference: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** numpy broadcasting of any number of shapes. */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) {
        if (d !== 1 && d !== v)
          throw new Error(`reference: cannot broadcast [${shapes.map((x) => x.join(',')).join('] [')}]`);
        d = v;
      }
    }
    out.push(d);
  }
  return out;
}

/** The element of `x` that output multi-index `outIdx` (of a broadcast result) reads. */
function broadcastRead(x: Ref, outIdx: readonly number[]): number {
  const off = outIdx.length - x.shape.length;
  let flat = 0;
  for (let d = 0; d < x.shape.length; d++) {
    const i = x.shape[d] === 1 ? 0 : outIdx[d + off];
    flat = flat * x.shape[d] + i;
  }
  return x.data[flat];
}

export function map(x: Ref, f: (v: number) => number): Ref {
  const out = ref(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]);
  return out;
}

/** Elementwise f over inputs broadcast together. */
export function zipN(xs: readonly Ref[], f: (...v: number[]) => number): Ref {
  const shape = broadcastShape(...xs.map((x) => x.shape));
  const out = ref(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    out.data[i] = f(...xs.map((x) => broadcastRead(x, idx)));
  }
  return out;
}

export const zip = (a: Ref, b: Ref, f: (x: number, y: number) => number): Ref => zipN([a, b], f);

/** A rank-0 reference value. */
export const scalarRef = (v: number): Ref => ref([], [v]);

// ---------------------------------------------------------------------------------------------------------------
// Scalar math

/**
 * erf by the everywhere-convergent series with positive terms (Abramowitz & Stegun 7.1.6):
 * erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)). No cancellation, so accurate to ~1e-15 for |x| < 6;
 * beyond, erf is ±1 to double precision.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let total = ax;
  for (let n = 1; n < 1000; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    total += term;
    if (term < 1e-17 * total) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * total;
  return x < 0 ? -r : r;
}

export const sigmoidS = (v: number): number => 1 / (1 + Math.exp(-v));
export const geluS = (v: number): number => 0.5 * v * (1 + erf(v / Math.SQRT2));
export const geluTanhS = (v: number): number =>
  0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));

// ---------------------------------------------------------------------------------------------------------------
// Elementwise ops

export const neg = (x: Ref): Ref => map(x, (v) => -v);
export const exp = (x: Ref): Ref => map(x, Math.exp);
export const log = (x: Ref): Ref => map(x, Math.log);
export const sqrt = (x: Ref): Ref => map(x, Math.sqrt);
export const rsqrt = (x: Ref): Ref => map(x, (v) => 1 / Math.sqrt(v));
export const abs = (x: Ref): Ref => map(x, Math.abs);
export const tanh = (x: Ref): Ref => map(x, Math.tanh);
export const sigmoid = (x: Ref): Ref => map(x, sigmoidS);
/** max(x, 0); NaN propagates (PyTorch). */
export const relu = (x: Ref): Ref => map(x, (v) => (Number.isNaN(v) ? v : v > 0 ? v : 0));
export const gelu = (x: Ref): Ref => map(x, geluS);
export const geluTanh = (x: Ref): Ref => map(x, geluTanhS);
export const silu = (x: Ref): Ref => map(x, (v) => v * sigmoidS(v));
export const square = (x: Ref): Ref => map(x, (v) => v * v);
export const sin = (x: Ref): Ref => map(x, Math.sin);
export const cos = (x: Ref): Ref => map(x, Math.cos);
export const reciprocal = (x: Ref): Ref => map(x, (v) => 1 / v);
export const sign = (x: Ref): Ref => map(x, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));

export const add = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => x + y);
export const sub = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => x - y);
export const mul = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => x * y);
export const div = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => x / y);
/** Integer division truncating toward zero (i32 div). */
export const divTrunc = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => Math.trunc(x / y));
export const pow = (a: Ref, b: Ref): Ref => zip(a, b, (x, y) => x ** y);
/** Elementwise maximum; NaN wins (propagates), as in PyTorch. */
export const maximum = (a: Ref, b: Ref): Ref =>
  zip(a, b, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x > y ? x : y));
export const minimum = (a: Ref, b: Ref): Ref =>
  zip(a, b, (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : x < y ? x : y));

/** Two's-complement 32-bit wrap-around of an exact integer result (i32 overflow), computed with BigInt. */
export function wrapI32(a: Ref, b: Ref, op: 'add' | 'sub' | 'mul'): Ref {
  return zip(a, b, (x, y) => {
    const bx = BigInt(x);
    const by = BigInt(y);
    return Number(BigInt.asIntN(32, op === 'add' ? bx + by : op === 'sub' ? bx - by : bx * by));
  });
}

export type CompareName = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export function compare(op: CompareName, a: Ref, b: Ref): Ref {
  const f: Record<CompareName, (x: number, y: number) => boolean> = {
    eq: (x, y) => x === y,
    ne: (x, y) => x !== y,
    lt: (x, y) => x < y,
    le: (x, y) => x <= y,
    gt: (x, y) => x > y,
    ge: (x, y) => x >= y,
  };
  return zip(a, b, (x, y) => (f[op](x, y) ? 1 : 0));
}

export const where = (cond: Ref, a: Ref, b: Ref): Ref => zipN([cond, a, b], (c, x, y) => (c !== 0 ? x : y));

/**
 * Dtype conversion: to i32 truncates toward zero, to bool is x ≠ 0, to f32 keeps the value (the suite's inputs are
 * f32-representable already; rounding here would make finite differences of a cast meaningless).
 */
export function cast(x: Ref, dtype: 'f32' | 'i32' | 'bool'): Ref {
  if (dtype === 'i32') return map(x, (v) => Math.trunc(v));
  if (dtype === 'bool') return map(x, (v) => (v !== 0 ? 1 : 0));
  return clone(x);
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions

function reduceAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normAxis(a, rank)))];
}

function reduceGeneric(
  x: Ref,
  axesIn: number | readonly number[] | undefined,
  keepdim: boolean,
  init: number,
  step: (acc: number, v: number) => number,
): Ref {
  const axes = reduceAxes(axesIn, x.shape.length);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = ref(kept);
  acc.data.fill(init);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    const o = ravel(
      idx.map((v, d) => (axes.includes(d) ? 0 : v)),
      kept,
    );
    acc.data[o] = step(acc.data[o], x.data[i]);
  }
  const shape = keepdim ? kept : x.shape.filter((_, i) => !axes.includes(i));
  return { shape, data: acc.data };
}

export const sum = (x: Ref, axes?: number | readonly number[], keepdim = false): Ref =>
  reduceGeneric(x, axes, keepdim, 0, (a, v) => a + v);
/** Maximum over axes; a NaN in a group makes its result NaN (PyTorch). */
export const max = (x: Ref, axes?: number | readonly number[], keepdim = false): Ref =>
  reduceGeneric(x, axes, keepdim, -Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : v > a ? v : a));
export const min = (x: Ref, axes?: number | readonly number[], keepdim = false): Ref =>
  reduceGeneric(x, axes, keepdim, Infinity, (a, v) => (Number.isNaN(a) || Number.isNaN(v) ? NaN : v < a ? v : a));
export function mean(x: Ref, axes?: number | readonly number[], keepdim = false): Ref {
  const ax = reduceAxes(axes, x.shape.length);
  let count = 1;
  for (const a of ax) count *= x.shape[a];
  return map(sum(x, ax, keepdim), (v) => v / count);
}

/** Index of the first maximum along `axis` (a NaN counts as the maximum, as in PyTorch). */
export function argmax(x: Ref, axis = -1, keepdim = false): Ref {
  const a = normAxis(axis, x.shape.length);
  const kept = x.shape.map((d, i) => (i === a ? 1 : d));
  const out = ref(kept);
  const best = new Float64Array(out.data.length).fill(-Infinity);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape);
    const k = idx[a];
    idx[a] = 0;
    const o = ravel(idx, kept);
    if (Number.isNaN(best[o])) continue; // the first NaN is the maximum
    if (x.data[i] > best[o] || Number.isNaN(x.data[i])) {
      best[o] = x.data[i];
      out.data[o] = k;
    }
  }
  return { shape: keepdim ? kept : x.shape.filter((_, i) => i !== a), data: out.data };
}

// ---------------------------------------------------------------------------------------------------------------
// Shape ops

export function reshape(x: Ref, shape: readonly number[]): Ref {
  const s = [...shape];
  const inf = s.indexOf(-1);
  if (inf >= 0) s[inf] = x.data.length / numel(s.filter((_, i) => i !== inf));
  if (numel(s) !== x.data.length) throw new Error('reference reshape: size mismatch');
  return { shape: s, data: Float64Array.from(x.data) };
}

export function permute(x: Ref, perm: readonly number[]): Ref {
  const p = perm.map((a) => normAxis(a, x.shape.length));
  const shape = p.map((a) => x.shape[a]);
  const out = ref(shape);
  for (let i = 0; i < out.data.length; i++) {
    const oi = unravel(i, shape);
    const xi = new Array<number>(shape.length);
    p.forEach((a, j) => {
      xi[a] = oi[j];
    });
    out.data[i] = x.data[ravel(xi, x.shape)];
  }
  return out;
}

export function transpose(x: Ref, d0 = -2, d1 = -1): Ref {
  const r = x.shape.length;
  const a = normAxis(d0, r);
  const b = normAxis(d1, r);
  return permute(
    x,
    x.shape.map((_, i) => (i === a ? b : i === b ? a : i)),
  );
}

/** Broadcast to `shape` (numpy rules, -1 keeps a dimension). */
export function expand(x: Ref, shape: readonly number[]): Ref {
  const off = shape.length - x.shape.length;
  const target = shape.map((d, i) => (d === -1 ? x.shape[i - off] : d));
  const out = ref(target);
  for (let i = 0; i < out.data.length; i++) out.data[i] = broadcastRead(x, unravel(i, target));
  return out;
}

export function slice(x: Ref, begin: readonly number[], size?: readonly number[]): Ref {
  const b = x.shape.map((d, i) => {
    const v = begin[i] ?? 0;
    return v < 0 ? v + d : v;
  });
  const s = x.shape.map((d, i) => {
    const v = size?.[i] ?? -1;
    return v === -1 ? d - b[i] : v;
  });
  const out = ref(s);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, s).map((v, d) => v + b[d]);
    out.data[i] = x.data[ravel(idx, x.shape)];
  }
  return out;
}

export function narrow(x: Ref, axis: number, start: number, length: number): Ref {
  const a = normAxis(axis, x.shape.length);
  return slice(
    x,
    x.shape.map((_, i) => (i === a ? start : 0)),
    x.shape.map((d, i) => (i === a ? length : d)),
  );
}

export function concat(xs: readonly Ref[], axis = 0): Ref {
  const a = normAxis(axis, xs[0].shape.length);
  const shape = [...xs[0].shape];
  shape[a] = xs.reduce((n, x) => n + x.shape[a], 0);
  const out = ref(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    let k = idx[a];
    let j = 0;
    while (k >= xs[j].shape[a]) {
      k -= xs[j].shape[a];
      j++;
    }
    idx[a] = k;
    out.data[i] = xs[j].data[ravel(idx, xs[j].shape)];
  }
  return out;
}

export function stack(xs: readonly Ref[], axis = 0): Ref {
  const rank = xs[0].shape.length + 1;
  const a = normAxis(axis, rank);
  const shape = [...xs[0].shape];
  shape.splice(a, 0, xs.length);
  const out = ref(shape);
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    const j = idx[a];
    idx.splice(a, 1);
    out.data[i] = xs[j].data[ravel(idx, xs[j].shape)];
  }
  return out;
}

/** out[..., j..., ...] = x[..., indices[j...], ...] with the indices' shape replacing `axis`. */
export function gather(x: Ref, indices: Ref, axis = 0): Ref {
  const a = normAxis(axis, x.shape.length);
  const shape = [...x.shape.slice(0, a), ...indices.shape, ...x.shape.slice(a + 1)];
  const out = ref(shape);
  const ir = indices.shape.length;
  for (let i = 0; i < out.data.length; i++) {
    const idx = unravel(i, shape);
    const j = ravel(idx.slice(a, a + ir), indices.shape);
    const src = [...idx.slice(0, a), indices.data[j], ...idx.slice(a + ir)];
    out.data[i] = x.data[ravel(src, x.shape)];
  }
  return out;
}

export const embedding = (weight: Ref, ids: Ref): Ref => gather(weight, ids, 0);

// ---------------------------------------------------------------------------------------------------------------
// Linear algebra

/**
 * Batched matmul over the last two axes with broadcast batch axes; transA / transB use the transpose of the
 * last two axes of a / b.
 */
export function matmul(a: Ref, b: Ref, transA = false, transB = false): Ref {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  const Kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (K !== Kb) throw new Error('reference matmul: inner dimensions differ');
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  const shape = [...batch, M, N];
  const out = ref(shape);
  const nb = numel(batch);
  const sa = stridesOf(a.shape);
  const sb = stridesOf(b.shape);
  for (let bi = 0; bi < nb; bi++) {
    const bidx = unravel(bi, batch);
    // batch offsets into a and b (broadcast axes read index 0)
    let offA = 0;
    for (let d = 0; d < batchA.length; d++) {
      const i = batchA[d] === 1 ? 0 : bidx[d + batch.length - batchA.length];
      offA += i * sa[d];
    }
    let offB = 0;
    for (let d = 0; d < batchB.length; d++) {
      const i = batchB[d] === 1 ? 0 : bidx[d + batch.length - batchB.length];
      offB += i * sb[d];
    }
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a.data[offA + k * M + m] : a.data[offA + m * K + k];
          const bv = transB ? b.data[offB + n * K + k] : b.data[offB + k * N + n];
          s += av * bv;
        }
        out.data[bi * M * N + m * N + n] = s;
      }
    }
  }
  return out;
}

/** y = x·Wᵀ + b, W is [out, in]. */
export function linear(x: Ref, weight: Ref, bias?: Ref | null): Ref {
  const y = matmul(x, weight, false, true);
  return bias ? add(y, bias) : y;
}

// ---------------------------------------------------------------------------------------------------------------
// Neural-network ops

function alongAxis(x: Ref, axis: number, f: (row: number[]) => number[]): Ref {
  const a = normAxis(axis, x.shape.length);
  const n = x.shape[a];
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  const out = ref(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const row: number[] = [];
      for (let k = 0; k < n; k++) row.push(x.data[(o * n + k) * inner + i]);
      const r = f(row);
      for (let k = 0; k < n; k++) out.data[(o * n + k) * inner + i] = r[k];
    }
  }
  return out;
}

function softmaxRow(row: number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((p, v) => p + v, 0);
  return e.map((v) => v / s);
}

export const softmax = (x: Ref, axis = -1): Ref => alongAxis(x, axis, softmaxRow);
export const logSoftmax = (x: Ref, axis = -1): Ref =>
  alongAxis(x, axis, (row) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((p, v) => p + Math.exp(v - m), 0));
    return row.map((v) => v - lse);
  });

/** Cross-entropy of logits [..., C] against integer labels [...], PyTorch semantics. */
export function crossEntropy(
  logits: Ref,
  labels: Ref,
  opts: { ignoreIndex?: number; reduction?: 'mean' | 'sum' | 'none' } = {},
): Ref {
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const C = logits.shape[logits.shape.length - 1];
  const rows = labels.data.length;
  const per = ref(labels.shape);
  let total = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels.data[r];
    if (y === ignore) continue;
    const row = Array.from(logits.data.subarray(r * C, (r + 1) * C));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((p, v) => p + Math.exp(v - m), 0));
    per.data[r] = lse - row[y];
    total += per.data[r];
    count++;
  }
  if (reduction === 'none') return per;
  if (reduction === 'sum') return scalarRef(total);
  return scalarRef(total / count);
}

/** Layer norm over the last axis with biased variance. */
export function layerNorm(x: Ref, weight?: Ref | null, bias?: Ref | null, eps = 1e-5): Ref {
  const D = x.shape[x.shape.length - 1];
  const out = ref(x.shape);
  for (let r = 0; r < x.data.length / D; r++) {
    let mu = 0;
    for (let i = 0; i < D; i++) mu += x.data[r * D + i];
    mu /= D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (x.data[r * D + i] - mu) ** 2;
    v /= D;
    const inv = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < D; i++) {
      let y = (x.data[r * D + i] - mu) * inv;
      if (weight) y *= weight.data[i];
      if (bias) y += bias.data[i];
      out.data[r * D + i] = y;
    }
  }
  return out;
}

/** x / √(mean(x²) + eps) · weight over the last axis. */
export function rmsNorm(x: Ref, weight?: Ref | null, eps = 1e-6): Ref {
  const D = x.shape[x.shape.length - 1];
  const out = ref(x.shape);
  for (let r = 0; r < x.data.length / D; r++) {
    let ms = 0;
    for (let i = 0; i < D; i++) ms += x.data[r * D + i] ** 2;
    ms /= D;
    const inv = 1 / Math.sqrt(ms + eps);
    for (let i = 0; i < D; i++) out.data[r * D + i] = x.data[r * D + i] * inv * (weight ? weight.data[i] : 1);
  }
  return out;
}

/** LLaMA rotary tables: angle(t, i) = pos[t] · base^(−2i/D) for i < D/2, duplicated to the second half. */
export function rotaryTables(positions: number | readonly number[], dim: number, base = 10000): { cos: Ref; sin: Ref } {
  const pos = typeof positions === 'number' ? Array.from({ length: positions }, (_, i) => i) : positions;
  const cos = ref([pos.length, dim]);
  const sin = ref([pos.length, dim]);
  for (let t = 0; t < pos.length; t++) {
    for (let j = 0; j < dim; j++) {
      const i = j % (dim / 2);
      const theta = pos[t] / base ** ((2 * i) / dim);
      cos.data[t * dim + j] = Math.cos(theta);
      sin.data[t * dim + j] = Math.sin(theta);
    }
  }
  return { cos, sin };
}

/** out = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁] over the last axis (cos/sin broadcast). */
export function applyRotary(x: Ref, cos: Ref, sin: Ref): Ref {
  const D = x.shape[x.shape.length - 1];
  const h = D / 2;
  const rot = ref(x.shape);
  for (let r = 0; r < x.data.length / D; r++) {
    for (let i = 0; i < D; i++) rot.data[r * D + i] = i < h ? -x.data[r * D + i + h] : x.data[r * D + i - h];
  }
  return add(mul(x, cos), mul(rot, sin));
}

/**
 * softmax(q·kᵀ·scale, restricted to allowed keys)·v. A key is allowed when the (broadcast) mask is true and, if
 * causal, j ≤ i + Tk − Tq. A row with no allowed key averages all values uniformly (as the masked-fill with the
 * lowest float does). `dropMask`, if given, multiplies the probabilities (already scaled by 1/(1−p)).
 */
export function scaledDotProductAttention(
  q: Ref,
  k: Ref,
  v: Ref,
  opts: { causal?: boolean; mask?: Ref | null; scale?: number; dropMask?: Ref | null } = {},
): Ref {
  const D = q.shape[q.shape.length - 1];
  const Tq = q.shape[q.shape.length - 2];
  const Tk = k.shape[k.shape.length - 2];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const raw = map(matmul(q, k, false, true), (s) => s * scale);
  let allowed = ref(raw.shape);
  allowed.data.fill(1);
  if (opts.mask) allowed = zip(allowed, opts.mask, (a, m) => (a !== 0 && m !== 0 ? 1 : 0));
  const scores = expand(raw, allowed.shape);
  const probs = ref(allowed.shape);
  const rows = probs.data.length / Tk;
  for (let r = 0; r < rows; r++) {
    const i = r % Tq;
    const ok: boolean[] = [];
    for (let j = 0; j < Tk; j++) {
      const causalOk = !opts.causal || j <= i + Tk - Tq;
      ok.push(causalOk && allowed.data[r * Tk + j] !== 0);
    }
    const any = ok.some((b) => b);
    const row: number[] = [];
    for (let j = 0; j < Tk; j++) row.push(scores.data[r * Tk + j]);
    if (!any) {
      for (let j = 0; j < Tk; j++) probs.data[r * Tk + j] = 1 / Tk;
      continue;
    }
    let m = -Infinity;
    for (let j = 0; j < Tk; j++) if (ok[j]) m = Math.max(m, row[j]);
    let s = 0;
    for (let j = 0; j < Tk; j++) if (ok[j]) s += Math.exp(row[j] - m);
    for (let j = 0; j < Tk; j++) probs.data[r * Tk + j] = ok[j] ? Math.exp(row[j] - m) / s : 0;
  }
  const p = opts.dropMask ? mul(probs, opts.dropMask) : probs;
  return matmul(p, v);
}
