/**
 * AdapterHub's files both ways: a golden adapter (written by `adapters` 1.2 save_adapter) loaded and saved again
 * gives the same tensors under the same keys, the same config block, and head files; bad files fail clearly.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromPretrained } from '@peftjs/models/node';
import { PeftError } from '@peftjs/registry';
import { SafetensorsReader } from '@peftjs/safetensors';
import { goldenRoot } from '@peftjs/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adapterHubJSON,
  adapterHubParameters,
  bottleneckConfig,
  getPeftModel,
  loadAdapterHubFiles,
  toAdapterHubFiles,
} from '../src/index.js';
import { loadAdapterHub, loadAdapterHubModel, readAdapterHubDir, saveAdapterHub } from '../src/node.js';

const CASES = [
  ['bert_seq_bn_cls', 'bert'],
  ['llama_seq_bn', 'llama'],
  ['gpt2_double_seq_bn', 'gpt2'],
] as const;

const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

async function tensorsOf(bytes: Uint8Array): Promise<Map<string, { dtype: string; shape: number[]; bytes: number[] }>> {
  const r = SafetensorsReader.fromBytes(bytes);
  const out = new Map<string, { dtype: string; shape: number[]; bytes: number[] }>();
  for (const n of r.names()) {
    const raw = await r.raw(n);
    out.set(n, { dtype: raw.dtype, shape: [...r.info(n).shape], bytes: Array.from(new Uint8Array(raw.bytes)) });
  }
  return out;
}

const base = (arch: string) => fromPretrained(join(goldenRoot(), 'base', arch), { tokenizer: false });

describe('AdapterHub files round trip', () => {
  for (const [name, arch] of CASES) {
    it(`${name}: load → save gives the same tensors, keys and config block`, async () => {
      const src = join(goldenRoot(), name, 'adapter');
      const peft = await loadAdapterHubModel(await base(arch), src);
      const dir = await mkdtemp(join(tmpdir(), 'peftjs-bn-'));
      tmp.push(dir);
      await saveAdapterHub(peft, dir);
      const [a, b] = [await readAdapterHubDir(src), await readAdapterHubDir(dir)];
      expect(b.config.config).toEqual(a.config.config);
      for (const k of ['name', 'model_type', 'model_class', 'hidden_size', 'model_name', 'version'])
        expect(b.config[k], k).toEqual(a.config[k]);
      expect(await tensorsOf(b.weights)).toEqual(await tensorsOf(a.weights));
      expect(b.headConfig).toEqual(a.headConfig);
      expect(await tensorsOf(b.headWeights!)).toEqual(await tensorsOf(a.headWeights!));
      // Written as `adapters` writes it (json.dump indent 2, sorted keys), floats as floats so Python reads floats.
      const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
      expect(text).toBe(await readFile(join(src, 'adapter_config.json'), 'utf8'));
      expect(text).toContain('"scaling": 1.0');
      expect(await readFile(join(dir, 'head_config.json'), 'utf8')).toBe(
        await readFile(join(src, 'head_config.json'), 'utf8'),
      );
      peft.dispose();
    });
  }

  it('a fresh adapter saved and loaded again keeps its values, under another name too', async () => {
    const peft = getPeftModel(await base('gpt2'), bottleneckConfig('double_seq_bn', { reduction_factor: 8 }), {
      adapterName: 'first',
    });
    const files = await toAdapterHubFiles(peft);
    expect(files.config.name).toBe('first');
    const keys = SafetensorsReader.fromBytes(files.weights).names();
    expect(keys).toContain('transformer.h.1.attention_adapters.adapters.first.adapter_up.weight');
    expect(keys.length).toBe(2 * 2 * 4);
    const name = await loadAdapterHubFiles(peft, files, { adapterName: 'second' });
    expect(name).toBe('second');
    const [s1, s2] = [peft.adapterStateDict('first'), peft.adapterStateDict('second')];
    for (const [k, t] of Object.entries(s1)) expect(await s2[k]!.data()).toEqual(await t.data());
    peft.dispose();
  });

  it('loadAdapterHub adds a second adapter next to the first; keys carry each name', async () => {
    const src = join(goldenRoot(), 'llama_seq_bn', 'adapter');
    const peft = await loadAdapterHubModel(await base('llama'), src, { adapterName: 'a' });
    expect(await loadAdapterHub(peft, src, { adapterName: 'b' })).toBe('b');
    expect(peft.adapterNames).toEqual(['a', 'b']);
    const files = await toAdapterHubFiles(peft, 'b');
    expect(SafetensorsReader.fromBytes(files.weights).names()[0]).toMatch(/\.adapters\.b\./);
    peft.dispose();
  });

  it('refuses files that do not fit: other model type, unknown and missing keys, a foreign LM head', async () => {
    const llama = await readAdapterHubDir(join(goldenRoot(), 'llama_seq_bn', 'adapter'));
    const gpt2 = await base('gpt2');
    await expect(loadAdapterHubModel(gpt2, join(goldenRoot(), 'llama_seq_bn', 'adapter'))).rejects.toThrow(
      /trained for 'llama'/,
    );
    const model = await base('llama');
    const peft = getPeftModel(model, bottleneckConfig('seq_bn', { reduction_factor: 4 }), { adapterName: 'x' });
    // adapter.safetensors of a Houlsby adapter under a Pfeiffer config: attention adapter keys match nothing.
    const houlsby = getPeftModel(await base('llama'), bottleneckConfig('double_seq_bn', { reduction_factor: 4 }));
    const extra = await toAdapterHubFiles(houlsby);
    await expect(
      loadAdapterHubFiles(peft, { ...extra, config: { ...extra.config, config: llama.config.config } }),
    ).rejects.toThrow(/matches nothing/);
    houlsby.dispose();
    const missing = { ...llama, weights: (await toAdapterHubFiles(peft)).weights };
    // Same structure but saved under the name "x": none of the file's keys are "golden"'s.
    await expect(
      loadAdapterHubFiles(peft, { ...missing, config: { ...llama.config, name: 'golden' } }),
    ).rejects.toThrow(PeftError);
    // One tensor short: the missing key is named.
    const own = await toAdapterHubFiles(peft);
    const r = SafetensorsReader.fromBytes(own.weights);
    const { saveTensors } = await import('@peftjs/safetensors');
    const { tensor } = await import('@peftjs/tensor');
    const kept: Record<string, ReturnType<typeof tensor>> = {};
    for (const n of r.names().slice(1)) {
      const d = await r.read(n);
      kept[n] = tensor(d.data, [...d.shape]);
    }
    await expect(
      loadAdapterHubFiles(peft, { ...own, weights: await saveTensors(kept) }, { adapterName: 'x2' }),
    ).rejects.toThrow(`lack keys: ${r.names()[0]!.replace('.adapters.x.', '.adapters.x2.')}`);
    for (const t of Object.values(kept)) t.dispose();
    // A language-model head that is not the model's own.
    const other = getPeftModel(await base('llama'), bottleneckConfig('seq_bn', { reduction_factor: 4 }));
    const lm = other.model.getSubmodule('lm_head');
    const w = lm.param('weight');
    const { mul } = await import('@peftjs/tensor');
    lm.setParameter('weight', mul(w, 2));
    const foreign = await toAdapterHubFiles(other);
    await expect(loadAdapterHubFiles(peft, foreign, { adapterName: 'y' })).rejects.toThrow(
      /differs from the model's head/,
    );
    expect(peft.adapterNames).toEqual(['x']);
    other.dispose();
    peft.dispose();
  });

  it('ln_before: the LayerNorm is saved under both state-dict names and loads from either', async () => {
    const peft = getPeftModel(
      await base('llama'),
      bottleneckConfig('seq_bn', { reduction_factor: 4, ln_before: true }),
      {
        adapterName: 'n',
      },
    );
    const files = await toAdapterHubFiles(peft);
    const names = SafetensorsReader.fromBytes(files.weights).names();
    const p = 'model.layers.0.output_adapters.adapters.n.';
    for (const k of ['adapter_down.0.weight', 'adapter_norm_before.weight', 'adapter_down.1.weight'])
      expect(names).toContain(p + k);
    const params = [...adapterHubParameters(peft).keys()];
    expect(params).toContain(`${p}adapter_norm_before.bias`);
    expect(params).not.toContain(`${p}adapter_down.0.bias`);
    // A file holding only one of the two names (torch state dicts deduplicated) loads.
    const r = SafetensorsReader.fromBytes(files.weights);
    const { saveTensors } = await import('@peftjs/safetensors');
    const { tensor } = await import('@peftjs/tensor');
    const only: Record<string, ReturnType<typeof tensor>> = {};
    for (const n of r.names().filter((x) => !x.includes('.adapter_down.0.'))) {
      const d = await r.read(n);
      only[n] = tensor(d.data, [...d.shape]);
    }
    await loadAdapterHubFiles(peft, { ...files, weights: await saveTensors(only) }, { adapterName: 'm' });
    const [a, b] = [peft.adapterStateDict('n'), peft.adapterStateDict('m')];
    for (const [k, t] of Object.entries(a)) expect(await b[k]!.data()).toEqual(await t.data());
    for (const t of Object.values(only)) t.dispose();
    peft.dispose();
  });

  it("writes Python's json.dump(indent=2, sort_keys=True) with float fields as floats", () => {
    expect(adapterHubJSON({ b: [], a: { scaling: 4, dropout: 0, reduction_factor: 2, leave_out: [1, 3] } })).toBe(
      '{\n  "a": {\n    "dropout": 0.0,\n    "leave_out": [\n      1,\n      3\n    ],\n    "reduction_factor": 2,\n    "scaling": 4.0\n  },\n  "b": []\n}',
    );
  });
});
