import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAdapterFiles } from '@peftjs/registry';
import { readAdapterDir } from '@peftjs/registry/node';
import type { GoldenCase, GoldenLayout } from '../case.js';
import { compare, exact, fail, GOLDEN_TOLERANCES, type GoldenCheck, relMaxError } from '../checks.js';
import { runTrajectory } from './trajectory.js';

type RankPattern = Record<string, boolean[]>;

/** `<module>.lora_E.<adapter>` → `<module>.lora_E`, so in-memory and saved rank patterns compare. */
function savedKeys(p: unknown): RankPattern | null {
  if (!p || typeof p !== 'object') return null;
  const out: RankPattern = {};
  for (const [k, v] of Object.entries(p as RankPattern)) {
    const i = k.lastIndexOf('.lora_E');
    out[i < 0 ? k : k.slice(0, i + 7)] = (v as unknown[]).map((b) => b === true || b === 1);
  }
  return out;
}

function describe(p: RankPattern | null): string {
  if (!p) return 'null';
  return Object.keys(p)
    .sort()
    .map((k) => `${k}:${p[k].map((b) => (b ? 1 : 0)).join('')}`)
    .join(' ');
}

function comparePatterns(name: string, label: string, ours: RankPattern | null, ref: RankPattern | null): GoldenCheck {
  return exact(name, label, describe(ours), describe(ref));
}

/**
 * AdaLoRA trajectories (`update_and_allocate` after every optimizer step): the generic trajectory checks (losses,
 * final full-size parameters) plus the rank pattern after every step against meta.json's
 * `rank_pattern_after_each_step`, and the adapter saved at the end against `end/` (same keys, shapes and
 * `rank_pattern`).
 */
export const adaLoraTrajectoryLayout: GoldenLayout = {
  name: 'adalora-trajectory',
  detect: (c: GoldenCase) =>
    typeof c.meta.optimizer === 'string' &&
    Array.isArray(c.meta.rank_pattern_after_each_step) &&
    existsSync(join(c.dir, 'end', 'adapter_config.json')),
  run: async (c, backend) => {
    const refPatterns = c.meta.rank_pattern_after_each_step as unknown[];
    const startDir =
      typeof c.meta.start_adapter === 'string' ? join(c.root, c.meta.start_adapter) : join(c.dir, 'start');
    return runTrajectory(c, backend, {
      adapterDir: startDir,
      afterStep: ({ step, peft }) => {
        const ours = savedKeys((peft.peftConfig() as { rank_pattern?: unknown }).rank_pattern);
        return [comparePatterns(c.name, `rank_pattern[${step}]`, ours, savedKeys(refPatterns[step]))];
      },
      atEnd: async (peft) => {
        const files = await peft.toAdapterFiles();
        const ref = await readAdapterDir(join(c.dir, 'end'));
        const checks: GoldenCheck[] = [
          comparePatterns(
            c.name,
            'end/adapter_config.json rank_pattern',
            savedKeys(files.config.rank_pattern),
            savedKeys(ref.config.rank_pattern),
          ),
        ];
        const ours = headerShapes(files.weights);
        const refShapes = headerShapes(ref.weights);
        const refKeys = Object.keys(refShapes).sort();
        checks.push(exact(c.name, 'end/ keys', Object.keys(ours).sort().join(','), refKeys.join(',')));
        for (const k of refKeys) {
          const t = ours[k];
          if (!t) checks.push(fail(c.name, `end/${k}`, 'not saved'));
          else checks.push(exact(c.name, `end/${k} shape`, t.join('x'), refShapes[k]!.join('x')));
        }
        // the kept triplets' values, as saved (empty tensors of cut modules have none)
        const oursT = (await decodeAdapterFiles(files, backend)).tensors;
        const refT = (await decodeAdapterFiles(ref, backend)).tensors;
        try {
          for (const k of refKeys) {
            const a = oursT[k];
            const b = refT[k]!;
            if (!a || a.size !== b.size || b.size === 0) continue;
            checks.push(
              compare(c.name, `end/${k}`, relMaxError(await a.data(), await b.data()), GOLDEN_TOLERANCES.param),
            );
          }
        } finally {
          for (const t of [...Object.values(oursT), ...Object.values(refT)]) t.dispose();
        }
        return checks;
      },
    });
  },
};

/** Tensor shapes by key from a safetensors file's header. */
function headerShapes(bytes: Uint8Array): Record<string, readonly number[]> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { shape?: number[] }>;
  const out: Record<string, readonly number[]> = {};
  for (const [k, v] of Object.entries(header)) if (k !== '__metadata__' && v.shape) out[k] = v.shape;
  return out;
}
