import { relMaxError } from '@peftjs/tensor';

export { relMaxError };

/** Tolerances of ../shared/golden/README.md: relative to the reference tensor's largest magnitude. */
export const GOLDEN_TOLERANCES = { logits: 1e-4, merged: 1e-4, grad: 1e-3, param: 1e-3, loss: 1e-5 } as const;

/** One comparison of a golden case. `error` is null when the check could not run (`reason` says why). */
export interface GoldenCheck {
  case: string;
  check: string;
  error: number | null;
  tolerance: number | null;
  passed: boolean;
  reason?: string;
}

/** A check that failed without a number (missing tensor, wrong count, unsupported case, …). */
export function fail(c: string, check: string, reason: string): GoldenCheck {
  return { case: c, check, error: null, tolerance: null, passed: false, reason };
}

/** A numeric check: passes when `error <= tolerance`. */
export function compare(c: string, check: string, error: number, tolerance: number): GoldenCheck {
  return { case: c, check, error, tolerance, passed: error <= tolerance };
}

/** An exact check on counts or identities: error 0 when equal. */
export function exact(c: string, check: string, ours: unknown, ref: unknown): GoldenCheck {
  if (ours === ref) return { case: c, check, error: 0, tolerance: 0, passed: true };
  return fail(c, check, `expected ${JSON.stringify(ref)}, got ${JSON.stringify(ours)}`);
}

/** A stable one-line rendering of a check (the runner's output format). */
export function formatCheck(c: GoldenCheck): string {
  const status = c.passed ? 'PASS' : 'FAIL';
  if (c.error === null) return `${status} ${c.case} ${c.check}: ${c.reason ?? 'not run'}`;
  return `${status} ${c.case} ${c.check}: error ${c.error.toExponential(3)} (tolerance ${c.tolerance?.toExponential(0)})`;
}
