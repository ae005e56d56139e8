/**
 * The op-conformance suite, parameterised by backend: every op forward against float64 reference values and every
 * gradient against central finite differences of the float64 reference, plus random numbers, dropout, typed errors,
 * autograd semantics and memory accounting.
 *
 * ```ts
 * // packages/kernels-webgpu/test/conformance.webgpu.test.ts
 * import { describeOpConformance } from '@peftjs/tensor/testing';
 * describeOpConformance({
 *   backendName: 'webgpu',
 *   setup: async () => registerWebGpuBackend(),
 *   tolerances: { matmul: { forward: 1e-4 } },
 *   exclude: { 'errors/KernelError/gather-index': 'indices are not validated on the device' },
 * });
 * ```
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dispose, tidy } from '../autograd.js';
import type { DType } from '../dtype.js';
import { getBackend, memory, setBackend } from '../engine.js';
import * as ops from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { type OpCase, type ToleranceClass, opCases } from './cases.js';
import {
  Rng,
  compareValues,
  finiteDifference,
  gens,
  keyMatches,
  roundTo,
  seedFromName,
  weightedSum,
} from './harness.js';
import * as R from './reference.js';
import type { Ref } from './reference.js';
import { referenceTests } from './selfcheck.js';
import { specialTests } from './special.js';

/** Relative-error bounds of one test: `forward` for values, `grad` for gradients. */
export interface Tolerance {
  forward?: number;
  grad?: number;
}

export interface OpConformanceOptions {
  /** Name the backend is registered under (`setBackend(backendName)` runs before the tests). */
  backendName: string;
  /** Runs before `setBackend`, e.g. to register the backend. */
  setup?: () => Promise<void>;
  /**
   * Tolerance overrides keyed by test id or any `/`-prefix of one ('matmul', 'matmul/transB',
   * 'softmax/long-row/grad'); the longest key that sets a field wins.
   */
  tolerances?: Partial<Record<string, Tolerance>>;
  /**
   * Tests to skip, keyed by test id or `/`-prefix, each with the reason (required, non-empty). Keys that match no
   * test are an error, so the list cannot go stale silently.
   */
  exclude?: Record<string, string>;
}

/**
 * Default relative tolerances per kind of op. Forward: max|ours − ref| / max|ref|. Gradients: against central
 * differences of the float64 reference (or an analytic float64 gradient), max|ours − fd| / max(max|fd|, 1e-3).
 */
export const DEFAULT_TOLERANCES: Readonly<Record<ToleranceClass, Required<Tolerance>>> = {
  /** Data movement, comparisons, integer arithmetic, casts: bit-exact. */
  exact: { forward: 0, grad: 1e-4 },
  /**
   * The CPU backend stays below 1e-6 forward and 2e-6 on gradients (f32 analytic vs f64 differences) everywhere;
   * these defaults leave a wide margin for other float32 backends yet catch a 0.1% error in a derivative.
   */
  elementwise: { forward: 1e-5, grad: 1e-4 },
  reduce: { forward: 1e-5, grad: 1e-4 },
  matmul: { forward: 1e-5, grad: 1e-4 },
};

const GRAD_FLOOR = 1e-3;

export type ConformanceTestKind = 'forward' | 'grad' | 'special';

export interface ConformanceTest {
  /** Stable id: `<case>/forward`, `<case>/grad`, or the special test's name. */
  id: string;
  kind: ConformanceTestKind;
  run: (tol: Required<Tolerance>) => Promise<void>;
  /** Default tolerances of the test. */
  tolerance: Required<Tolerance>;
}

const asList = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

function outDTypes(c: OpCase, n: number): DType[] {
  const d = c.outDType ?? 'f32';
  return Array.isArray(d) ? d : Array.from({ length: n }, () => d);
}

function isDifferentiable(c: OpCase): boolean {
  if (c.grad !== undefined) return c.grad;
  const outs = c.outDType === undefined ? ['f32'] : asList(c.outDType);
  return c.inputs.some((s) => s.dtype === 'f32' && s.grad) && outs.every((d) => d === 'f32');
}

interface Inputs {
  tensors: Tensor[];
  refs: Ref[];
  rng: Rng;
}

function makeInputs(c: OpCase, withGrad: boolean): Inputs {
  const rng = new Rng(seedFromName(c.name));
  const tensors: Tensor[] = [];
  const refs: Ref[] = [];
  for (const spec of c.inputs) {
    const n = R.numel(spec.shape);
    const vals = roundTo(spec.dtype, spec.gen(rng, n, spec.shape));
    refs.push(R.ref(spec.shape, vals));
    const typed =
      spec.dtype === 'f32'
        ? Float32Array.from(vals)
        : spec.dtype === 'i32'
          ? Int32Array.from(vals)
          : Uint8Array.from(vals);
    tensors.push(
      ops.tensor(typed, spec.shape, { dtype: spec.dtype, requiresGrad: withGrad && spec.dtype === 'f32' && spec.grad }),
    );
  }
  return { tensors, refs, rng };
}

function expectMemoryUnchanged(before: ReturnType<typeof memory>): void {
  const after = memory();
  expect(
    { tensors: after.tensors, buffers: after.buffers, bytes: after.bytes },
    'tensors or buffers leaked by the op (or by this check)',
  ).toEqual({ tensors: before.tensors, buffers: before.buffers, bytes: before.bytes });
}

async function checkOutputs(c: OpCase, outs: Tensor[], want: Ref[], tol: number, what: string): Promise<void> {
  expect(outs.length, `${what}: number of outputs`).toBe(want.length);
  const dtypes = outDTypes(c, want.length);
  for (let k = 0; k < want.length; k++) {
    const o = outs[k];
    const label = `${c.name} ${what} output ${k}`;
    expect(o.backend, `${label}: computed on another backend`).toBe(getBackend());
    expect([...o.shape], `${label}: shape`).toEqual(want[k].shape);
    expect(o.dtype, `${label}: dtype`).toBe(dtypes[k]);
    const got = await o.data();
    const arrayClass = { f32: Float32Array, i32: Int32Array, bool: Uint8Array, u8: Uint8Array, i8: Int8Array }[
      dtypes[k]
    ];
    expect(got, `${label}: data() of a ${dtypes[k]} tensor`).toBeInstanceOf(arrayClass);
    const cmp = compareValues(got, want[k].data, tol, 1e-6, label);
    expect(cmp.ok, cmp.message).toBe(true);
  }
}

async function runForward(c: OpCase, tol: Required<Tolerance>): Promise<void> {
  const before = memory();
  const { tensors, refs } = makeInputs(c, false);
  try {
    const want = asList(c.ref(refs.map(R.clone)));
    const outs = tidy(() => asList(c.run(tensors)));
    try {
      await checkOutputs(c, outs, want, tol.forward, 'forward');
    } finally {
      dispose(outs);
    }
  } finally {
    dispose(tensors);
  }
  expectMemoryUnchanged(before);
}

async function runGrad(c: OpCase, tol: Required<Tolerance>): Promise<void> {
  const before = memory();
  const { tensors, refs, rng } = makeInputs(c, true);
  try {
    const want = asList(c.ref(refs.map(R.clone)));
    const weights = want.map((w) => R.ref(w.shape, roundTo('f32', gens.normal()(rng, w.data.length, w.shape))));
    // L = Σ out·R on the backend, backward inside the scope that ran the forward pass
    const outs = tidy(() => {
      const o = asList(c.run(tensors));
      let loss: Tensor | null = null;
      o.forEach((t, k) => {
        const term = ops.sum(ops.mul(t, ops.tensor(Float32Array.from(weights[k].data), weights[k].shape)));
        loss = loss ? ops.add(loss, term) : term;
      });
      if (!loss) throw new Error(`${c.name}: the op returned no output`);
      (loss as Tensor).backward();
      return o.map((t) => t.detach());
    });
    try {
      // the forward values with autograd recording must be those without
      await checkOutputs(c, outs, want, tol.forward, 'forward (recording)');
    } finally {
      dispose(outs);
    }
    const expected = c.gradRef
      ? c.gradRef(refs.map(R.clone), weights)
      : tensors.map((t, i) =>
          t.requiresGrad
            ? finiteDifference((xs) => weightedSum(asList(c.ref(xs)), weights), refs.map(R.clone), i)
            : null,
        );
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      const label = `${c.name} gradient of input ${i} [${t.shape.join(', ')}]`;
      if (!t.requiresGrad) {
        expect(t.grad, `${label}: an input without requiresGrad got a gradient`).toBeNull();
        continue;
      }
      const e = expected[i];
      if (!e) throw new Error(`${label}: the case gives no expected gradient`);
      expect(t.grad, `${label}: missing`).not.toBeNull();
      const g = t.grad as Tensor;
      expect([...g.shape], `${label}: shape`).toEqual(e.shape);
      expect(g.dtype, `${label}: dtype`).toBe('f32');
      const cmp = compareValues(await g.data(), e.data, tol.grad, GRAD_FLOOR, label);
      expect(cmp.ok, cmp.message).toBe(true);
    }
  } finally {
    dispose(tensors);
  }
  expectMemoryUnchanged(before);
}

/** Every test of the suite, in order, with its stable id. */
export function conformanceTests(): ConformanceTest[] {
  const tests: ConformanceTest[] = [];
  for (const t of referenceTests()) {
    tests.push({ id: t.name, kind: 'special', tolerance: { forward: 0, grad: 0 }, run: async () => t.run() });
  }
  for (const c of opCases()) {
    const tolerance = DEFAULT_TOLERANCES[c.class];
    tests.push({ id: `${c.name}/forward`, kind: 'forward', tolerance, run: (tol) => runForward(c, tol) });
    if (isDifferentiable(c))
      tests.push({ id: `${c.name}/grad`, kind: 'grad', tolerance, run: (tol) => runGrad(c, tol) });
  }
  for (const t of specialTests()) {
    tests.push({ id: t.name, kind: 'special', tolerance: { forward: 0, grad: 0 }, run: async () => t.run() });
  }
  const seen = new Set<string>();
  for (const t of tests) {
    if (seen.has(t.id)) throw new Error(`conformance: duplicate test id '${t.id}'`);
    seen.add(t.id);
  }
  return tests;
}

/** The stable ids of every test (for writing exclusion lists). */
export function conformanceTestIds(): string[] {
  return conformanceTests().map((t) => t.id);
}

function resolveTolerance(
  id: string,
  defaults: Required<Tolerance>,
  table: Partial<Record<string, Tolerance>> | undefined,
): Required<Tolerance> {
  const out = { ...defaults };
  if (!table) return out;
  for (const field of ['forward', 'grad'] as const) {
    let bestLen = -1;
    for (const [key, tol] of Object.entries(table)) {
      const v = tol?.[field];
      if (v !== undefined && keyMatches(key, id) && key.length > bestLen) {
        bestLen = key.length;
        out[field] = v;
      }
    }
  }
  return out;
}

function validateOptions(options: OpConformanceOptions, ids: readonly string[]): void {
  if (!options.backendName) throw new Error('describeOpConformance: backendName is required');
  for (const [key, reason] of Object.entries(options.exclude ?? {})) {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`describeOpConformance: exclusion '${key}' needs a non-empty reason`);
    }
    if (!ids.some((id) => keyMatches(key, id))) {
      throw new Error(`describeOpConformance: exclusion '${key}' matches no test (see conformanceTestIds())`);
    }
  }
  for (const [key, tol] of Object.entries(options.tolerances ?? {})) {
    if (!ids.some((id) => keyMatches(key, id))) {
      throw new Error(`describeOpConformance: tolerance key '${key}' matches no test (see conformanceTestIds())`);
    }
    for (const v of [tol?.forward, tol?.grad]) {
      if (v !== undefined && !(v >= 0 && Number.isFinite(v))) {
        throw new Error(`describeOpConformance: tolerance '${key}' must be a finite number >= 0, got ${v}`);
      }
    }
  }
}

/** A test of the suite as it will run on one backend: its exclusion reason, or the tolerances it runs with. */
export interface PlannedTest {
  id: string;
  kind: ConformanceTestKind;
  /** The reason it is skipped, when an exclusion key matches it. */
  excluded?: string;
  tolerance: Required<Tolerance>;
  run: () => Promise<void>;
}

/**
 * Validate the options and resolve, for every test, whether it is excluded (longest matching key) and its tolerances
 * (per field, longest matching key that sets it, else the default of its op class). Throws on an exclusion without
 * a reason, a key that matches no test, or a negative / non-finite tolerance.
 */
export function planConformance(options: OpConformanceOptions): PlannedTest[] {
  const tests = conformanceTests();
  validateOptions(
    options,
    tests.map((t) => t.id),
  );
  const exclusionFor = (id: string): string | undefined => {
    let best: string | undefined;
    for (const key of Object.keys(options.exclude ?? {})) {
      if (keyMatches(key, id) && (best === undefined || key.length > best.length)) best = key;
    }
    return best === undefined ? undefined : options.exclude![best];
  };
  return tests.map((t) => {
    const tolerance = resolveTolerance(t.id, t.tolerance, options.tolerances);
    return { id: t.id, kind: t.kind, excluded: exclusionFor(t.id), tolerance, run: () => t.run(tolerance) };
  });
}

/**
 * Declare the conformance suite (vitest `describe` / `it` blocks) for one backend. Call it at the top level of a
 * test file. Throws at once if an exclusion has no reason or a key matches no test. Excluded tests are declared as
 * skipped, with their reason in the title.
 */
export function describeOpConformance(options: OpConformanceOptions): void {
  const plan = planConformance(options);
  describe(`op conformance [${options.backendName}]`, () => {
    beforeAll(async () => {
      await options.setup?.();
      await setBackend(options.backendName);
    });
    const groups = new Map<string, PlannedTest[]>();
    for (const t of plan) {
      const g = t.id.split('/')[0];
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(t);
    }
    for (const [group, list] of groups) {
      describe(group, () => {
        for (const t of list) {
          if (t.excluded !== undefined) it.skip(`${t.id} [excluded: ${t.excluded}]`, () => {});
          else it(t.id, t.run);
        }
      });
    }
  });
}
