/**
 * Plumbing of the conformance suite: a seeded host generator for inputs, value comparison with a relative error,
 * and central finite differences of a float64 reference loss.
 */
import type { DType } from '../dtype.js';
import { type Ref, numel } from './reference.js';

// ---------------------------------------------------------------------------------------------------------------
// Deterministic host random numbers (independent of the package's generator)

/** FNV-1a hash of a string: each case seeds its inputs from its own name, so cases do not depend on order. */
export function seedFromName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: a small, good-enough 32-bit generator for test inputs. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  normal(): number {
    const u1 = 1 - this.next();
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /** Integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }
}

/** How an input's values are drawn: `n` values for a tensor of `shape`. */
export type Gen = (rng: Rng, n: number, shape: readonly number[]) => number[];

export const gens = {
  normal:
    (scale = 1, offset = 0): Gen =>
    (r, n) =>
      Array.from({ length: n }, () => offset + scale * r.normal()),
  uniform:
    (lo: number, hi: number): Gen =>
    (r, n) =>
      Array.from({ length: n }, () => r.uniform(lo, hi)),
  /** |x| in [lo, hi) with a random sign: keeps inputs away from the kinks of relu, abs, 1/x. */
  awayFromZero:
    (lo = 0.1, hi = 2): Gen =>
    (r, n) =>
      Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1) * r.uniform(lo, hi)),
  /** Integers in [lo, hi) (for i32 / bool inputs, or integer-valued floats with ties). */
  ints:
    (lo: number, hi: number): Gen =>
    (r, n) =>
      Array.from({ length: n }, () => r.int(lo, hi)),
  bools:
    (pTrue = 0.5): Gen =>
    (r, n) =>
      Array.from({ length: n }, () => (r.next() < pTrue ? 1 : 0)),
  /** Distinct values at least `gap` apart, in random order (no ties for max / min / argmax). */
  distinct:
    (gap = 0.25): Gen =>
    (r, n) => {
      const v = Array.from({ length: n }, (_, i) => (i - n / 2) * gap + r.uniform(0, gap / 3));
      for (let i = n - 1; i > 0; i--) {
        const j = r.int(0, i + 1);
        [v[i], v[j]] = [v[j], v[i]];
      }
      return v;
    },
  values:
    (values: readonly number[]): Gen =>
    (_r, n) => {
      if (values.length !== n) throw new Error(`gens.values: ${values.length} values for ${n} elements`);
      return [...values];
    },
};

/** Round host values as the backend will store them. */
export function roundTo(dtype: DType, values: readonly number[]): number[] {
  if (dtype === 'f32') return values.map(Math.fround);
  if (dtype === 'i32') return values.map((v) => Math.trunc(v) | 0);
  return values.map((v) => (v ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison

export interface Comparison {
  ok: boolean;
  /** max|ours − ref| / max(max|ref|, floor) over the finite entries. */
  relError: number;
  message: string;
}

/**
 * Compare values against a float64 reference: NaN must meet NaN and ±∞ the same ∞; finite entries pass when
 * max|ours − ref| / max(max|ref|, floor) ≤ tol.
 */
export function compareValues(
  ours: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: number,
  floor = 1e-6,
  label = '',
): Comparison {
  if (ours.length !== want.length) {
    return { ok: false, relError: Infinity, message: `${label}: ${ours.length} values, expected ${want.length}` };
  }
  let maxRef = 0;
  let maxErr = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = ours[i];
    if (Number.isNaN(w) || Number.isNaN(g) || !Number.isFinite(w) || !Number.isFinite(g)) {
      if (!(Object.is(w, g) || (Number.isNaN(w) && Number.isNaN(g)) || w === g)) {
        return { ok: false, relError: Infinity, message: `${label}: element ${i} is ${g}, expected ${w}` };
      }
      continue;
    }
    maxRef = Math.max(maxRef, Math.abs(w));
    const e = Math.abs(g - w);
    if (e > maxErr) {
      maxErr = e;
      worst = i;
    }
  }
  const relError = maxErr / Math.max(maxRef, floor);
  const ok = relError <= tol;
  const message = ok
    ? ''
    : `${label}: relative error ${relError.toExponential(3)} > ${tol} (worst element ${worst}: ${ours[worst]} vs ` +
      `${want[worst]}; max|ref| ${maxRef.toExponential(3)})`;
  return { ok, relError, message };
}

// ---------------------------------------------------------------------------------------------------------------
// Finite differences

/**
 * ∂loss/∂inputs[which] by central differences in float64: (L(x + h) − L(x − h)) / 2h per element.
 */
export function finiteDifference(loss: (inputs: Ref[]) => number, inputs: Ref[], which: number, h = 1e-6): Ref {
  const x = inputs[which];
  const g: Ref = { shape: [...x.shape], data: new Float64Array(numel(x.shape)) };
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i];
    x.data[i] = v + h;
    const lp = loss(inputs);
    x.data[i] = v - h;
    const lm = loss(inputs);
    x.data[i] = v;
    g.data[i] = (lp - lm) / (2 * h);
  }
  return g;
}

/** Σᵢ Σ outᵢ · Rᵢ: the scalar whose gradient the suite checks. */
export function weightedSum(outs: readonly Ref[], weights: readonly Ref[]): number {
  let s = 0;
  outs.forEach((o, k) => {
    for (let i = 0; i < o.data.length; i++) s += o.data[i] * weights[k].data[i];
  });
  return s;
}

/** Test ids are `/`-separated; a key matches an id when equal to it or to one of its prefixes. */
export function keyMatches(key: string, id: string): boolean {
  return id === key || id.startsWith(`${key}/`);
}

/** The value under the longest key of `table` matching `id`. */
export function lookupByPrefix<T>(table: Partial<Record<string, T>> | undefined, id: string): T | undefined {
  if (!table) return undefined;
  let best: string | undefined;
  for (const k of Object.keys(table)) {
    if (keyMatches(k, id) && (best === undefined || k.length > best.length)) best = k;
  }
  return best === undefined ? undefined : table[best];
}
