/**
 * `peftjs qr-adaptor` on the embedded tiny LLaMA (small settings): Pareto table, a plan within the budget, the chart,
 * the chosen and uniform plans trained and scored; a rerun measures nothing again (every plan from the cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('peftjs qr-adaptor', () => {
  it('searches, writes the plan and chart, trains the plans; a rerun reuses the cache', async () => {
    const out = await mkdtemp(join(tmpdir(), 'peftjs-qr-'));
    dirs.push(out);
    const args = [
      'qr-adaptor',
      '--budget',
      '0.3MiB',
      '--target-modules',
      'q_proj,v_proj',
      '--calibration',
      '8',
      '--generations',
      '1',
      '--population',
      '4',
      '--fitness-steps',
      '2',
      '--steps',
      '2',
      '--uniform',
      '1',
      '--seq-len',
      '32',
      '--eval-sequences',
      '4',
      '--out',
      out,
      '--chart',
    ];
    const lines: string[] = [];
    const errs: string[] = [];
    expect(
      await runCli(
        args,
        (s) => lines.push(s),
        (s) => errs.push(s),
      ),
    ).toBe(0);
    expect(lines[0]).toBe('Pareto front (memory, calibration loss):');
    expect(lines.some((l) => l.includes('← chosen'))).toBe(true);
    const plan = JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8'));
    expect(plan.format).toBe('peftjs-qr-adaptor-plan');
    expect(plan.modules).toHaveLength(8);
    expect(plan.memoryBytes).toBeLessThanOrEqual(0.3 * 2 ** 20);
    expect(readFileSync(join(out, 'pareto.svg'), 'utf8')).toMatch(/^<svg/);
    expect(lines.filter((l) => /perplexity \d/.test(l))).toHaveLength(2);
    const measured = errs.find((l) => l.startsWith('measured '))!;
    expect(measured).toMatch(/measured \d+ plans \(\d+ new, 0 from the cache\)/);
    const n = Number(/measured (\d+)/.exec(measured)![1]);

    const again: string[] = [];
    expect(
      await runCli(
        args,
        () => {},
        (s) => again.push(s),
      ),
    ).toBe(0);
    expect(again).toContain(`measured ${n} plans (0 new, ${n} from the cache)`);
    expect(again.some((l) => l.startsWith('sensitivity: from'))).toBe(true);
    expect(existsSync(join(out, 'cache.json'))).toBe(true);
  }, 600_000);

  it('refuses a missing or impossible budget', async () => {
    const errs: string[] = [];
    expect(
      await runCli(
        ['qr-adaptor'],
        () => {},
        (s) => errs.push(s),
      ),
    ).toBe(2);
    expect(errs.at(-1)).toMatch(/--budget is required/);
    expect(
      await runCli(
        ['qr-adaptor', '--budget', '1KiB'],
        () => {},
        (s) => errs.push(s),
      ),
    ).toBe(2);
    expect(errs.at(-1)).toMatch(/below the smallest plan/);
  }, 120_000);
});
