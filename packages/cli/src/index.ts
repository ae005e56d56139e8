/**
 * `@peftjs/cli`: the `peftjs` command — `train`, `eval`, `merge`, `compare`, `recommend` and `golden` — and the
 * pieces it is built on (the golden conformance runner, the comparison chart).
 * @packageDocumentation
 */
export { comparisonChartSpec, comparisonChartSVG } from './chart.js';
export { parseArgs, runCli } from './cli.js';
export { CliError } from './errors.js';
export type { GoldenCheck } from './golden/index.js';
export { findGoldenCases, formatCheck, GOLDEN_TOLERANCES, relMaxError, runGoldenCase } from './golden/index.js';
