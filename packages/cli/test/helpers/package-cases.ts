import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/index.js';
import { packageGoldenCases } from './paths.js';

/** The reference cases the method packages ship (made with PEFT by their scripts), each run by `peftjs golden`. */
export function describePackageGoldenCases(backend: 'cpu' | 'webgpu'): void {
  describe('reference cases the method packages ship (made with PEFT by their scripts)', () => {
    const { root, cases } = packageGoldenCases();
    it('there are some', () => expect(cases.length).toBeGreaterThanOrEqual(4));
    for (const name of cases) {
      it(name, async () => {
        const lines: string[] = [];
        const code = await runCli(['golden', join(root, name), '--backend', backend], (s) => lines.push(s));
        console.log(lines.join('\n'));
        expect(lines[lines.length - 1]).toMatch(/^\d+ passed, 0 failed$/);
        expect(lines.some((l) => l.includes(' grad.'))).toBe(true);
        expect(code).toBe(0);
      });
    }
  });
}
