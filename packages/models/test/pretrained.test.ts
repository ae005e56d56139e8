import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateDictError } from '@peftjs/nn';
import { loadFile, openFile, saveFile } from '@peftjs/safetensors/node';
import { memory, type Tensor } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type PreTrainedModel } from '../src/index.js';
import { fromPretrained, savePretrained } from '../src/node.js';
import { goldenRoot } from './helpers/golden.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'peftjs-models-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const base = (arch: string) => join(goldenRoot(), 'base', arch);

/** Every state-dict entry of `b` has exactly the bytes, shape and dtype of `a`'s. */
async function expectSameTensors(a: PreTrainedModel, b: PreTrainedModel): Promise<void> {
  const sa = a.stateDict();
  const sb = b.stateDict();
  expect(Object.keys(sb)).toEqual(Object.keys(sa));
  for (const [k, t] of Object.entries(sa)) {
    expect(sb[k].shape, k).toEqual(t.shape);
    expect(sb[k].dtype, k).toBe(t.dtype);
    const x = Buffer.from((await t.data()).buffer);
    const y = Buffer.from((await sb[k].data()).buffer);
    expect(Buffer.compare(x, y), k).toBe(0);
  }
}

/** The safetensors layout rules: 8-byte length, JSON header padded with spaces to 8 bytes, contiguous data. */
function checkLayout(file: Uint8Array): { names: string[]; header: Record<string, unknown> } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const n = Number(view.getBigUint64(0, true));
  expect((8 + n) % 8).toBe(0);
  const text = new TextDecoder().decode(file.subarray(8, 8 + n));
  expect(text.trimEnd()).toBe(JSON.stringify(JSON.parse(text))); // minimal JSON, space padding only
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let at = 0;
  for (const [, e] of entries) {
    expect(e.data_offsets[0]).toBe(at);
    const size = e.shape.reduce((a, b) => a * b, 1) * (e.dtype === 'F32' || e.dtype === 'I32' ? 4 : 8);
    expect(e.data_offsets[1] - e.data_offsets[0]).toBe(size);
    at = e.data_offsets[1];
  }
  expect(8 + n + at).toBe(file.length);
  return { names: entries.map(([k]) => k), header };
}

describe('fromPretrained / savePretrained round trip', () => {
  for (const arch of ['llama', 'bert', 'gpt2']) {
    it(`${arch}: load → save → load gives identical tensors and a byte-identical model.safetensors`, async () => {
      const before = memory().tensors;
      const a = await fromPretrained(base(arch));
      expect(a.architecture).toBe(JSON.parse(await readFile(join(base(arch), 'config.json'), 'utf8')).architectures[0]);
      expect(a.training).toBe(false);
      const out = join(tmp, arch);
      await savePretrained(a, out);
      const saved = new Uint8Array(await readFile(join(out, 'model.safetensors')));
      const { header } = checkLayout(saved);
      expect(header.__metadata__).toEqual({ format: 'pt' });
      // transformers wrote the golden file; ours is the same bytes (same order, header and padding)
      expect(Buffer.compare(saved, await readFile(join(base(arch), 'model.safetensors')))).toBe(0);
      const b = await fromPretrained(out);
      expect(b.configJson()).toEqual(a.configJson());
      await expectSameTensors(a, b);
      a.dispose();
      b.dispose();
      expect(memory().tensors).toBe(before);
    });
  }

  it('loads a bfloat16 checkpoint as float32 (exactly) and saves it back as float32', async () => {
    const dir = join(tmp, 'llama-bf16');
    const a = await fromPretrained(base('llama'));
    await savePretrained(a, dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...config, dtype: 'bfloat16', torch_dtype: 'bfloat16' }),
    );
    await saveFile(join(dir, 'model.safetensors'), a.stateDict(), { format: 'pt' }, { dtype: 'BF16' });
    const b = await fromPretrained(dir);
    for (const [k, t] of Object.entries(a.stateDict())) {
      const x = await t.data();
      const y = await b.stateDict()[k].data();
      // bf16 keeps the top 16 bits of the f32 pattern (rounded to nearest even): at most 2^-8 relative
      for (let i = 0; i < x.length; i++) expect(Math.abs(y[i] - x[i])).toBeLessThanOrEqual(Math.abs(x[i]) * 2 ** -8);
      const bits = new Uint32Array(new Float32Array(y).buffer);
      expect(bits.every((v) => (v & 0xffff) === 0)).toBe(true);
    }
    const out = join(tmp, 'llama-bf16-saved');
    await savePretrained(b, out);
    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect([saved.dtype, saved.torch_dtype]).toEqual(['float32', 'float32']);
    const r = await openFile(join(out, 'model.safetensors'));
    expect(r.names().every((n) => r.info(n).dtype === 'F32')).toBe(true);
    await r.close();
    const stored = await openFile(join(dir, 'model.safetensors'));
    expect(stored.names().every((n) => stored.info(n).dtype === 'BF16')).toBe(true);
    await stored.close();
    a.dispose();
    b.dispose();
  });

  it('GPT-2 stores the tied lm_head once and re-ties it on load', async () => {
    const m = await fromPretrained(base('gpt2'));
    const sd = m.stateDict();
    expect(sd['lm_head.weight']).toBe(sd['transformer.wte.weight']);
    expect(m.namedParameters().map(([n]) => n)).not.toContain('lm_head.weight');
    const out = join(tmp, 'gpt2-tied');
    await savePretrained(m, out);
    const names = Object.keys(await loadFile(join(out, 'model.safetensors')));
    expect(names).toContain('transformer.wte.weight');
    expect(names).not.toContain('lm_head.weight');
    m.dispose();
  });

  it('writes and reads a sharded checkpoint (model.safetensors.index.json)', async () => {
    const a = await fromPretrained(base('llama'));
    const out = join(tmp, 'llama-sharded');
    await savePretrained(a, out, { maxShardSize: 100_000 });
    const files = (await readdir(out)).sort();
    expect(files).toContain('model.safetensors.index.json');
    expect(files).not.toContain('model.safetensors');
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    for (const f of shards) checkLayout(new Uint8Array(await readFile(join(out, f))));
    const index = JSON.parse(await readFile(join(out, 'model.safetensors.index.json'), 'utf8'));
    expect(Object.keys(index.weight_map).sort()).toEqual(Object.keys(a.stateDict()).sort());
    const b = await fromPretrained(out);
    await expectSameTensors(a, b);
    a.dispose();
    b.dispose();
  });
});

describe('fromPretrained: what it refuses and reports', () => {
  it('refuses a directory holding only a pickle checkpoint', async () => {
    const dir = join(tmp, 'pickle');
    await rm(dir, { recursive: true, force: true });
    await savePretrained(await fromPretrained(base('llama')), dir);
    await rm(join(dir, 'model.safetensors'));
    await writeFile(join(dir, 'pytorch_model.bin'), new Uint8Array([0x80, 0x02, 0x7d]));
    await expect(fromPretrained(dir)).rejects.toThrow(/pytorch_model\.bin.*pickle.*safetensors/s);
  });

  it('needs config.json, and a supported architecture', async () => {
    const dir = join(tmp, 'noconfig');
    await rm(dir, { recursive: true, force: true });
    await savePretrained(await fromPretrained(base('bert')), dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['BertForMaskedLM'] }));
    await expect(fromPretrained(dir)).rejects.toThrow(ConfigError);
    await expect(fromPretrained(dir)).rejects.toThrow(
      /'BertForMaskedLM' is not supported \(supported: .*BertForSequenceClassification/,
    );
    const m = await fromPretrained(dir, { architecture: 'BertForSequenceClassification' });
    expect(m.architecture).toBe('BertForSequenceClassification');
    m.dispose();
    await rm(join(dir, 'config.json'));
    await expect(fromPretrained(dir)).rejects.toThrow(/no config\.json/);
    await expect(fromPretrained(join(tmp, 'does-not-exist'))).rejects.toThrow(/not a directory/);
  });

  it('loads a bare base-model checkpoint under the base prefix, initialising the new head', async () => {
    const dir = join(tmp, 'bert-base-only');
    await rm(dir, { recursive: true, force: true });
    const src = await fromPretrained(base('bert'));
    await savePretrained(src, dir);
    // a BertModel checkpoint: no "bert." prefix, no classifier, plus an old persistent buffer and an MLM head
    const bare: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(src.stateDict())) if (k.startsWith('bert.')) bare[k.slice(5)] = t;
    const extra = await loadFile(join(base('bert'), 'model.safetensors'), { names: ['classifier.bias'] });
    await saveFile(join(dir, 'model.safetensors'), {
      ...bare,
      'embeddings.position_ids': extra['classifier.bias'],
      'cls.predictions.bias': extra['classifier.bias'],
    });
    const m = await fromPretrained(dir);
    const r = m.loadReport!;
    expect(r.missingKeys).toEqual(['classifier.bias', 'classifier.weight']);
    expect(r.unexpectedKeys).toEqual(['cls.predictions.bias']);
    expect(r.ignoredKeys).toEqual(['embeddings.position_ids']);
    expect(r.renamedKeys['encoder.layer.0.attention.self.query.weight']).toBe(
      'bert.encoder.layer.0.attention.self.query.weight',
    );
    const q = 'bert.encoder.layer.1.output.dense.weight';
    expect(await m.stateDict()[q].data()).toEqual(await src.stateDict()[q].data());
    // the new head is drawn fresh (N(0, initializer_range), zero bias), not left at zero
    const w = Array.from(await m.stateDict()['classifier.weight'].data());
    expect(w.some((v) => v !== 0)).toBe(true);
    expect(Math.max(...w.map(Math.abs))).toBeLessThan(0.2);
    await expect(fromPretrained(dir, { strict: true })).rejects.toThrow(StateDictError);
    await expect(fromPretrained(dir, { strict: true })).rejects.toThrow(
      /missing keys: classifier\.bias, classifier\.weight; unexpected keys: cls\.predictions\.bias/,
    );
    for (const t of Object.values(extra)) t.dispose();
    m.dispose();
    src.dispose();
  });

  it('a shape mismatch is an error even when not strict', async () => {
    const dir = join(tmp, 'gpt2-mismatch');
    await rm(dir, { recursive: true, force: true });
    await savePretrained(await fromPretrained(base('gpt2')), dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...config, n_positions: 32 }));
    await expect(fromPretrained(dir)).rejects.toThrow(
      /transformer\.wpe\.weight \(module has f32\[32, 64\], dict has f32\[64, 64\]\)/,
    );
  });

  it('loads onto the backend named in the options', async () => {
    const m = await fromPretrained(base('llama'), { backend: 'cpu' });
    expect(m.parameters().every((p) => p.backend.name === 'cpu')).toBe(true);
    m.dispose();
    await expect(fromPretrained(base('llama'), { backend: 'nope' })).rejects.toThrow(/unknown backend 'nope'/);
  });

  it('copies of a checkpoint dir with extra files still load (generation_config.json is not needed)', async () => {
    const dir = join(tmp, 'copy');
    await rm(dir, { recursive: true, force: true });
    await savePretrained(await fromPretrained(base('gpt2')), dir);
    await copyFile(join(base('gpt2'), 'generation_config.json'), join(dir, 'generation_config.json'));
    const m = await fromPretrained(dir);
    expect(m.loadReport).toMatchObject({ missingKeys: [], unexpectedKeys: [], ignoredKeys: [] });
    m.dispose();
  });
});
