/**
 * A float64 scalar reverse-mode autodiff (micrograd-style), independent of the tensor package. Each value is one
 * number with its own graph node, so tiny networks can be trained here as an exact reference for the tensor
 * package's float32 results.
 */
export class Scalar {
  grad = 0;
  constructor(
    public value: number,
    private readonly parents: readonly Scalar[] = [],
    private readonly localGrads: readonly number[] = [],
  ) {}

  static of(x: number | Scalar): Scalar {
    return x instanceof Scalar ? x : new Scalar(x);
  }
  add(o: number | Scalar): Scalar {
    const b = Scalar.of(o);
    return new Scalar(this.value + b.value, [this, b], [1, 1]);
  }
  sub(o: number | Scalar): Scalar {
    const b = Scalar.of(o);
    return new Scalar(this.value - b.value, [this, b], [1, -1]);
  }
  mul(o: number | Scalar): Scalar {
    const b = Scalar.of(o);
    return new Scalar(this.value * b.value, [this, b], [b.value, this.value]);
  }
  div(o: number | Scalar): Scalar {
    const b = Scalar.of(o);
    return new Scalar(this.value / b.value, [this, b], [1 / b.value, -this.value / (b.value * b.value)]);
  }
  exp(): Scalar {
    const e = Math.exp(this.value);
    return new Scalar(e, [this], [e]);
  }
  log(): Scalar {
    return new Scalar(Math.log(this.value), [this], [1 / this.value]);
  }
  tanh(): Scalar {
    const t = Math.tanh(this.value);
    return new Scalar(t, [this], [1 - t * t]);
  }
  relu(): Scalar {
    return new Scalar(Math.max(0, this.value), [this], [this.value > 0 ? 1 : 0]);
  }

  /** Backpropagate from this value (topological order, each node once). */
  backward(): void {
    const order: Scalar[] = [];
    const seen = new Set<Scalar>();
    const stack: [Scalar, number][] = [[this, 0]];
    seen.add(this);
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top[1] < top[0].parents.length) {
        const p = top[0].parents[top[1]++];
        if (!seen.has(p)) {
          seen.add(p);
          stack.push([p, 0]);
        }
      } else {
        order.push(top[0]);
        stack.pop();
      }
    }
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i];
      v.parents.forEach((p, j) => {
        p.grad += v.localGrads[j] * v.grad;
      });
    }
  }
}

export type Mat = Scalar[][];

export const mat = (values: ArrayLike<number>, rows: number, cols: number): Mat =>
  Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => new Scalar(values[i * cols + j])));

export const sumAll = (xs: readonly Scalar[]): Scalar => xs.reduce((s, x) => s.add(x), new Scalar(0));

/** a [m×k] · b [k×n]. */
export function matmul(a: Mat, b: Mat): Mat {
  return a.map((row) => b[0].map((_, j) => sumAll(row.map((x, p) => x.mul(b[p][j])))));
}
/** x [m×k] · wᵀ for w [n×k] (torch Linear layout). */
export function linearT(x: Mat, w: Mat, bias?: Scalar[]): Mat {
  return x.map((row) =>
    w.map((wr, j) => {
      const s = sumAll(row.map((v, p) => v.mul(wr[p])));
      return bias ? s.add(bias[j]) : s;
    }),
  );
}
export const transpose = (a: Mat): Mat => a[0].map((_, j) => a.map((r) => r[j]));

/** Row-wise log-softmax (stabilised with the row max treated as a constant, as it cancels). */
export function logSoftmaxRow(row: readonly Scalar[]): Scalar[] {
  const mx = Math.max(...row.map((v) => v.value));
  const lse = sumAll(row.map((v) => v.sub(mx).exp()))
    .log()
    .add(mx);
  return row.map((v) => v.sub(lse));
}
export function softmaxRow(row: readonly Scalar[]): Scalar[] {
  const mx = Math.max(...row.map((v) => v.value));
  const e = row.map((v) => v.sub(mx).exp());
  const s = sumAll(e);
  return e.map((v) => v.div(s));
}
export const flat = (m: Mat): Scalar[] => m.flat();
