/**
 * The op cases of the conformance suite: for each, how to build its inputs, how to run it on a backend and what the
 * float64 reference says. Names are stable: exclusion lists and tolerance tables refer to them.
 */
import type { DType } from '../dtype.js';
import * as ops from '../ops/index.js';
import { Generator, uniformAt } from '../random.js';
import type { Tensor } from '../tensor.js';
import { type Gen, gens } from './harness.js';
import * as R from './reference.js';
import type { Ref } from './reference.js';
import { topkCases } from './topk-cases.js';

export interface InputSpec {
  shape: number[];
  dtype: DType;
  gen: Gen;
  /** f32 inputs take part in the gradient check unless this is false (a frozen input). */
  grad: boolean;
}

/** Which default tolerance applies. */
export type ToleranceClass = 'exact' | 'elementwise' | 'reduce' | 'matmul';

export interface OpCase {
  /** Stable, `/`-separated: `op/variant[/detail]`. */
  name: string;
  class: ToleranceClass;
  inputs: InputSpec[];
  /** The op on the backend (inside a tidy scope). */
  run: (x: Tensor[]) => Tensor | Tensor[];
  /** The float64 reference on the same (rounded) input values. */
  ref: (x: Ref[]) => Ref | Ref[];
  /** Dtype of each output (default f32). */
  outDType?: DType | DType[];
  /** Whether to check gradients (default: some input is a differentiable f32 and the outputs are f32). */
  grad?: boolean;
  /**
   * Expected input gradients of L = Σ out·R, when finite differences do not apply (ties, where the op's documented
   * subgradient differs from the central difference) or would be too slow (large matmuls).
   */
  gradRef?: (x: Ref[], weights: Ref[]) => (Ref | null)[];
}

// ---------------------------------------------------------------------------------------------------------------
// Small builders

const f32 = (shape: number[], gen: Gen = gens.normal(), grad = true): InputSpec => ({ shape, dtype: 'f32', gen, grad });
const frozen = (shape: number[], gen: Gen = gens.normal()): InputSpec => f32(shape, gen, false);
const i32 = (shape: number[], gen: Gen): InputSpec => ({ shape, dtype: 'i32', gen, grad: false });
const bool = (shape: number[], gen: Gen = gens.bools()): InputSpec => ({ shape, dtype: 'bool', gen, grad: false });

type Unary = (x: Tensor) => Tensor;
type RefUnary = (x: Ref) => Ref;

function unaryCases(): OpCase[] {
  const list: [string, Unary, RefUnary, Gen][] = [
    ['neg', ops.neg, R.neg, gens.normal()],
    ['exp', ops.exp, R.exp, gens.uniform(-3, 3)],
    ['log', ops.log, R.log, gens.uniform(0.1, 5)],
    ['sqrt', ops.sqrt, R.sqrt, gens.uniform(0.1, 5)],
    ['rsqrt', ops.rsqrt, R.rsqrt, gens.uniform(0.1, 5)],
    ['abs', ops.abs, R.abs, gens.awayFromZero(0.05, 3)],
    ['tanh', ops.tanh, R.tanh, gens.normal(2)],
    ['sigmoid', ops.sigmoid, R.sigmoid, gens.normal(3)],
    ['relu', ops.relu, R.relu, gens.awayFromZero(0.05, 3)],
    ['gelu/erf', (x) => ops.gelu(x), R.gelu, gens.uniform(-4, 4)],
    ['gelu/tanh', (x) => ops.gelu(x, 'tanh'), R.geluTanh, gens.uniform(-4, 4)],
    ['silu', ops.silu, R.silu, gens.uniform(-5, 5)],
    ['square', ops.square, R.square, gens.normal()],
    ['sin', ops.sin, R.sin, gens.uniform(-4, 4)],
    ['cos', ops.cos, R.cos, gens.uniform(-4, 4)],
    ['reciprocal', ops.reciprocal, R.reciprocal, gens.awayFromZero(0.3, 3)],
  ];
  const cases: OpCase[] = [];
  for (const [name, fn, rf, gen] of list) {
    cases.push({
      name: `${name}/basic`,
      class: 'elementwise',
      inputs: [f32([3, 5], gen)],
      run: ([x]) => fn(x),
      ref: ([x]) => rf(x),
    });
  }
  // NaN in, NaN out (a diverging run must not be hidden by an activation).
  for (const [name, fn, rf] of list) {
    cases.push({
      name: `${name}/nan`,
      class: 'elementwise',
      inputs: [frozen([3], gens.values([Number.NaN, 1, 2]))],
      run: ([x]) => fn(x),
      ref: ([x]) => rf(x),
      grad: false,
    });
  }
  // A size that is not a multiple of typical GPU workgroup sizes, and a rank-0 input.
  cases.push({
    name: 'exp/odd-size',
    class: 'elementwise',
    inputs: [f32([7, 37], gens.uniform(-3, 3))],
    run: ([x]) => ops.exp(x),
    ref: ([x]) => R.exp(x),
  });
  cases.push({
    name: 'tanh/rank0',
    class: 'elementwise',
    inputs: [f32([], gens.normal())],
    run: ([x]) => ops.tanh(x),
    ref: ([x]) => R.tanh(x),
  });
  // Saturated inputs must not overflow to NaN.
  cases.push({
    name: 'sigmoid/saturated',
    class: 'elementwise',
    inputs: [f32([2, 6], gens.values([-1000, -90, -40, -20, -10, -1, 0.5, 1, 10, 40, 90, 1000]))],
    run: ([x]) => ops.sigmoid(x),
    ref: ([x]) => R.sigmoid(x),
  });
  cases.push({
    name: 'tanh/saturated',
    class: 'elementwise',
    inputs: [f32([10], gens.values([-1000, -60, -20, -9, -0.001, 0.001, 9, 20, 60, 1000]))],
    run: ([x]) => ops.tanh(x),
    ref: ([x]) => R.tanh(x),
  });
  cases.push({
    name: 'silu/saturated',
    class: 'elementwise',
    inputs: [f32([8], gens.values([-1000, -90, -30, -10, 10, 30, 90, 1000]))],
    run: ([x]) => ops.silu(x),
    ref: ([x]) => R.silu(x),
  });
  cases.push({
    name: 'gelu/erf/tails',
    class: 'elementwise',
    inputs: [f32([10], gens.values([-1000, -12, -6, -3.5, -2.6, 2.6, 3.5, 6, 12, 1000]))],
    run: ([x]) => ops.gelu(x),
    ref: ([x]) => R.gelu(x),
  });
  cases.push({
    name: 'gelu/tanh/tails',
    class: 'elementwise',
    inputs: [f32([8], gens.values([-1000, -12, -5, -2.6, 2.6, 5, 12, 1000]))],
    run: ([x]) => ops.gelu(x, 'tanh'),
    ref: ([x]) => R.geluTanh(x),
  });
  cases.push({
    name: 'exp/extremes',
    class: 'elementwise',
    inputs: [f32([6], gens.values([-1000, -100, -80, 0, 80, 88]))],
    run: ([x]) => ops.exp(x),
    ref: ([x]) => R.exp(x),
  });
  // sign: not differentiable (gradient zero by definition); includes zeros.
  cases.push({
    name: 'sign/basic',
    class: 'exact',
    inputs: [f32([3, 4], gens.ints(-2, 3))],
    run: ([x]) => ops.sign(x),
    ref: ([x]) => R.sign(x),
    grad: false,
  });
  // Integer forms.
  const intList: [string, Unary, RefUnary][] = [
    ['neg', ops.neg, R.neg],
    ['abs', ops.abs, R.abs],
    ['square', ops.square, R.square],
    ['sign', ops.sign, R.sign],
  ];
  for (const [name, fn, rf] of intList) {
    cases.push({
      name: `${name}/i32`,
      class: 'exact',
      inputs: [i32([3, 4], gens.ints(-50, 50))],
      run: ([x]) => fn(x),
      ref: ([x]) => rf(x),
      outDType: 'i32',
    });
  }
  return cases;
}

type Binary = (a: Tensor | number, b: Tensor | number) => Tensor;
type RefBinary = (a: Ref, b: Ref) => Ref;

function binaryCases(): OpCase[] {
  const list: [string, Binary, RefBinary, Gen, Gen, number, number][] = [
    // name, op, ref, gen a, gen b, scalar used as rhs, scalar used as lhs
    ['add', ops.add, R.add, gens.normal(), gens.normal(), 1.5, -0.75],
    ['sub', ops.sub, R.sub, gens.normal(), gens.normal(), 1.5, -0.75],
    ['mul', ops.mul, R.mul, gens.normal(), gens.normal(), 1.5, -0.75],
    ['div', ops.div, R.div, gens.normal(), gens.awayFromZero(0.5, 2), 1.7, 2.5],
    ['pow', ops.pow, R.pow, gens.uniform(0.5, 2), gens.uniform(-2, 2), 2.5, 1.3],
    ['maximum', ops.maximum, R.maximum, gens.normal(), gens.normal(), 0.25, -0.25],
    ['minimum', ops.minimum, R.minimum, gens.normal(), gens.normal(), 0.25, -0.25],
  ];
  const cases: OpCase[] = [];
  for (const [name, fn, rf, ga, gb, sr, sl] of list) {
    cases.push(
      {
        name: `${name}/same-shape`,
        class: 'elementwise',
        inputs: [f32([3, 4], ga), f32([3, 4], gb)],
        run: ([a, b]) => fn(a, b),
        ref: ([a, b]) => rf(a, b),
      },
      // both sides broadcast: [2,1,4] ⊕ [3,1] → [2,3,4]
      {
        name: `${name}/broadcast`,
        class: 'elementwise',
        inputs: [f32([2, 1, 4], ga), f32([3, 1], gb)],
        run: ([a, b]) => fn(a, b),
        ref: ([a, b]) => rf(a, b),
      },
      {
        name: `${name}/rank0`,
        class: 'elementwise',
        inputs: [f32([3, 4], ga), f32([], gb)],
        run: ([a, b]) => fn(a, b),
        ref: ([a, b]) => rf(a, b),
      },
      {
        name: `${name}/scalar-rhs`,
        class: 'elementwise',
        inputs: [f32([3, 4], ga)],
        run: ([a]) => fn(a, sr),
        ref: ([a]) => rf(a, R.scalarRef(sr)),
      },
      {
        name: `${name}/scalar-lhs`,
        class: 'elementwise',
        inputs: [f32([3, 4], gb)],
        run: ([b]) => fn(sl, b),
        ref: ([b]) => rf(R.scalarRef(sl), b),
      },
      {
        name: `${name}/frozen-rhs`,
        class: 'elementwise',
        inputs: [f32([2, 3], ga), frozen([2, 3], gb)],
        run: ([a, b]) => fn(a, b),
        ref: ([a, b]) => rf(a, b),
      },
    );
  }
  // Ties: maximum / minimum send half the gradient to each side (what central differences measure too).
  const tieA = [1, 2, 3, -1, 0.5, 0.5];
  const tieB = [1, 1, 3, 2, 0.5, -4];
  cases.push(
    {
      name: 'maximum/ties',
      class: 'elementwise',
      inputs: [f32([6], gens.values(tieA)), f32([6], gens.values(tieB))],
      run: ([a, b]) => ops.maximum(a, b),
      ref: ([a, b]) => R.maximum(a, b),
    },
    {
      name: 'minimum/ties',
      class: 'elementwise',
      inputs: [f32([6], gens.values(tieA)), f32([6], gens.values(tieB))],
      run: ([a, b]) => ops.minimum(a, b),
      ref: ([a, b]) => R.minimum(a, b),
    },
  );
  // Integer powers of negative bases are real (the exponent is a constant, so no log of a negative is needed).
  cases.push(
    {
      name: 'pow/negative-base-cube',
      class: 'elementwise',
      inputs: [f32([3, 4], gens.normal())],
      run: ([a]) => ops.pow(a, 3),
      ref: ([a]) => R.pow(a, R.scalarRef(3)),
    },
    {
      name: 'pow/negative-base-square',
      class: 'elementwise',
      inputs: [f32([3, 4], gens.normal())],
      run: ([a]) => ops.pow(a, 2),
      ref: ([a]) => R.pow(a, R.scalarRef(2)),
    },
  );
  // x op x: the same tensor on both sides accumulates both gradients.
  cases.push({
    name: 'mul/self',
    class: 'elementwise',
    inputs: [f32([3, 3])],
    run: ([a]) => ops.mul(a, a),
    ref: ([a]) => R.mul(a, a),
  });
  cases.push({
    name: 'sub/self',
    class: 'elementwise',
    inputs: [f32([3, 3])],
    run: ([a]) => ops.sub(a, ops.exp(a)),
    ref: ([a]) => R.sub(a, R.exp(a)),
  });
  // NaN propagates through maximum / minimum (PyTorch semantics).
  const nanA = [1, Number.NaN, 3, Number.NaN, -2];
  const nanB = [Number.NaN, 2, 1, Number.NaN, -5];
  cases.push(
    {
      name: 'maximum/nan',
      class: 'exact',
      inputs: [frozen([5], gens.values(nanA)), frozen([5], gens.values(nanB))],
      run: ([a, b]) => ops.maximum(a, b),
      ref: ([a, b]) => R.maximum(a, b),
    },
    {
      name: 'minimum/nan',
      class: 'exact',
      inputs: [frozen([5], gens.values(nanA)), frozen([5], gens.values(nanB))],
      run: ([a, b]) => ops.minimum(a, b),
      ref: ([a, b]) => R.minimum(a, b),
    },
  );
  // d(aᵇ)/db at a = 0 is 0 for b > 0 (not 0·log 0 = NaN), as in PyTorch.
  cases.push({
    name: 'pow/zero-base',
    class: 'elementwise',
    inputs: [frozen([2, 3], gens.values([0, 1.5, 0, 0.5, 2, 0])), f32([2, 3], gens.uniform(0.5, 2))],
    run: ([a, b]) => ops.pow(a, b),
    ref: ([a, b]) => R.pow(a, b),
  });
  // i32 arithmetic wraps around in two's complement (as every backend's 32-bit integers do).
  const big = [2147483647, -2147483648, 123456789, -987654321, 65536, 46341];
  const big2 = [2147483647, -1, 987654321, 3, 65536, 46341];
  for (const op of ['add', 'sub', 'mul'] as const) {
    cases.push({
      name: `${op}/i32-overflow`,
      class: 'exact',
      inputs: [i32([6], gens.values(big)), i32([6], gens.values(big2))],
      // biome-ignore lint/performance/noDynamicNamespaceImportAccess: one case per binary op, looked up by name
      run: ([a, b]) => ops[op](a, b),
      ref: ([a, b]) => R.wrapI32(a, b, op),
      outDType: 'i32',
    });
  }
  cases.push({
    name: 'square/i32-overflow',
    class: 'exact',
    inputs: [i32([4], gens.values([46341, -123456789, 65536, 2147483647]))],
    run: ([a]) => ops.square(a),
    ref: ([a]) => R.wrapI32(a, a, 'mul'),
    outDType: 'i32',
  });
  // Integer arithmetic (exact; division truncates toward zero).
  const intList: [string, Binary, RefBinary, Gen][] = [
    ['add', ops.add, R.add, gens.ints(-100, 100)],
    ['sub', ops.sub, R.sub, gens.ints(-100, 100)],
    ['mul', ops.mul, R.mul, gens.ints(-100, 100)],
    ['div', ops.div, R.divTrunc, gens.values([7, -7, 9, -9, 3, 100, -100, 1, 0, 5, -5, 13])],
    ['maximum', ops.maximum, R.maximum, gens.ints(-5, 5)],
    ['minimum', ops.minimum, R.minimum, gens.ints(-5, 5)],
  ];
  for (const [name, fn, rf, ga] of intList) {
    cases.push({
      name: `${name}/i32`,
      class: 'exact',
      inputs: [i32([3, 4], ga), i32([4], gens.values([2, -3, 4, 1]))],
      run: ([a, b]) => fn(a, b),
      ref: ([a, b]) => rf(a, b),
      outDType: 'i32',
    });
  }
  return cases;
}

function compareCases(): OpCase[] {
  const named: Record<R.CompareName, Binary> = {
    eq: ops.equal,
    ne: ops.notEqual,
    lt: ops.less,
    le: ops.lessEqual,
    gt: ops.greater,
    ge: ops.greaterEqual,
  };
  const cases: OpCase[] = [];
  for (const op of Object.keys(named) as R.CompareName[]) {
    // integer-valued floats, so that equal values occur
    cases.push(
      {
        name: `compare/${op}/broadcast`,
        class: 'exact',
        inputs: [frozen([3, 4], gens.ints(-2, 3)), frozen([4], gens.ints(-2, 3))],
        run: ([a, b]) => named[op](a, b),
        ref: ([a, b]) => R.compare(op, a, b),
        outDType: 'bool',
      },
      {
        name: `compare/${op}/scalar`,
        class: 'exact',
        inputs: [frozen([2, 5], gens.ints(-2, 3))],
        run: ([a]) => ops.compare(op, a, 1),
        ref: ([a]) => R.compare(op, a, R.scalarRef(1)),
        outDType: 'bool',
      },
      {
        name: `compare/${op}/i32`,
        class: 'exact',
        inputs: [i32([2, 3], gens.ints(-2, 3)), i32([2, 1], gens.ints(-2, 3))],
        run: ([a, b]) => ops.compare(op, a, b),
        ref: ([a, b]) => R.compare(op, a, b),
        outDType: 'bool',
      },
    );
  }
  cases.push({
    name: 'compare/eq/bool-scalar',
    class: 'exact',
    inputs: [bool([2, 3])],
    run: ([a]) => ops.equal(a, 1),
    ref: ([a]) => R.compare('eq', a, R.scalarRef(1)),
    outDType: 'bool',
  });
  cases.push({
    name: 'compare/eq/bool',
    class: 'exact',
    inputs: [bool([2, 3]), bool([3])],
    run: ([a, b]) => ops.equal(a, b),
    ref: ([a, b]) => R.compare('eq', a, b),
    outDType: 'bool',
  });
  return cases;
}

function selectionCases(): OpCase[] {
  return [
    {
      name: 'where/broadcast',
      class: 'exact',
      inputs: [bool([3, 1]), f32([1, 4]), f32([3, 4])],
      run: ([c, a, b]) => ops.where(c, a, b),
      ref: ([c, a, b]) => R.where(c, a, b),
    },
    {
      name: 'where/scalar-other',
      class: 'exact',
      inputs: [bool([2, 5]), f32([2, 5])],
      run: ([c, a]) => ops.where(c, a, 0),
      ref: ([c, a]) => R.where(c, a, R.scalarRef(0)),
    },
    {
      name: 'where/scalar-first',
      class: 'exact',
      inputs: [bool([2, 5]), f32([2, 5])],
      run: ([c, b]) => ops.where(c, -2.5, b),
      ref: ([c, b]) => R.where(c, R.scalarRef(-2.5), b),
    },
    {
      name: 'where/i32',
      class: 'exact',
      inputs: [bool([2, 3]), i32([2, 3], gens.ints(-9, 9)), i32([3], gens.ints(-9, 9))],
      run: ([c, a, b]) => ops.where(c, a, b),
      ref: ([c, a, b]) => R.where(c, a, b),
      outDType: 'i32',
    },
    {
      name: 'where/bool-branches',
      class: 'exact',
      inputs: [bool([2, 3]), bool([2, 3])],
      run: ([c, a]) => ops.where(c, a, 0),
      ref: ([c, a]) => R.where(c, a, R.scalarRef(0)),
      outDType: 'bool',
    },
    {
      name: 'maskedFill/broadcast-mask',
      class: 'exact',
      inputs: [f32([2, 3, 4]), bool([1, 4])],
      run: ([x, m]) => ops.maskedFill(x, m, -1e4),
      ref: ([x, m]) => R.where(m, R.scalarRef(-1e4), x),
    },
  ];
}

function castCases(): OpCase[] {
  const mk = (name: string, from: InputSpec, to: 'f32' | 'i32' | 'bool', cls: ToleranceClass = 'exact'): OpCase => ({
    name: `cast/${name}`,
    class: cls,
    inputs: [from],
    run: ([x]) => ops.cast(x, to),
    ref: ([x]) => R.cast(x, to),
    outDType: to,
  });
  return [
    mk('f32-i32', frozen([2, 6], gens.uniform(-5, 5)), 'i32'),
    mk('f32-bool', frozen([2, 4], gens.values([0, 1.5, -0.25, 0, 3, 0, -7, 1e-30])), 'bool'),
    mk('i32-f32', i32([2, 4], gens.ints(-1000, 1000)), 'f32'),
    mk('bool-f32', bool([2, 4]), 'f32'),
    mk('i32-bool', i32([2, 4], gens.ints(-2, 3)), 'bool'),
    mk('bool-i32', bool([2, 4]), 'i32'),
    mk('i32-i32', i32([5], gens.ints(-9, 9)), 'i32'),
    // A cast to the dtype the tensor already has is the identity, gradient included.
    mk('f32-f32', f32([2, 3]), 'f32', 'elementwise'),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions

type Reduce = (x: Tensor, axes?: number | readonly number[], keepdim?: boolean) => Tensor;
type RefReduce = (x: Ref, axes?: number | readonly number[], keepdim?: boolean) => Ref;

/** Expected gradient of max/min with ties: R shared equally among the tied extrema of each reduced group. */
function extremumGradRef(op: 'max' | 'min', axes: number[]) {
  return ([x]: Ref[], [w]: Ref[]): (Ref | null)[] => {
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const ext = R.reshape((op === 'max' ? R.max : R.min)(x, axes, true), kept);
    const hit = R.zip(x, ext, (v, e) => (v === e ? 1 : 0));
    const count = R.sum(hit, axes, true);
    // the weights have the output's shape; view them with the reduced axes kept (keepdim or not, same order)
    const wk = R.reshape(w, kept);
    return [R.zipN([hit, wk, count], (h, ww, c) => (h * ww) / c)];
  };
}

function reduceCases(): OpCase[] {
  const list: [string, Reduce, RefReduce, Gen][] = [
    ['sum', ops.sum, R.sum, gens.normal()],
    ['mean', ops.mean, R.mean, gens.normal()],
    ['max', ops.max, R.max, gens.distinct()],
    ['min', ops.min, R.min, gens.distinct()],
  ];
  const variants: [string, number | number[] | undefined, boolean][] = [
    ['all', undefined, false],
    ['all-keepdim', undefined, true],
    ['axis0', 0, false],
    ['axis-last-keepdim', -1, true],
    ['axes-0-2', [0, 2], false],
    ['axes-negative-keepdim', [-1, -2], true],
  ];
  const cases: OpCase[] = [];
  for (const [name, fn, rf, gen] of list) {
    for (const [v, axes, keepdim] of variants) {
      cases.push({
        name: `${name}/${v}`,
        class: 'reduce',
        inputs: [f32([2, 3, 4], gen)],
        run: ([x]) => fn(x, axes, keepdim),
        ref: ([x]) => rf(x, axes, keepdim),
      });
    }
  }
  cases.push(
    { name: 'sum/rank0', class: 'reduce', inputs: [f32([])], run: ([x]) => ops.sum(x), ref: ([x]) => R.sum(x) },
    {
      name: 'sum/long-row',
      class: 'reduce',
      inputs: [f32([2, 300], gens.uniform(-1, 1))],
      run: ([x]) => ops.sum(x, -1),
      ref: ([x]) => R.sum(x, -1),
    },
    {
      name: 'mean/long-column',
      class: 'reduce',
      inputs: [f32([300, 2], gens.normal(1, 2))],
      run: ([x]) => ops.mean(x, 0),
      ref: ([x]) => R.mean(x, 0),
    },
    {
      name: 'max/nan',
      class: 'exact',
      inputs: [frozen([3, 3], gens.values([1, Number.NaN, 2, 3, 4, 5, Number.NaN, -1, Number.NaN]))],
      run: ([x]) => ops.max(x, -1),
      ref: ([x]) => R.max(x, -1),
    },
    {
      name: 'min/nan',
      class: 'exact',
      inputs: [frozen([3, 3], gens.values([1, Number.NaN, 2, 3, 4, 5, Number.NaN, -1, Number.NaN]))],
      run: ([x]) => ops.min(x, 0),
      ref: ([x]) => R.min(x, 0),
    },
    {
      name: 'max/long-row',
      class: 'reduce',
      inputs: [f32([2, 300], gens.distinct(0.01))],
      run: ([x]) => ops.max(x, 1),
      ref: ([x]) => R.max(x, 1),
    },
    {
      name: 'sum/i32',
      class: 'exact',
      inputs: [i32([3, 4], gens.ints(-100, 100))],
      run: ([x]) => ops.sum(x, 1),
      ref: ([x]) => R.sum(x, 1),
      outDType: 'i32',
    },
    {
      name: 'max/i32',
      class: 'exact',
      inputs: [i32([3, 4], gens.ints(-100, 100))],
      run: ([x]) => ops.max(x, 0),
      ref: ([x]) => R.max(x, 0),
      outDType: 'i32',
    },
  );
  // Ties share the gradient equally (so 3-way ties get 1/3 each, which central differences would not measure).
  const tied = [1, 3, 3, 2, 2, 2, -1, -4, -4, 0.5, 0.5, 0.5];
  for (const op of ['max', 'min'] as const) {
    const fn = op === 'max' ? ops.max : ops.min;
    const rf = op === 'max' ? R.max : R.min;
    cases.push(
      {
        name: `${op}/ties/last-axis`,
        class: 'reduce',
        inputs: [f32([4, 3], gens.values(tied))],
        run: ([x]) => fn(x, -1),
        ref: ([x]) => rf(x, -1),
        gradRef: extremumGradRef(op, [1]),
      },
      {
        name: `${op}/ties/all`,
        class: 'reduce',
        inputs: [f32([2, 3], gens.values([4, -4, 4, 1, -4, 4]))],
        run: ([x]) => fn(x),
        ref: ([x]) => rf(x),
        gradRef: extremumGradRef(op, [0, 1]),
      },
    );
  }
  cases.push(
    {
      name: 'argmax/last',
      class: 'exact',
      inputs: [frozen([3, 5], gens.distinct())],
      run: ([x]) => ops.argmax(x),
      ref: ([x]) => R.argmax(x),
      outDType: 'i32',
    },
    {
      name: 'argmax/axis0-keepdim',
      class: 'exact',
      inputs: [frozen([4, 2, 3], gens.distinct())],
      run: ([x]) => ops.argmax(x, 0, true),
      ref: ([x]) => R.argmax(x, 0, true),
      outDType: 'i32',
    },
    {
      name: 'argmax/ties-first',
      class: 'exact',
      inputs: [frozen([3, 4], gens.values([1, 5, 5, 0, 2, 2, 2, 2, -1, -3, -1, -2]))],
      run: ([x]) => ops.argmax(x, 1),
      ref: ([x]) => R.argmax(x, 1),
      outDType: 'i32',
    },
    {
      // NaN counts as the maximum (PyTorch), consistent with max() returning NaN
      name: 'argmax/nan',
      class: 'exact',
      inputs: [frozen([2, 4], gens.values([1, Number.NaN, 5, Number.NaN, 3, 2, 1, 0]))],
      run: ([x]) => ops.argmax(x, -1),
      ref: ([x]) => R.argmax(x, -1),
      outDType: 'i32',
    },
    {
      name: 'argmax/i32',
      class: 'exact',
      inputs: [i32([3, 4], gens.values([1, 7, 7, 0, -5, -9, -5, -6, 3, 2, 1, 4]))],
      run: ([x]) => ops.argmax(x, 1),
      ref: ([x]) => R.argmax(x, 1),
      outDType: 'i32',
    },
    {
      name: 'argmax/negative',
      class: 'exact',
      inputs: [frozen([2, 3], gens.values([-5, -2, -9, -1e30, -3e38, -2e30]))],
      run: ([x]) => ops.argmax(x, -1),
      ref: ([x]) => R.argmax(x, -1),
      outDType: 'i32',
    },
  );
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Matmul and linear

function matmulCases(): OpCase[] {
  const M = 3;
  const K = 4;
  const N = 5;
  // stored shapes (before the transpose flags) of a and b, by layout
  const layouts: [string, number[], number[]][] = [
    ['2d', [], []],
    ['batched', [2], [2]],
    ['broadcast-batch', [2, 1], [3]],
    ['batch-x-2d', [2, 3], []],
    ['2d-x-batch', [], [2]],
    ['batch-x-batch1', [3], [1]],
    ['batch-x-batch11', [2, 3], [1, 1]],
    ['batch1-x-batch', [1], [3]],
  ];
  const flags: [string, boolean, boolean][] = [
    ['plain', false, false],
    ['transA', true, false],
    ['transB', false, true],
    ['transAB', true, true],
  ];
  const cases: OpCase[] = [];
  for (const [fname, ta, tb] of flags) {
    for (const [lname, ba, bb] of layouts) {
      const aShape = [...ba, ...(ta ? [K, M] : [M, K])];
      const bShape = [...bb, ...(tb ? [N, K] : [K, N])];
      cases.push({
        name: `matmul/${fname}/${lname}`,
        class: 'matmul',
        inputs: [f32(aShape), f32(bShape)],
        run: ([a, b]) => ops.matmul(a, b, { transA: ta, transB: tb }),
        ref: ([a, b]) => R.matmul(a, b, ta, tb),
      });
    }
  }
  // Sizes that are not multiples of any tile size.
  cases.push({
    name: 'matmul/odd-sizes',
    class: 'matmul',
    inputs: [f32([17, 33]), f32([33, 19])],
    run: ([a, b]) => ops.matmul(a, b),
    ref: ([a, b]) => R.matmul(a, b),
  });
  cases.push({
    name: 'matmul/vector-shapes',
    class: 'matmul',
    inputs: [f32([2, 1, 6]), f32([2, 6, 1])],
    run: ([a, b]) => ops.matmul(a, b),
    ref: ([a, b]) => R.matmul(a, b),
  });
  cases.push({
    // IEEE semantics: 0·∞ = NaN and NaN propagates (a kernel that skips zero terms would lose them)
    name: 'matmul/nan-inf',
    class: 'matmul',
    inputs: [
      frozen([2, 3], gens.values([0, 1, 2, 0, 0, 1])),
      frozen([3, 3], gens.values([Infinity, 1, 0.5, 2, Number.NaN, -1, 1, 1, -Infinity])),
    ],
    run: ([a, b]) => ops.matmul(a, b),
    ref: ([a, b]) => R.matmul(a, b),
    grad: false,
  });
  cases.push({
    name: 'matmul/empty-k',
    class: 'matmul',
    inputs: [f32([3, 0]), f32([0, 4])],
    run: ([a, b]) => ops.matmul(a, b),
    ref: ([a, b]) => R.matmul(a, b),
  });
  // Larger than cache blocks and typical tiles; gradients from the analytic reference (dA = R·Bᵀ, dB = Aᵀ·R).
  cases.push(
    {
      name: 'matmul/large/plain',
      class: 'matmul',
      inputs: [f32([6, 300]), f32([300, 520])],
      run: ([a, b]) => ops.matmul(a, b),
      ref: ([a, b]) => R.matmul(a, b),
      gradRef: ([a, b], [w]) => [R.matmul(w, b, false, true), R.matmul(a, w, true, false)],
    },
    {
      name: 'matmul/large/transB',
      class: 'matmul',
      inputs: [f32([2, 5, 160]), f32([130, 160])],
      run: ([a, b]) => ops.matmul(a, b, { transB: true }),
      ref: ([a, b]) => R.matmul(a, b, false, true),
      gradRef: ([a, b], [w]) => [R.matmul(w, b), R.sum(R.matmul(w, a, true, false), 0)],
    },
    {
      name: 'matmul/large/transA',
      class: 'matmul',
      inputs: [f32([140, 7]), f32([140, 9])],
      run: ([a, b]) => ops.matmul(a, b, { transA: true }),
      ref: ([a, b]) => R.matmul(a, b, true, false),
      gradRef: ([a, b], [w]) => [R.matmul(b, w, false, true), R.matmul(a, w)],
    },
  );
  cases.push(
    {
      name: 'matmul/frozen-b',
      class: 'matmul',
      inputs: [f32([2, M, K]), frozen([K, N])],
      run: ([a, b]) => ops.matmul(a, b),
      ref: ([a, b]) => R.matmul(a, b),
    },
    {
      name: 'matmul/frozen-a',
      class: 'matmul',
      inputs: [frozen([2, M, K]), f32([K, N])],
      run: ([a, b]) => ops.matmul(a, b),
      ref: ([a, b]) => R.matmul(a, b),
    },
  );
  cases.push(
    {
      name: 'linear/bias',
      class: 'matmul',
      inputs: [f32([2, 3, 4]), f32([5, 4]), f32([5])],
      run: ([x, w, b]) => ops.linear(x, w, b),
      ref: ([x, w, b]) => R.linear(x, w, b),
    },
    {
      name: 'linear/no-bias',
      class: 'matmul',
      inputs: [f32([3, 4]), f32([5, 4])],
      run: ([x, w]) => ops.linear(x, w),
      ref: ([x, w]) => R.linear(x, w),
    },
    {
      name: 'linear/frozen-weight',
      class: 'matmul',
      inputs: [f32([2, 3, 4]), frozen([5, 4]), frozen([5])],
      run: ([x, w, b]) => ops.linear(x, w, b),
      ref: ([x, w, b]) => R.linear(x, w, b),
    },
    {
      name: 'linear/frozen-input',
      class: 'matmul',
      inputs: [frozen([2, 3, 4]), f32([5, 4]), f32([5])],
      run: ([x, w, b]) => ops.linear(x, w, b),
      ref: ([x, w, b]) => R.linear(x, w, b),
    },
  );
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Shape ops

function shapeCases(): OpCase[] {
  const x234 = () => f32([2, 3, 4]);
  return [
    {
      name: 'reshape/infer',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.reshape(x, [4, -1]),
      ref: ([x]) => R.reshape(x, [4, -1]),
    },
    {
      name: 'reshape/to-rank0',
      class: 'exact',
      inputs: [f32([1, 1])],
      run: ([x]) => ops.reshape(x, []),
      ref: ([x]) => R.reshape(x, []),
    },
    {
      name: 'reshape/method',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => x.reshape([6, 4]),
      ref: ([x]) => R.reshape(x, [6, 4]),
    },
    {
      name: 'flatten/start1',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.flatten(x, 1),
      ref: ([x]) => R.reshape(x, [2, 12]),
    },
    {
      name: 'unsqueeze/middle',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.unsqueeze(x, 1),
      ref: ([x]) => R.reshape(x, [2, 1, 3, 4]),
    },
    {
      name: 'unsqueeze/negative',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.unsqueeze(x, -1),
      ref: ([x]) => R.reshape(x, [2, 3, 4, 1]),
    },
    {
      name: 'squeeze/axis',
      class: 'exact',
      inputs: [f32([2, 1, 3])],
      run: ([x]) => ops.squeeze(x, 1),
      ref: ([x]) => R.reshape(x, [2, 3]),
    },
    {
      name: 'transpose/last-two',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.transpose(x),
      ref: ([x]) => R.transpose(x),
    },
    {
      name: 'transpose/0-2',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.transpose(x, 0, 2),
      ref: ([x]) => R.transpose(x, 0, 2),
    },
    {
      name: 'permute/3d',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.permute(x, [2, 0, 1]),
      ref: ([x]) => R.permute(x, [2, 0, 1]),
    },
    {
      name: 'permute/4d-heads',
      class: 'exact',
      inputs: [f32([2, 3, 2, 5])],
      run: ([x]) => ops.permute(x, [0, 2, 1, 3]),
      ref: ([x]) => R.permute(x, [0, 2, 1, 3]),
    },
    {
      name: 'permute/negative-axes',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.permute(x, [-1, 0, -2]),
      ref: ([x]) => R.permute(x, [2, 0, 1]),
    },
    {
      name: 'permute/5d',
      class: 'exact',
      inputs: [f32([2, 1, 3, 2, 2])],
      run: ([x]) => ops.permute(x, [4, 2, 0, 3, 1]),
      ref: ([x]) => R.permute(x, [4, 2, 0, 3, 1]),
    },
    {
      name: 'permute/identity',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.permute(x, [0, 1, 2]),
      ref: ([x]) => R.permute(x, [0, 1, 2]),
    },
    {
      name: 'permute/i32',
      class: 'exact',
      inputs: [i32([2, 3, 4], gens.ints(-99, 99))],
      run: ([x]) => ops.permute(x, [1, 2, 0]),
      ref: ([x]) => R.permute(x, [1, 2, 0]),
      outDType: 'i32',
    },
    {
      name: 'expand/broadcast',
      class: 'exact',
      inputs: [f32([3, 1])],
      run: ([x]) => ops.expand(x, [2, 3, 4]),
      ref: ([x]) => R.expand(x, [2, 3, 4]),
    },
    {
      name: 'expand/keep-dim',
      class: 'exact',
      inputs: [f32([1, 4])],
      run: ([x]) => ops.expand(x, [3, -1]),
      ref: ([x]) => R.expand(x, [3, 4]),
    },
    {
      name: 'expand/rank0',
      class: 'exact',
      inputs: [f32([])],
      run: ([x]) => ops.expand(x, [2, 3]),
      ref: ([x]) => R.expand(x, [2, 3]),
    },
    {
      name: 'expand/same-shape',
      class: 'exact',
      inputs: [f32([2, 3])],
      run: ([x]) => ops.expand(x, [2, 3]),
      ref: ([x]) => R.expand(x, [2, 3]),
    },
    {
      name: 'expand/bool',
      class: 'exact',
      inputs: [bool([1, 3])],
      run: ([x]) => ops.expand(x, [2, 3]),
      ref: ([x]) => R.expand(x, [2, 3]),
      outDType: 'bool',
    },
    {
      name: 'slice/box',
      class: 'exact',
      inputs: [f32([4, 5, 6])],
      run: ([x]) => ops.slice(x, [1, 0, 2], [2, -1, 3]),
      ref: ([x]) => R.slice(x, [1, 0, 2], [2, -1, 3]),
    },
    {
      name: 'slice/negative-begin',
      class: 'exact',
      inputs: [f32([4, 5])],
      run: ([x]) => ops.slice(x, [-2]),
      ref: ([x]) => R.slice(x, [-2]),
    },
    {
      name: 'slice/i32',
      class: 'exact',
      inputs: [i32([4, 5], gens.ints(-9, 9))],
      run: ([x]) => ops.slice(x, [1, 1], [2, 3]),
      ref: ([x]) => R.slice(x, [1, 1], [2, 3]),
      outDType: 'i32',
    },
    {
      name: 'narrow/axis1',
      class: 'exact',
      inputs: [x234()],
      run: ([x]) => ops.narrow(x, 1, 1, 2),
      ref: ([x]) => R.narrow(x, 1, 1, 2),
    },
    {
      name: 'chunk/last-axis',
      class: 'exact',
      inputs: [f32([2, 6])],
      run: ([x]) => ops.chunk(x, 3, -1),
      ref: ([x]) => [R.narrow(x, 1, 0, 2), R.narrow(x, 1, 2, 2), R.narrow(x, 1, 4, 2)],
    },
    {
      name: 'chunk/axis0',
      class: 'exact',
      inputs: [f32([4, 3])],
      run: ([x]) => ops.chunk(x, 2, 0),
      ref: ([x]) => [R.narrow(x, 0, 0, 2), R.narrow(x, 0, 2, 2)],
    },
    {
      name: 'concat/axis0',
      class: 'exact',
      inputs: [f32([2, 3]), f32([1, 3])],
      run: (xs) => ops.concat(xs, 0),
      ref: (xs) => R.concat(xs, 0),
    },
    {
      name: 'concat/axis1-three',
      class: 'exact',
      inputs: [f32([2, 1, 2]), f32([2, 3, 2]), f32([2, 2, 2])],
      run: (xs) => ops.concat(xs, 1),
      ref: (xs) => R.concat(xs, 1),
    },
    {
      name: 'concat/negative-axis',
      class: 'exact',
      inputs: [f32([2, 3]), frozen([2, 2])],
      run: (xs) => ops.concat(xs, -1),
      ref: (xs) => R.concat(xs, -1),
    },
    {
      name: 'concat/empty-part',
      class: 'exact',
      inputs: [f32([2, 0]), f32([2, 3])],
      run: (xs) => ops.concat(xs, 1),
      ref: (xs) => R.concat(xs, 1),
    },
    {
      name: 'concat/single',
      class: 'exact',
      inputs: [f32([2, 3])],
      run: (xs) => ops.concat(xs, 0),
      ref: (xs) => R.concat(xs, 0),
    },
    {
      name: 'concat/i32',
      class: 'exact',
      inputs: [i32([2, 2], gens.ints(-9, 9)), i32([2, 3], gens.ints(-9, 9))],
      run: (xs) => ops.concat(xs, 1),
      ref: (xs) => R.concat(xs, 1),
      outDType: 'i32',
    },
    {
      name: 'stack/axis0',
      class: 'exact',
      inputs: [f32([2, 3]), f32([2, 3]), f32([2, 3])],
      run: (xs) => ops.stack(xs, 0),
      ref: (xs) => R.stack(xs, 0),
    },
    {
      name: 'stack/last',
      class: 'exact',
      inputs: [f32([2, 3]), f32([2, 3])],
      run: (xs) => ops.stack(xs, -1),
      ref: (xs) => R.stack(xs, -1),
    },
    {
      name: 'gather/axis0-repeats',
      class: 'exact',
      inputs: [f32([5, 3]), i32([6], gens.values([4, 0, 4, 2, 4, 0]))],
      run: ([x, i]) => ops.gather(x, i, 0),
      ref: ([x, i]) => R.gather(x, i, 0),
    },
    {
      name: 'gather/axis1-2d-indices',
      class: 'exact',
      inputs: [f32([2, 6, 3]), i32([2, 2], gens.values([5, 1, 1, 3]))],
      run: ([x, i]) => ops.gather(x, i, 1),
      ref: ([x, i]) => R.gather(x, i, 1),
    },
    {
      name: 'gather/last-axis',
      class: 'exact',
      inputs: [f32([3, 4]), i32([5], gens.values([3, 3, 0, 1, 3]))],
      run: ([x, i]) => ops.gather(x, i, -1),
      ref: ([x, i]) => R.gather(x, i, 1),
    },
    {
      name: 'gather/scalar-index',
      class: 'exact',
      inputs: [f32([5, 3]), i32([], gens.values([3]))],
      run: ([x, i]) => ops.gather(x, i, 0),
      ref: ([x, i]) => R.gather(x, i, 0),
    },
    {
      name: 'gather/i32',
      class: 'exact',
      inputs: [i32([4, 2], gens.ints(-9, 9)), i32([3], gens.values([3, 0, 3]))],
      run: ([x, i]) => ops.gather(x, i, 0),
      ref: ([x, i]) => R.gather(x, i, 0),
      outDType: 'i32',
    },
    {
      name: 'embedding/repeats',
      class: 'exact',
      inputs: [f32([7, 4]), i32([2, 3], gens.values([6, 0, 6, 3, 6, 0]))],
      run: ([w, ids]) => ops.embedding(w, ids),
      ref: ([w, ids]) => R.embedding(w, ids),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Neural-network ops

function nnCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const [name, fn, rf] of [
    ['softmax', ops.softmax, R.softmax],
    ['logSoftmax', ops.logSoftmax, R.logSoftmax],
  ] as const) {
    cases.push(
      {
        name: `${name}/last`,
        class: 'reduce',
        inputs: [f32([3, 5], gens.normal(2))],
        run: ([x]) => fn(x),
        ref: ([x]) => rf(x),
      },
      {
        name: `${name}/axis0`,
        class: 'reduce',
        inputs: [f32([4, 3], gens.normal(2))],
        run: ([x]) => fn(x, 0),
        ref: ([x]) => rf(x, 0),
      },
      {
        name: `${name}/axis1-of-3d`,
        class: 'reduce',
        inputs: [f32([2, 3, 4], gens.normal(2))],
        run: ([x]) => fn(x, 1),
        ref: ([x]) => rf(x, 1),
      },
      // exp(100) overflows float32: only a max-subtracted implementation survives.
      {
        name: `${name}/large-logits`,
        class: 'reduce',
        inputs: [f32([2, 6], gens.uniform(97, 103))],
        run: ([x]) => fn(x),
        ref: ([x]) => rf(x),
      },
      {
        name: `${name}/long-row`,
        class: 'reduce',
        inputs: [f32([2, 300], gens.normal(3))],
        run: ([x]) => fn(x),
        ref: ([x]) => rf(x),
      },
      {
        // −∞ entries (a common way to mask) get probability 0; log-softmax is −∞ there, so its loss has no gradient
        name: `${name}/neg-inf`,
        class: 'reduce',
        inputs: [f32([2, 4], gens.values([0.5, -Infinity, 1, -Infinity, -Infinity, 2, -1, 0]))],
        run: ([x]) => fn(x),
        ref: ([x]) => rf(x),
        grad: name === 'softmax',
      },
    );
  }

  // Labels with ignored (-100) entries.
  const labels6 = [2, -100, 4, 0, -100, 1];
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    cases.push({
      name: `crossEntropy/${reduction}`,
      class: 'reduce',
      inputs: [f32([2, 3, 5], gens.normal(2)), i32([2, 3], gens.values(labels6))],
      run: ([l, y]) => ops.crossEntropy(l, y, { reduction }),
      ref: ([l, y]) => R.crossEntropy(l, y, { reduction }),
    });
  }
  cases.push(
    {
      name: 'crossEntropy/ignore-index-custom',
      class: 'reduce',
      inputs: [f32([6, 4], gens.normal(2)), i32([6], gens.values([1, 3, 1, 0, 2, 1]))],
      run: ([l, y]) => ops.crossEntropy(l, y, { ignoreIndex: 1 }),
      ref: ([l, y]) => R.crossEntropy(l, y, { ignoreIndex: 1 }),
    },
    {
      name: 'crossEntropy/no-ignored',
      class: 'reduce',
      inputs: [f32([4, 7], gens.normal(2)), i32([4], gens.values([6, 0, 3, 3]))],
      run: ([l, y]) => ops.crossEntropy(l, y),
      ref: ([l, y]) => R.crossEntropy(l, y),
    },
    {
      name: 'crossEntropy/rank1',
      class: 'reduce',
      inputs: [f32([5], gens.normal(2)), i32([], gens.values([3]))],
      run: ([l, y]) => ops.crossEntropy(l, y),
      ref: ([l, y]) => R.crossEntropy(l, y),
    },
    {
      name: 'crossEntropy/large-logits',
      class: 'reduce',
      inputs: [f32([3, 4], gens.uniform(95, 105)), i32([3], gens.values([0, 3, 2]))],
      run: ([l, y]) => ops.crossEntropy(l, y, { reduction: 'sum' }),
      ref: ([l, y]) => R.crossEntropy(l, y, { reduction: 'sum' }),
    },
    {
      // PyTorch gives NaN for a mean over zero targets.
      name: 'crossEntropy/all-ignored-mean',
      class: 'reduce',
      inputs: [frozen([2, 3]), i32([2], gens.values([-100, -100]))],
      run: ([l, y]) => ops.crossEntropy(l, y),
      ref: ([l, y]) => R.crossEntropy(l, y),
      grad: false,
    },
    {
      name: 'crossEntropy/all-ignored-sum',
      class: 'reduce',
      inputs: [f32([2, 3]), i32([2], gens.values([-100, -100]))],
      run: ([l, y]) => ops.crossEntropy(l, y, { reduction: 'sum' }),
      ref: ([l, y]) => R.crossEntropy(l, y, { reduction: 'sum' }),
    },
  );

  const xNorm = () => f32([2, 3, 8], gens.normal(2, 0.5));
  cases.push(
    {
      name: 'layerNorm/affine',
      class: 'reduce',
      inputs: [xNorm(), f32([8], gens.normal(1, 1)), f32([8])],
      run: ([x, w, b]) => ops.layerNorm(x, w, b),
      ref: ([x, w, b]) => R.layerNorm(x, w, b),
    },
    {
      name: 'layerNorm/plain',
      class: 'reduce',
      inputs: [xNorm()],
      run: ([x]) => ops.layerNorm(x),
      ref: ([x]) => R.layerNorm(x),
    },
    {
      name: 'layerNorm/eps',
      class: 'reduce',
      inputs: [f32([3, 4], gens.normal(0.3)), f32([4], gens.normal(1, 1))],
      run: ([x, w]) => ops.layerNorm(x, w, null, 0.1),
      ref: ([x, w]) => R.layerNorm(x, w, null, 0.1),
    },
    {
      name: 'layerNorm/frozen-affine',
      class: 'reduce',
      inputs: [xNorm(), frozen([8], gens.normal(1, 1)), frozen([8])],
      run: ([x, w, b]) => ops.layerNorm(x, w, b),
      ref: ([x, w, b]) => R.layerNorm(x, w, b),
    },
    {
      name: 'rmsNorm/weight',
      class: 'reduce',
      inputs: [xNorm(), f32([8], gens.normal(1, 1))],
      run: ([x, w]) => ops.rmsNorm(x, w),
      ref: ([x, w]) => R.rmsNorm(x, w),
    },
    {
      name: 'rmsNorm/plain',
      class: 'reduce',
      inputs: [xNorm()],
      run: ([x]) => ops.rmsNorm(x),
      ref: ([x]) => R.rmsNorm(x),
    },
    {
      name: 'rmsNorm/eps',
      class: 'reduce',
      inputs: [f32([3, 4], gens.normal(0.3)), f32([4], gens.normal(1, 1))],
      run: ([x, w]) => ops.rmsNorm(x, w, 0.1),
      ref: ([x, w]) => R.rmsNorm(x, w, 0.1),
    },
    // rows longer than a GPU workgroup (the fused kernels stride over a row), frozen weight as in PEFT training
    {
      name: 'rmsNorm/long-rows-frozen-weight',
      class: 'reduce',
      inputs: [f32([3, 150], gens.normal(2, 0.5)), frozen([150], gens.normal(1, 1))],
      run: ([x, w]) => ops.rmsNorm(x, w, 1e-5),
      ref: ([x, w]) => R.rmsNorm(x, w, 1e-5),
    },
    {
      name: 'rmsNorm/long-rows-weight',
      class: 'reduce',
      inputs: [f32([2, 2, 130], gens.normal(1.5)), f32([130], gens.normal(1, 1))],
      run: ([x, w]) => ops.rmsNorm(x, w),
      ref: ([x, w]) => R.rmsNorm(x, w),
    },
    {
      name: 'layerNorm/long-rows',
      class: 'reduce',
      inputs: [f32([3, 150], gens.normal(2, 0.5)), f32([150], gens.normal(1, 1)), f32([150])],
      run: ([x, w, b]) => ops.layerNorm(x, w, b),
      ref: ([x, w, b]) => R.layerNorm(x, w, b),
    },
    {
      name: 'layerNorm/bias-only',
      class: 'reduce',
      inputs: [xNorm(), f32([8])],
      run: ([x, b]) => ops.layerNorm(x, null, b),
      ref: ([x, b]) => R.layerNorm(x, null, b),
    },
  );

  // Rotary position embedding (LLaMA rotate-half form).
  cases.push(
    {
      name: 'rotaryTables/default',
      class: 'elementwise',
      inputs: [],
      run: () => {
        const t = ops.rotaryTables(6, 8);
        return [t.cos, t.sin];
      },
      ref: () => {
        const t = R.rotaryTables(6, 8);
        return [t.cos, t.sin];
      },
    },
    {
      name: 'rotaryTables/positions-base',
      class: 'elementwise',
      inputs: [],
      run: () => {
        const t = ops.rotaryTables([0, 3, 7, 100, 2047], 6, 500);
        return [t.cos, t.sin];
      },
      ref: () => {
        const t = R.rotaryTables([0, 3, 7, 100, 2047], 6, 500);
        return [t.cos, t.sin];
      },
    },
    {
      name: 'applyRotary/tables',
      class: 'elementwise',
      inputs: [f32([2, 2, 5, 8])],
      run: ([x]) => {
        const t = ops.rotaryTables(5, 8);
        return ops.applyRotary(x, t.cos, t.sin);
      },
      ref: ([x]) => {
        const t = R.rotaryTables(5, 8);
        return R.applyRotary(x, t.cos, t.sin);
      },
    },
    {
      name: 'applyRotary/arbitrary-tables',
      class: 'elementwise',
      inputs: [f32([2, 4, 6]), f32([4, 6]), f32([4, 6])],
      run: ([x, c, s]) => ops.applyRotary(x, c, s),
      ref: ([x, c, s]) => R.applyRotary(x, c, s),
    },
    {
      name: 'applyRotary/heads-leading-one-tables',
      class: 'elementwise',
      inputs: [f32([2, 3, 4, 70]), frozen([1, 4, 70]), frozen([1, 4, 70])],
      run: ([x, c, s]) => ops.applyRotary(x, c, s),
      ref: ([x, c, s]) => R.applyRotary(x, c, s),
    },
    {
      name: 'applyRotary/broadcast-batch-table',
      class: 'elementwise',
      inputs: [f32([2, 3, 6]), f32([2, 1, 6]), f32([2, 1, 6])],
      run: ([x, c, s]) => ops.applyRotary(x, c, s),
      ref: ([x, c, s]) => R.applyRotary(x, c, s),
    },
  );

  // LLaMA's split heads + rotary in one op: [B, T, H·D] → [B, H, T, D]
  const rotaryHeadsRef = (x: Ref, heads: number, c: Ref, s: Ref) => {
    const [b, t, hd] = x.shape;
    return R.applyRotary(R.transpose(R.reshape(x, [b, t, heads, hd / heads]), 1, 2), c, s);
  };
  cases.push(
    {
      name: 'applyRotaryHeads/tables',
      class: 'elementwise',
      inputs: [f32([2, 5, 3 * 8])],
      run: ([x]) => {
        const t = ops.rotaryTables(5, 8);
        return ops.applyRotaryHeads(x, 3, t.cos, t.sin);
      },
      ref: ([x]) => {
        const t = R.rotaryTables(5, 8);
        return rotaryHeadsRef(x, 3, t.cos, t.sin);
      },
    },
    {
      name: 'applyRotaryHeads/trainable-tables',
      class: 'elementwise',
      inputs: [f32([2, 4, 2 * 6]), f32([4, 6]), f32([4, 6])],
      run: ([x, c, s]) => ops.applyRotaryHeads(x, 2, c, s),
      ref: ([x, c, s]) => rotaryHeadsRef(x, 2, c, s),
    },
    {
      name: 'applyRotaryHeads/one-position',
      class: 'elementwise',
      inputs: [f32([3, 1, 4 * 10]), frozen([1, 10]), frozen([1, 10])],
      run: ([x, c, s]) => ops.applyRotaryHeads(x, 4, c, s),
      ref: ([x, c, s]) => rotaryHeadsRef(x, 4, c, s),
    },
  );

  // SwiGLU's silu(gate)·up and LoRA's base + x·scale (fused kernels where the backend has them).
  cases.push(
    {
      name: 'siluMul/basic',
      class: 'elementwise',
      inputs: [f32([5, 37], gens.uniform(-5, 5)), f32([5, 37])],
      run: ([g, u]) => ops.siluMul(g, u),
      ref: ([g, u]) => R.mul(R.silu(g), u),
    },
    {
      name: 'siluMul/broadcast-up',
      class: 'elementwise',
      inputs: [f32([3, 4], gens.uniform(-5, 5)), f32([4])],
      run: ([g, u]) => ops.siluMul(g, u),
      ref: ([g, u]) => R.mul(R.silu(g), u),
    },
    {
      name: 'addScaled/basic',
      class: 'elementwise',
      inputs: [f32([7, 37]), f32([7, 37])],
      run: ([b, x]) => ops.addScaled(b, x, 0.37),
      ref: ([b, x]) =>
        R.add(
          b,
          R.map(x, (v) => v * 0.37),
        ),
    },
    {
      name: 'addScaled/broadcast',
      class: 'elementwise',
      inputs: [f32([3, 4]), f32([4])],
      run: ([b, x]) => ops.addScaled(b, x, -2),
      ref: ([b, x]) =>
        R.add(
          b,
          R.map(x, (v) => -2 * v),
        ),
    },
  );

  // Attention.
  const B = 2;
  const H = 2;
  const D = 4;
  const qkv = (tq: number, tk: number, dv = D, kvHeads = H) => [
    f32([B, H, tq, D]),
    f32([B, kvHeads, tk, D]),
    f32([B, kvHeads, tk, dv]),
  ];
  // Hugging Face's repeat_kv on a reference [B, Hkv, T, D]: each kv head n times in place
  const repeatHeads = (x: Ref, n: number) => {
    const [b, h, t, d] = x.shape;
    return R.reshape(R.expand(R.reshape(x, [b, h, 1, t, d]), [b, h, n, t, d]), [b, h * n, t, d]);
  };
  // padding: batch 0 sees 4 of 5 keys, batch 1 sees 2
  const pad = bool([B, 1, 1, 5], gens.values([1, 1, 1, 1, 0, 1, 0, 1, 0, 0]));
  cases.push(
    {
      name: 'scaledDotProductAttention/plain',
      class: 'matmul',
      inputs: qkv(3, 5, 3),
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v),
      ref: ([q, k, v]) => R.scaledDotProductAttention(q, k, v),
    },
    {
      name: 'scaledDotProductAttention/causal',
      class: 'matmul',
      inputs: qkv(4, 4),
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v, { causal: true }),
      ref: ([q, k, v]) => R.scaledDotProductAttention(q, k, v, { causal: true }),
    },
    {
      // Tq < Tk (decoding with a cache): query i sees keys j ≤ i + Tk − Tq.
      name: 'scaledDotProductAttention/causal-offset',
      class: 'matmul',
      inputs: qkv(2, 5),
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v, { causal: true }),
      ref: ([q, k, v]) => R.scaledDotProductAttention(q, k, v, { causal: true }),
    },
    {
      name: 'scaledDotProductAttention/padding-mask',
      class: 'matmul',
      inputs: [...qkv(3, 5), pad],
      run: ([q, k, v, m]) => ops.scaledDotProductAttention(q, k, v, { mask: m }),
      ref: ([q, k, v, m]) => R.scaledDotProductAttention(q, k, v, { mask: m }),
    },
    {
      name: 'scaledDotProductAttention/causal-padding',
      class: 'matmul',
      inputs: [...qkv(5, 5), pad],
      run: ([q, k, v, m]) => ops.scaledDotProductAttention(q, k, v, { causal: true, mask: m }),
      ref: ([q, k, v, m]) => R.scaledDotProductAttention(q, k, v, { causal: true, mask: m }),
    },
    {
      // Batch 1 masks every key: its rows average all values uniformly (no NaN).
      name: 'scaledDotProductAttention/fully-masked-row',
      class: 'matmul',
      inputs: [...qkv(2, 3), bool([B, 1, 1, 3], gens.values([1, 0, 1, 0, 0, 0]))],
      run: ([q, k, v, m]) => ops.scaledDotProductAttention(q, k, v, { mask: m }),
      ref: ([q, k, v, m]) => R.scaledDotProductAttention(q, k, v, { mask: m }),
    },
    {
      name: 'scaledDotProductAttention/scale',
      class: 'matmul',
      inputs: qkv(3, 3),
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v, { scale: 0.3 }),
      ref: ([q, k, v]) => R.scaledDotProductAttention(q, k, v, { scale: 0.3 }),
    },
    {
      // Grouped-query attention: 4 query heads over 2 kv heads, as Hugging Face's repeat_kv repeats them.
      name: 'scaledDotProductAttention/gqa-causal-padding',
      class: 'matmul',
      inputs: [f32([B, 4, 5, D]), f32([B, 2, 5, D]), f32([B, 2, 5, 3]), pad],
      run: ([q, k, v, m]) => ops.scaledDotProductAttention(q, k, v, { causal: true, mask: m, enableGqa: true }),
      ref: ([q, k, v, m]) =>
        R.scaledDotProductAttention(q, repeatHeads(k, 2), repeatHeads(v, 2), { causal: true, mask: m }),
    },
    {
      name: 'scaledDotProductAttention/gqa-offset',
      class: 'matmul',
      inputs: [f32([B, 6, 2, D]), f32([B, 2, 5, D]), f32([B, 2, 5, D])],
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v, { causal: true, enableGqa: true, scale: 0.4 }),
      ref: ([q, k, v]) =>
        R.scaledDotProductAttention(q, repeatHeads(k, 3), repeatHeads(v, 3), { causal: true, scale: 0.4 }),
    },
    {
      // One key/value head shared by all query heads (broadcast batch axes).
      name: 'scaledDotProductAttention/shared-kv-head',
      class: 'matmul',
      inputs: qkv(3, 4, D, 1),
      run: ([q, k, v]) => ops.scaledDotProductAttention(q, k, v, { causal: true }),
      ref: ([q, k, v]) => R.scaledDotProductAttention(q, k, v, { causal: true }),
    },
    {
      // Dropout on the probabilities: the mask is uniformAt(key, i) ≥ p for a fresh generator (counter 0).
      name: 'scaledDotProductAttention/dropout',
      class: 'matmul',
      inputs: qkv(3, 4),
      run: ([q, k, v]) =>
        ops.scaledDotProductAttention(q, k, v, { causal: true, dropout: { p: 0.25, generator: new Generator(99) } }),
      ref: ([q, k, v]) => {
        const key = new Generator(99).key;
        const shape = [B, H, 3, 4];
        const mask = R.ref(
          shape,
          Array.from({ length: R.numel(shape) }, (_, i) => (uniformAt(key, i) >= 0.25 ? 1 / 0.75 : 0)),
        );
        return R.scaledDotProductAttention(q, k, v, { causal: true, dropMask: mask });
      },
    },
  );

  // maskedSoftmax: the attention probabilities on their own (a fused kernel where the backend has one)
  const maskedRef = (x: Ref, scale: number, causal: boolean, mask: Ref | null): Ref => {
    const tk = x.shape[x.shape.length - 1];
    const tq = x.shape[x.shape.length - 2];
    const allowed = mask ? R.expand(mask, x.shape) : null;
    const out = R.ref(x.shape);
    for (let r = 0; r < out.data.length / tk; r++) {
      const i = r % tq;
      const ok = Array.from({ length: tk }, (_, j) => (!causal || j <= i + tk - tq) && allowed?.data[r * tk + j] !== 0);
      if (!ok.some(Boolean)) {
        for (let j = 0; j < tk; j++) out.data[r * tk + j] = 1 / tk; // every score is the same lowest value
        continue;
      }
      let mx = -Infinity;
      for (let j = 0; j < tk; j++) if (ok[j]) mx = Math.max(mx, x.data[r * tk + j] * scale);
      let z = 0;
      for (let j = 0; j < tk; j++) if (ok[j]) z += Math.exp(x.data[r * tk + j] * scale - mx);
      for (let j = 0; j < tk; j++) out.data[r * tk + j] = ok[j] ? Math.exp(x.data[r * tk + j] * scale - mx) / z : 0;
    }
    return out;
  };
  const padMask = bool([2, 1, 1, 5], gens.values([1, 1, 1, 0, 1, 0, 1, 1, 0, 0]));
  cases.push(
    {
      name: 'maskedSoftmax/causal',
      class: 'reduce',
      inputs: [f32([2, 3, 4, 4])],
      run: ([x]) => ops.maskedSoftmax(x, { scale: 0.5, causal: true }),
      ref: ([x]) => maskedRef(x, 0.5, true, null),
    },
    {
      // Tq < Tk: query i sees keys j ≤ i + Tk − Tq
      name: 'maskedSoftmax/causal-offset',
      class: 'reduce',
      inputs: [f32([2, 2, 3, 5])],
      run: ([x]) => ops.maskedSoftmax(x, { scale: 0.7, causal: true }),
      ref: ([x]) => maskedRef(x, 0.7, true, null),
    },
    {
      name: 'maskedSoftmax/padding',
      class: 'reduce',
      inputs: [f32([2, 3, 4, 5]), padMask],
      run: ([x, m]) => ops.maskedSoftmax(x, { scale: 1.3, mask: m }),
      ref: ([x, m]) => maskedRef(x, 1.3, false, m),
    },
    {
      // batch 1 masks keys 2–4, and causality hides keys 1–4 from query 0: that row is fully masked (uniform)
      name: 'maskedSoftmax/causal-padding',
      class: 'reduce',
      inputs: [f32([2, 2, 5, 5]), bool([2, 1, 1, 5], gens.values([1, 1, 0, 1, 1, 0, 1, 0, 0, 0]))],
      run: ([x, m]) => ops.maskedSoftmax(x, { scale: 0.4, causal: true, mask: m }),
      ref: ([x, m]) => maskedRef(x, 0.4, true, m),
    },
    {
      name: 'maskedSoftmax/unmasked',
      class: 'reduce',
      inputs: [f32([3, 6])],
      run: ([x]) => ops.maskedSoftmax(x, { scale: 2 }),
      ref: ([x]) => maskedRef(x, 2, false, null),
    },
  );

  // adamwStep: torch's AdamW update in float64 (m, v and the parameter are all outputs)
  const adamRef = (p: Ref, g: Ref, m: Ref | null, v: Ref | null, o: ops.AdamWStepOptions): Ref[] => {
    const m2 = R.ref(p.shape);
    const v2 = R.ref(p.shape);
    const p2 = R.ref(p.shape);
    for (let i = 0; i < p.data.length; i++) {
      m2.data[i] = (m ? o.beta1 * m.data[i] : 0) + (1 - o.beta1) * g.data[i];
      v2.data[i] = (v ? o.beta2 * v.data[i] : 0) + (1 - o.beta2) * g.data[i] ** 2;
      const denom = Math.sqrt(v2.data[i]) / Math.sqrt(1 - o.beta2 ** o.step) + o.eps;
      p2.data[i] = p.data[i] * (1 - o.lr * o.weightDecay) - (o.lr / (1 - o.beta1 ** o.step)) * (m2.data[i] / denom);
    }
    return [p2, m2, v2];
  };
  const adamOpts = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 };
  cases.push(
    {
      name: 'adamwStep/first-step',
      class: 'elementwise',
      inputs: [frozen([4, 6]), frozen([4, 6])],
      grad: false,
      run: ([p, g]) => {
        const r = ops.adamwStep(p, g, null, null, { ...adamOpts, step: 1 });
        return [r.param, r.m, r.v];
      },
      ref: ([p, g]) => adamRef(p, g, null, null, { ...adamOpts, step: 1 }),
    },
    {
      name: 'adamwStep/with-state',
      class: 'elementwise',
      inputs: [frozen([3, 5]), frozen([3, 5]), frozen([3, 5]), frozen([3, 5], gens.uniform(0.01, 2))],
      grad: false,
      run: ([p, g, m, v]) => {
        const r = ops.adamwStep(p, g, m, v, adamOpts);
        return [r.param, r.m, r.v];
      },
      ref: ([p, g, m, v]) => adamRef(p, g, m, v, adamOpts),
    },
    {
      name: 'adamwStep/no-weight-decay',
      class: 'elementwise',
      inputs: [frozen([7]), frozen([7]), frozen([7]), frozen([7], gens.uniform(0.01, 2))],
      grad: false,
      run: ([p, g, m, v]) => {
        const r = ops.adamwStep(p, g, m, v, { ...adamOpts, weightDecay: 0, step: 10 });
        return [r.param, r.m, r.v];
      },
      ref: ([p, g, m, v]) => adamRef(p, g, m, v, { ...adamOpts, weightDecay: 0, step: 10 }),
    },
  );

  // sumSquares: Σ x² over many tensors (more than one WebGPU dispatch holds) and a running total, in float64
  const sqRef = (xs: Ref[], acc: Ref | null): Ref => {
    let total = acc ? acc.data[0] : 0;
    for (const x of xs) for (let i = 0; i < x.data.length; i++) total += x.data[i] ** 2;
    return R.ref([1], [total]);
  };
  cases.push(
    {
      name: 'sumSquares/one',
      class: 'reduce',
      inputs: [frozen([6, 9])],
      grad: false,
      run: ([x]) => ops.sumSquares(x),
      ref: ([x]) => sqRef([x], null),
    },
    {
      name: 'sumSquares/many-with-acc',
      class: 'reduce',
      inputs: [...Array.from({ length: 17 }, (_, i) => frozen([(i % 3) + 1, 5 + i])), frozen([1], gens.uniform(0, 3))],
      grad: false,
      run: (xs) => ops.sumSquares(xs.slice(0, -1), xs[xs.length - 1]),
      ref: (xs) => sqRef(xs.slice(0, -1), xs[xs.length - 1]),
    },
  );

  // stepStats and the controlled AdamW step: clipping, bias corrections from the table, skipped steps
  const statsRef = (sumsq: number, maxNorm: number, skip: number, skips: number, table: Ref, d: number): Ref => {
    const norm = Math.sqrt(sumsq);
    const coef = maxNorm / (norm + 1e-6);
    return R.ref([8], [norm, coef, coef < 1 ? 1 : 0, skip, skips, table.data[2 * d], table.data[2 * d + 1], 0]);
  };
  cases.push(
    {
      name: 'stepStats/clip',
      class: 'elementwise',
      inputs: [frozen([1], gens.uniform(2, 9)), frozen([3]), frozen([6], gens.uniform(0.1, 1))],
      grad: false,
      run: ([s, l, t]) => ops.stepStats(s, l, t, null, { maxNorm: 1, sticky: true, skipBase: 0 }),
      ref: ([s, , t]) => statsRef(s.data[0], 1, 0, 0, t, 0),
    },
    {
      name: 'stepStats/skip-then-chain',
      class: 'elementwise',
      inputs: [frozen([1], gens.uniform(2, 9)), frozen([2]), frozen([6], gens.uniform(0.1, 1))],
      grad: false,
      run: ([s, l, t]) => {
        const o = { maxNorm: 1e30, sticky: false, skipBase: 0 };
        const first = ops.stepStats(s, ops.mul(l, Number.NaN), t, null, o);
        return [first, ops.stepStats(s, l, t, first, o)];
      },
      ref: ([s, , t]) => [statsRef(s.data[0], 1e30, 1, 1, t, 0), statsRef(s.data[0], 1e30, 0, 1, t, 1)],
    },
  );
  const ctlInputs = [
    frozen([3, 5]),
    frozen([3, 5]),
    frozen([3, 5]),
    frozen([3, 5], gens.uniform(0.01, 2)),
    frozen([1], gens.uniform(2, 9)),
    frozen([1]),
    frozen([2], gens.uniform(0.1, 1)),
  ];
  const ctlOpts = { maxNorm: 1, sticky: false, skipBase: 0 };
  cases.push(
    {
      name: 'adamwStep/controlled-clip',
      class: 'elementwise',
      inputs: ctlInputs,
      grad: false,
      run: ([p, g, m, v, s, l, t]) => {
        const r = ops.adamwStep(p, g, m, v, adamOpts, ops.stepStats(s, l, t, null, ctlOpts));
        return [r.param, r.m, r.v];
      },
      ref: ([p, g, m, v, s, , t]) => {
        const coef = 1 / (Math.sqrt(s.data[0]) + 1e-6);
        const gc = R.ref(
          g.shape,
          Array.from(g.data, (x) => x * coef),
        );
        // the table's pair stands for lr/(1−β₁ᵗ) and √(1−β₂ᵗ): solve for an equivalent lr and t-free reference
        const [stepSize, bc2] = [t.data[0], t.data[1]];
        const m2 = R.ref(p.shape);
        const v2 = R.ref(p.shape);
        const p2 = R.ref(p.shape);
        for (let i = 0; i < p.data.length; i++) {
          m2.data[i] = adamOpts.beta1 * m.data[i] + (1 - adamOpts.beta1) * gc.data[i];
          v2.data[i] = adamOpts.beta2 * v.data[i] + (1 - adamOpts.beta2) * gc.data[i] ** 2;
          const denom = Math.sqrt(v2.data[i]) / bc2 + adamOpts.eps;
          p2.data[i] = p.data[i] * (1 - adamOpts.lr * adamOpts.weightDecay) - stepSize * (m2.data[i] / denom);
        }
        return [p2, m2, v2];
      },
    },
    {
      name: 'adamwStep/controlled-skip',
      class: 'exact',
      inputs: ctlInputs,
      grad: false,
      run: ([p, g, m, v, s, l, t]) => {
        const r = ops.adamwStep(p, g, m, v, adamOpts, ops.stepStats(s, ops.mul(l, Number.NaN), t, null, ctlOpts));
        return [r.param, r.m, r.v];
      },
      ref: ([p, , m, v]) => [p, m, v],
    },
  );

  cases.push({
    name: 'dropout/fixed-generator',
    class: 'elementwise',
    inputs: [f32([4, 8])],
    run: ([x]) => ops.dropout(x, 0.4, { generator: new Generator(5) }),
    ref: ([x]) => {
      const key = new Generator(5).key;
      return R.zipN(
        [
          x,
          R.ref(
            x.shape,
            Array.from(x.data, (_, i) => i),
          ),
        ],
        (v, i) => (uniformAt(key, i) >= Math.fround(0.4) ? v / 0.6 : 0),
      );
    },
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Creation

function creationCases(): OpCase[] {
  const c = (name: string, run: () => Tensor, want: Ref, outDType: DType = 'f32'): OpCase => ({
    name,
    class: 'exact',
    inputs: [],
    run: () => run(),
    ref: () => want,
    outDType,
  });
  return [
    c(
      'tensor/nested',
      () =>
        ops.tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      R.ref([2, 3], [1, 2, 3, 4, 5, 6]),
    ),
    c('tensor/flat-with-shape', () => ops.tensor([1, 2, 3, 4, 5, 6], [3, 1, 2]), R.ref([3, 1, 2], [1, 2, 3, 4, 5, 6])),
    c('tensor/scalar', () => ops.tensor(3.25), R.ref([], [3.25])),
    c('tensor/float32array', () => ops.tensor(new Float32Array([0.1, -2])), R.ref([2], [Math.fround(0.1), -2])),
    c('tensor/int32array', () => ops.tensor(new Int32Array([7, -8, 9])), R.ref([3], [7, -8, 9]), 'i32'),
    c('tensor/uint8array', () => ops.tensor(new Uint8Array([1, 0, 1])), R.ref([3], [1, 0, 1]), 'bool'),
    c(
      'tensor/booleans',
      () => ops.tensor([true, false, false, true], [2, 2], { dtype: 'bool' }),
      R.ref([2, 2], [1, 0, 0, 1]),
      'bool',
    ),
    c('tensor/dtype-i32', () => ops.tensor([1, -2, 3], [3], { dtype: 'i32' }), R.ref([3], [1, -2, 3]), 'i32'),
    c('tensor/empty', () => ops.tensor([], [0, 3]), R.ref([0, 3])),
    c('zeros/f32', () => ops.zeros([2, 3]), R.ref([2, 3])),
    c('zeros/i32', () => ops.zeros([4], { dtype: 'i32' }), R.ref([4]), 'i32'),
    c('ones/f32', () => ops.ones([3, 2]), R.ref([3, 2], [1, 1, 1, 1, 1, 1])),
    c('ones/bool', () => ops.ones([2], { dtype: 'bool' }), R.ref([2], [1, 1]), 'bool'),
    c('full/f32', () => ops.full([2, 2], -1.5), R.ref([2, 2], [-1.5, -1.5, -1.5, -1.5])),
    c('full/i32', () => ops.full([3], 7, { dtype: 'i32' }), R.ref([3], [7, 7, 7]), 'i32'),
    c('full/rank0', () => ops.full([], 2.5), R.ref([], [2.5])),
    c('scalar/f32', () => ops.scalar(0.5), R.ref([], [0.5])),
    c('zerosLike/i32', () => ops.zerosLike(ops.tensor(new Int32Array([1, 2, 3, 4]), [2, 2])), R.ref([2, 2]), 'i32'),
    c('onesLike/f32', () => ops.onesLike(ops.zeros([2, 1])), R.ref([2, 1], [1, 1])),
    c('arange/end', () => ops.arange(5), R.ref([5], [0, 1, 2, 3, 4]), 'i32'),
    c('arange/start-end-step', () => ops.arange(2, 11, 3), R.ref([3], [2, 5, 8]), 'i32'),
    c('arange/negative-step', () => ops.arange(5, 0, -2), R.ref([3], [5, 3, 1]), 'i32'),
    c('arange/empty', () => ops.arange(3, 3), R.ref([0]), 'i32'),
    c('arange/f32', () => ops.arange(0, 1, 0.25, { dtype: 'f32' }), R.ref([4], [0, 0.25, 0.5, 0.75])),
    // a fractional bound or step makes the default dtype f32 (PyTorch), not an i32 truncation to zeros
    c('arange/fractional-default-f32', () => ops.arange(0, 1, 0.25), R.ref([4], [0, 0.25, 0.5, 0.75])),
    c('arange/fractional-end', () => ops.arange(2.5), R.ref([3], [0, 1, 2])),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor methods (the chainable forms call the same ops)

function methodCases(): OpCase[] {
  return [
    {
      name: 'methods/elementwise-chain',
      class: 'elementwise',
      inputs: [f32([3, 4], gens.uniform(0.5, 2)), f32([4], gens.uniform(0.5, 2))],
      run: ([x, y]) =>
        x
          .add(y)
          .sub(0.25)
          .mul(y)
          .div(y.add(1))
          .pow(1.5)
          .sqrt()
          .log()
          .exp()
          .rsqrt()
          .abs()
          .square()
          .tanh()
          .sigmoid()
          .neg(),
      ref: ([x, y]) => {
        let t = R.add(x, y);
        t = R.sub(t, R.scalarRef(0.25));
        t = R.mul(t, y);
        t = R.div(t, R.add(y, R.scalarRef(1)));
        t = R.pow(t, R.scalarRef(1.5));
        t = R.neg(R.sigmoid(R.tanh(R.square(R.abs(R.rsqrt(R.exp(R.log(R.sqrt(t)))))))));
        return t;
      },
    },
    {
      name: 'methods/activation-chain',
      class: 'elementwise',
      inputs: [f32([2, 5], gens.uniform(-3, 3))],
      run: ([x]) => x.relu().add(x.silu()).add(x.gelu()).add(x.gelu('tanh')),
      ref: ([x]) => R.add(R.add(R.add(R.relu(x), R.silu(x)), R.gelu(x)), R.geluTanh(x)),
    },
    {
      name: 'methods/shape-reduce-chain',
      class: 'reduce',
      inputs: [f32([2, 3, 4]), f32([4, 5])],
      run: ([x, w]) =>
        x
          .matmul(w)
          .transpose()
          .permute([1, 0, 2])
          .reshape([5, -1])
          .slice([1, 0], [3, -1])
          .softmax()
          .logSoftmax()
          .expand([2, 3, 6])
          .sum(0)
          .mean(-1, true)
          .max([0, 1]),
      ref: ([x, w]) => {
        let t = R.matmul(x, w);
        t = R.transpose(t);
        t = R.permute(t, [1, 0, 2]);
        t = R.reshape(t, [5, -1]);
        t = R.slice(t, [1, 0], [3, -1]);
        t = R.logSoftmax(R.softmax(t));
        t = R.expand(t, [2, 3, 6]);
        return R.max(R.mean(R.sum(t, 0), -1, true), [0, 1]);
      },
    },
    {
      name: 'methods/cast',
      class: 'exact',
      inputs: [frozen([2, 3], gens.uniform(-3, 3))],
      run: ([x]) => x.cast('i32'),
      ref: ([x]) => R.cast(x, 'i32'),
      outDType: 'i32',
    },
  ];
}

/** Every op case of the suite, in declaration order. */
export function opCases(): OpCase[] {
  return [
    ...unaryCases(),
    ...binaryCases(),
    ...compareCases(),
    ...selectionCases(),
    ...castCases(),
    ...reduceCases(),
    ...matmulCases(),
    ...shapeCases(),
    ...nnCases(),
    ...creationCases(),
    ...methodCases(),
    ...topkCases(),
  ];
}
