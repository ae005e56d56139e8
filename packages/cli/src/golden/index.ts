import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Backend } from '@peftjs/tensor';
import '../installed.js';
import { type GoldenCase, readCase } from './case.js';
import { fail, type GoldenCheck } from './checks.js';
import { GOLDEN_LAYOUTS } from './layouts/index.js';

export type { GoldenCase, GoldenLayout } from './case.js';
export type { GoldenCheck } from './checks.js';
export { formatCheck, GOLDEN_TOLERANCES, relMaxError } from './checks.js';
export { checkCounts, checkGradients, peftAdapterLayout, peftForCase } from './layouts/adapter.js';
export { GOLDEN_LAYOUTS } from './layouts/index.js';
export { runTrajectory, trajectoryLayout } from './layouts/trajectory.js';
export type { TrajectoryOptions, TrajectoryStep } from './layouts/trajectory.js';
export { loadBase, openGoldenFile, readCase, readInputs, readLosses, readRef } from './case.js';
export type { GoldenFile } from './case.js';
export { compare, exact, fail } from './checks.js';

/**
 * Case folders under `dir`: `dir` itself if it has meta.json, else its subfolders that do, one level further down
 * too (`quant/<name>`), sorted.
 */
export async function findGoldenCases(dir: string): Promise<string[]> {
  if (existsSync(join(dir, 'meta.json'))) return [dir];
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`golden: '${dir}' is not a directory`);
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const sub = join(dir, name);
    if (existsSync(join(sub, 'meta.json'))) out.push(sub);
    else if (name !== 'base' && (await stat(sub)).isDirectory()) {
      for (const inner of (await readdir(sub)).sort()) {
        if (existsSync(join(sub, inner, 'meta.json'))) out.push(join(sub, inner));
      }
    }
  }
  if (!out.length) throw new Error(`golden: no case folders (with meta.json) in '${dir}'`);
  return out;
}

/** Run every check a case defines, by the layout that recognises it; never throws (errors become failed checks). */
export async function runGoldenCase(caseDir: string, backend: Backend): Promise<GoldenCheck[]> {
  let c: GoldenCase;
  try {
    c = await readCase(caseDir);
  } catch (e) {
    return [fail(basename(caseDir), 'meta', `cannot read the case: ${(e as Error).message}`)];
  }
  const layout = GOLDEN_LAYOUTS.find((l) => l.detect(c));
  if (!layout) {
    return [fail(c.name, 'layout', `no case layout recognises it (it holds: ${c.entries.sort().join(', ')})`)];
  }
  try {
    return await layout.run(c, backend);
  } catch (e) {
    return [fail(c.name, layout.name, (e as Error).message.split('\n')[0]!)];
  }
}
