/**
 * `@peftjs/qr-adaptor`: QR-Adaptor (arXiv 2505.03802) — a gradient-free search over each linear module's base
 * bit width and LoRA rank under a memory budget: task-informed warm start from per-layer sensitivity, constrained
 * NSGA-II on (calibration loss, memory), Bayesian refinement (GP + expected improvement), with every measured plan
 * cached. The result is a plan file that realises as a quantized base plus a LoRA adapter with `rank_pattern` /
 * `alpha_pattern`.
 * @packageDocumentation
 */
export { MemoryPlanCache } from './cache.js';
export type { Fitness, PlanCache } from './cache.js';
export {
  cholesky,
  DEFAULT_KERNEL,
  expectedImprovement,
  GaussianProcess,
  matern52,
  normalCdf,
  normalPdf,
} from './gp.js';
export type { GpKernel } from './gp.js';
export { minMax, nearest, warmStart } from './init.js';
export type { Shaping } from './init.js';
export { defaultBaseBytes, MemoryModel } from './memory.js';
export type { MemoryModelOptions, ModuleMemory } from './memory.js';
export {
  atomicNeighbours,
  crossover,
  crowdingDistance,
  dominates,
  mutate,
  nonDominatedSort,
  rankAndCrowding,
  repair,
  selectSurvivors,
  tournament,
} from './nsga2.js';
export type { Scored, Sensitivity } from './nsga2.js';
export { makePlanFile, parsePlanFile, planBits, planChoices, PlanFileError, planToLoraConfig } from './plan.js';
export type { PlanFile } from './plan.js';
export { paretoOf, SearchError, searchPlans } from './search.js';
export { int8RoundTrip, nf4RoundTrip, QuantizerError, simulatedQuantizer, toFloat16 } from './quantizer.js';
export type { LayerQuantizer } from './quantizer.js';
export { bnbBaseBytes, bnbQuantizer } from './bnb.js';
export { linearModules, measureSensitivity, planFitness, quantizedCopy } from './fitness.js';
export type { FitnessOptions } from './fitness.js';
export type { EvaluatedPlan, SearchOptions, SearchProgress, SearchResult } from './search.js';
export {
  DEFAULT_SPACE,
  planKey,
  Rng,
  SearchSpaceError,
  uniformPlan,
  uniformPlans,
  validateSpace,
} from './space.js';
export type { LayerChoice, ModuleSpec, Plan, SearchSpace } from './space.js';
