/**
 * `@peftjs/cli`: the `peftjs` command, and the golden conformance runner it is built on.
 * @packageDocumentation
 */
export { parseArgs, runCli } from './cli.js';
export { findGoldenCases, formatCheck, GOLDEN_TOLERANCES, relMaxError, runGoldenCase } from './golden.js';
export type { GoldenCheck } from './golden.js';
