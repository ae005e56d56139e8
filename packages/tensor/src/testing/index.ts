/**
 * Test utilities of @peftjs/tensor: the backend-parameterised op-conformance suite (vitest) and the independent
 * float64 reference it checks against.
 *
 * ```ts
 * import { describeOpConformance } from '@peftjs/tensor/testing';
 * describeOpConformance({ backendName: 'cpu' });
 * ```
 * @packageDocumentation
 */
export {
  DEFAULT_TOLERANCES,
  conformanceTestIds,
  conformanceTests,
  describeOpConformance,
  planConformance,
} from './conformance.js';
export type {
  ConformanceTest,
  ConformanceTestKind,
  OpConformanceOptions,
  PlannedTest,
  Tolerance,
} from './conformance.js';
export { opCases } from './cases.js';
export type { InputSpec, OpCase, ToleranceClass } from './cases.js';
export { Rng, compareValues, finiteDifference, gens, seedFromName, weightedSum } from './harness.js';
export type { Comparison, Gen } from './harness.js';
export * as reference from './reference.js';
export type { Ref } from './reference.js';
export { specialTests } from './special.js';
export type { SpecialTest } from './special.js';
