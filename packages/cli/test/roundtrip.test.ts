import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../src/installed.js';
import { fromPretrained } from '@peftjs/models/node';
import { afterAll, describe, expect, it } from 'vitest';
import { ACCEPTANCE_CASES, goldenRoot } from './helpers/paths.js';
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('adapter round trip: PEFT files → load → save', () => {
  for (const name of ACCEPTANCE_CASES) {
    it(`${name}: adapter_model.safetensors comes back byte for byte, adapter_config.json with every field`, async () => {
      const root = goldenRoot();
      const meta = JSON.parse(await readFile(join(root, name, 'meta.json'), 'utf8'));
      const model = await fromPretrained(join(root, 'base', meta.arch), { tokenizer: false });
      const src = join(root, name, 'adapter');
      const peft = await loadPeftModel(model, src);
      const out = await mkdtemp(join(tmpdir(), 'peftjs-roundtrip-'));
      tmp.push(out);
      await savePeftModel(peft, out);
      const [a, b] = await Promise.all([
        readFile(join(src, 'adapter_model.safetensors')),
        readFile(join(out, 'adapter_model.safetensors')),
      ]);
      expect(Buffer.compare(a, b)).toBe(0);
      const original = JSON.parse(await readFile(join(src, 'adapter_config.json'), 'utf8'));
      const saved = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8'));
      for (const [k, v] of Object.entries(original)) expect(saved[k], k).toEqual(v);
      expect(Object.keys(saved)).toEqual([...Object.keys(saved)].sort());
      // PEFT's counts (meta.json) from our module tree
      const { trainable, total } = peft.countTrainable();
      expect(total).toBe(meta.all_params);
      expect(trainable).toBe(0); // loaded for inference: frozen
      model.dispose();
    });
  }

  it('a freshly created adapter saves the fields PEFT needs and the counts PEFT reports', async () => {
    const root = goldenRoot();
    const meta = JSON.parse(await readFile(join(root, 'llama_lora_qv', 'meta.json'), 'utf8'));
    const model = await fromPretrained(join(root, 'base', 'llama'), { tokenizer: false });
    const { getPeftModel } = await import('@peftjs/registry');
    const peft = getPeftModel(model, {
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      target_modules: ['q_proj', 'v_proj'],
      task_type: 'CAUSAL_LM',
    });
    const line = peft.printTrainableParameters(() => {});
    expect(line).toBe(
      `trainable params: ${meta.trainable_params.toLocaleString('en-US')} || all params: ${meta.all_params.toLocaleString('en-US')} || trainable%: ${((100 * meta.trainable_params) / meta.all_params).toFixed(4)}`,
    );
    const files = await peft.toAdapterFiles();
    const golden = JSON.parse(await readFile(join(root, 'llama_lora_qv', 'adapter', 'adapter_config.json'), 'utf8'));
    for (const k of Object.keys(golden)) {
      if (k === 'peft_version') continue;
      expect(files.config, k).toHaveProperty(k);
    }
    expect(files.config.peft_type).toBe('LORA');
    model.dispose();
  });
});
