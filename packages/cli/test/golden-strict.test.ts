/**
 * The golden runner is strict: a case fails when a reference gradient is missing for a trainable parameter, when the
 * model trains a parameter the reference has no gradient for, when meta.json's trainable_params disagrees, and when
 * no layout recognises a case. Each broken case is a copy of llama_lora_qv with one thing changed.
 */
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPeftModel } from '@peftjs/registry/node';
import { SafetensorsReader, serialize } from '@peftjs/safetensors';
import { getBackend, tidy } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkGradients, loadBase, openGoldenFile, readInputs, runGoldenCase } from '../src/golden/index.js';
import { goldenRoot } from './helpers/paths.js';

let root: string;
const SOURCE = 'llama_lora_qv';

/** A copy of the source case under a temporary golden root (whose base/ links to the real one). */
async function brokenCase(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(root, name);
  await cp(join(goldenRoot(), SOURCE), dir, { recursive: true });
  await edit(dir);
  return dir;
}

const failures = (checks: { passed: boolean; check: string; reason?: string }[]) =>
  checks.filter((c) => !c.passed).map((c) => `${c.check}: ${c.reason ?? 'error over tolerance'}`);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'peftjs-golden-strict-'));
  await symlink(join(goldenRoot(), 'base'), join(root, 'base'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('golden runner: strict checks', () => {
  it('the unmodified copy passes (the baseline for every broken case below)', async () => {
    const dir = await brokenCase('intact', async () => {});
    const checks = await runGoldenCase(dir, getBackend());
    expect(failures(checks)).toEqual([]);
    expect(checks.length).toBeGreaterThan(10);
  });

  it('fails when a reference gradient is removed', async () => {
    const removed = 'grad.base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
    const dir = await brokenCase('missing_grad', async (d) => {
      const r = SafetensorsReader.fromBytes(new Uint8Array(await readFile(join(d, 'io.safetensors'))));
      const raw = Object.fromEntries(
        r
          .names()
          .filter((n) => n !== removed)
          .map((n) => [n, r.rawSync(n)]),
      );
      await writeFile(join(d, 'io.safetensors'), serialize(raw, r.metadata));
    });
    const bad = failures(await runGoldenCase(dir, getBackend()));
    expect(bad).toEqual([`${removed}: trainable parameter has no reference gradient`]);
  });

  it('fails when meta.json states another trainable_params', async () => {
    const dir = await brokenCase('wrong_count', async (d) => {
      const meta = JSON.parse(await readFile(join(d, 'meta.json'), 'utf8'));
      meta.trainable_params += 1;
      await writeFile(join(d, 'meta.json'), JSON.stringify(meta));
    });
    const bad = failures(await runGoldenCase(dir, getBackend()));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/^trainable_params: expected \d+, got \d+/);
  });

  it('fails when the model trains a parameter the reference has no gradient for', async () => {
    const backend = getBackend();
    const model = await loadBase(goldenRoot(), 'llama', backend);
    const io = await openGoldenFile(join(goldenRoot(), SOURCE, 'io.safetensors'));
    try {
      const peft = await loadPeftModel(model, join(goldenRoot(), SOURCE, 'adapter'), { isTrainable: true });
      model.getSubmodule('lm_head').param('weight').requiresGrad = true; // the extra trainable parameter
      const inputs = await readInputs(io, backend);
      tidy(() => peft.forward(inputs).loss!.backward());
      for (const t of Object.values(inputs)) t.dispose();
      const bad = failures(await checkGradients(SOURCE, peft, io));
      expect(bad).toEqual(['grad.base_model.model.lm_head.weight: trainable parameter has no reference gradient']);
    } finally {
      await io.close();
      model.dispose();
    }
  });

  it('fails a case that no layout recognises, naming what it holds', async () => {
    const dir = await brokenCase('unknown_layout', async (d) => {
      await rm(join(d, 'adapter'), { recursive: true });
    });
    const checks = await runGoldenCase(dir, getBackend());
    expect(failures(checks)).toEqual(['layout: no case layout recognises it (it holds: io.safetensors, meta.json)']);
  });

  it('fails a case whose method is not installed, naming the peft_type', async () => {
    const dir = await brokenCase('unknown_method', async (d) => {
      const p = join(d, 'adapter', 'adapter_config.json');
      const config = JSON.parse(await readFile(p, 'utf8'));
      await writeFile(p, JSON.stringify({ ...config, peft_type: 'NOT_INSTALLED' }));
    });
    const bad = failures(await runGoldenCase(dir, getBackend()));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatch(/peft_type: no registered method handles peft_type 'NOT_INSTALLED'/);
  });
});
