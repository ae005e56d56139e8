export type { CompareOptions, CompareProgress, CompareTrainerOptions } from './compare.js';
export { compareMethods } from './compare.js';
export { comparisonFromJSON, comparisonToJSON, formatBytes, formatComparisonTable, formatMetrics } from './format.js';
export type { DefaultMethodOptions, MethodSpec } from './methods.js';
export {
  availableMethods,
  defaultMethodConfig,
  LLAMA_LINEAR_TARGETS,
  methodLabel,
  prepareModelFor,
  suggestedLearningRate,
  withSuggestedLearningRates,
} from './methods.js';
export type { Recommendation, RecommendedTraining, RecommendOptions, RecommendTask } from './recommend.js';
export { RECOMMEND_TASKS, recommend } from './recommend.js';
export type { ComparisonResult, CurvePoint, EvalMetrics, MethodResult } from './types.js';
