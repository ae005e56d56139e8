import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { describePackageGoldenCases } from './helpers/package-cases.js';
import { ACCEPTANCE_CASES, goldenRoot, TRAJECTORY_CASES } from './helpers/paths.js';

describe('peftjs golden (CPU): our methods match Hugging Face PEFT', () => {
  for (const name of [...ACCEPTANCE_CASES, ...TRAJECTORY_CASES]) {
    it(name, async () => {
      const lines: string[] = [];
      const code = await runCli(['golden', join(goldenRoot(), name), '--backend', 'cpu'], (s) => lines.push(s));
      console.log(lines.join('\n'));
      const summary = lines[lines.length - 1];
      expect(summary).toMatch(/^\d+ passed, 0 failed$/);
      expect(Number(summary.split(' ')[0])).toBeGreaterThan(10);
      if ((TRAJECTORY_CASES as readonly string[]).includes(name)) {
        const meta = JSON.parse(readFileSync(join(goldenRoot(), name, 'meta.json'), 'utf8'));
        expect(lines.filter((l) => l.includes(' losses[')).length).toBe(meta.steps);
        expect(lines.some((l) => l.includes(' param.'))).toBe(true);
        if (meta.rank_pattern_after_each_step) {
          // AdaLoRA: the rank pattern after every step and the saved end/ adapter are checked too
          expect(lines.filter((l) => l.includes(' rank_pattern[')).length).toBe(meta.steps);
          expect(lines.some((l) => l.includes('end/adapter_config.json rank_pattern'))).toBe(true);
        }
      } else {
        expect(lines.some((l) => l.includes(' logits: '))).toBe(true);
        expect(lines.some((l) => l.includes(' grad.'))).toBe(true);
        expect(lines.some((l) => l.includes(' merged_logits: '))).toBe(true);
      }
      expect(code).toBe(0);
    });
  }

  it('usage errors exit 2', async () => {
    const lines: string[] = [];
    expect(await runCli(['golden'], (s) => lines.push(s))).toBe(2);
    expect(await runCli(['bogus'], (s) => lines.push(s))).toBe(2);
    await expect(runCli(['golden', '/nonexistent/dir'], () => {})).rejects.toThrow(/not a directory/);
  });

  describePackageGoldenCases('cpu');
});
