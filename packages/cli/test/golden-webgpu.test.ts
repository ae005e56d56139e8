/**
 * The same acceptance cases on the WebGPU backend (Dawn in Node; lavapipe in CI). Without a WebGPU adapter the
 * backend fails to start and these tests FAIL — they never skip.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { describePackageGoldenCases } from './helpers/package-cases.js';
import { ACCEPTANCE_CASES, goldenRoot, TRAJECTORY_CASES } from './helpers/paths.js';

describe('peftjs golden (WebGPU): our methods match Hugging Face PEFT', () => {
  for (const name of [...ACCEPTANCE_CASES, ...TRAJECTORY_CASES]) {
    it(name, async () => {
      const lines: string[] = [];
      const code = await runCli(['golden', join(goldenRoot(), name), '--backend', 'webgpu'], (s) => lines.push(s));
      console.log(lines.join('\n'));
      expect(lines[0]).toMatch(/^backend webgpu: /);
      expect(lines[lines.length - 1]).toMatch(/^\d+ passed, 0 failed$/);
      expect(code).toBe(0);
    });
  }

  describePackageGoldenCases('webgpu');
});
