/**
 * DoRA-specific float64 references (plain JavaScript arrays, row-major); the generic helpers live in
 * @peftjs/test-utils.
 */
import { addArr, linear, loraRef, matmul, scaleArr } from '@peftjs/test-utils';

/** Per-row L2 norms of V [rows, cols]. */
export function rowNorms(v: number[], rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows; i++) {
    let acc = 0;
    for (let j = 0; j < cols; j++) acc += v[i * cols + j] ** 2;
    out.push(Math.sqrt(acc));
  }
  return out;
}

/**
 * Float64 DoRA (reference doc §3): V = W + s·B·A in [out, in] orientation, n = ‖V‖_row (detached: pass `norm` to
 * hold it fixed), y = base(x) + (m/n − 1)⊙(x·Wᵀ) + (m/n)⊙s·(x·Aᵀ·Bᵀ).
 */
export function doraRef(o: {
  x: number[];
  m: number;
  inF: number;
  outF: number;
  r: number;
  /** Base weight in [out, in] orientation. */
  W: number[];
  b: number[] | null;
  A: number[];
  B: number[];
  mag: number[];
  s: number;
  norm?: number[];
}): number[] {
  const V = addArr(o.W, scaleArr(matmul(o.B, o.A, o.outF, o.r, o.inF), o.s));
  const n = o.norm ?? rowNorms(V, o.outF, o.inF);
  const base = linear(o.x, o.W, o.b, o.m, o.inF, o.outF);
  const xw = linear(o.x, o.W, null, o.m, o.inF, o.outF);
  const lora = loraRef({
    x: o.x,
    m: o.m,
    inF: o.inF,
    outF: o.outF,
    r: o.r,
    base: new Array(o.m * o.outF).fill(0),
    A: o.A,
    B: o.B,
    s: o.s,
  });
  return base.map((v, i) => {
    const k = o.mag[i % o.outF] / n[i % o.outF];
    return v + (k - 1) * xw[i] + k * lora[i];
  });
}

/** The merged DoRA weight in [out, in] orientation: (m/‖V‖_row) ⊙ V. */
export function doraMerged(
  W: number[],
  A: number[],
  B: number[],
  mag: number[],
  s: number,
  outF: number,
  r: number,
  inF: number,
): number[] {
  const V = addArr(W, scaleArr(matmul(B, A, outF, r, inF), s));
  const n = rowNorms(V, outF, inF);
  return V.map((v, i) => (mag[Math.floor(i / inF)] / n[Math.floor(i / inF)]) * v);
}
