import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader } from '@peftjs/safetensors';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import {
  Linear4bit,
  Linear8bit,
  loadQuantizedModel,
  quantizationOf,
  quantizedConfigJson,
  quantizedStateDict,
  quantizeModel,
} from '../src/index.js';
import { maxRelErr, readGolden } from './golden-util.js';

function goldenBase(name: string) {
  const dir = join(goldenRoot(), name, 'base');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.safetensors')));
  return { config, bytes, reader: SafetensorsReader.fromBytes(bytes) };
}

for (const name of ['llama_qlora_nf4', 'llama_lora_int8']) {
  describe(`${name}: the checkpoint transformers saved from a bitsandbytes model`, () => {
    it('loads every quantized Linear; dequantized weights equal bitsandbytes', async () => {
      const { config, reader } = goldenBase(name);
      const model = await loadQuantizedModel(config, reader, { strict: true });
      const io = await readGolden(`${name}/io.safetensors`);
      const deq = Object.keys(io).filter((k) => k.startsWith('dequantized.'));
      expect(deq.length).toBe(14);
      for (const k of deq) {
        const path = k.slice('dequantized.'.length, -'.weight'.length);
        const layer = model.getSubmodule(path);
        expect(layer).toBeInstanceOf(name.includes('int8') ? Linear8bit : Linear4bit);
        const d = (layer as Linear4bit).denseWeight();
        expect(maxRelErr(await d.data(), io[k].data), k).toBeLessThanOrEqual(1e-6);
        d.dispose();
      }
      expect(model.getSubmodule('lm_head').constructor.name).toBe('Linear');
      model.dispose();
    });

    it('saves the same keys, dtypes, shapes and bytes, and the same quantization_config', async () => {
      const { config, reader } = goldenBase(name);
      const model = await loadQuantizedModel(config, reader);
      const saved = await quantizedStateDict(model);
      expect(Object.keys(saved).sort()).toEqual(reader.names().sort());
      for (const k of reader.names()) {
        const want = await reader.raw(k);
        const got = saved[k] as { dtype: string; shape: number[]; bytes: Uint8Array };
        expect(got.dtype, k).toBe(want.dtype);
        expect(got.shape, k).toEqual([...want.shape]);
        expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes)), k).toBe(true);
      }
      expect(quantizedConfigJson(model).quantization_config).toEqual(config.quantization_config);
      model.dispose();
    });
  });
}

describe('quantize at load (BitsAndBytesConfig options)', () => {
  it('NF4 + double quant of the float base gives the bytes transformers saved', async () => {
    const { config, reader } = goldenBase('llama_qlora_nf4');
    const floatDir = join(goldenRoot(), 'base', 'llama');
    const { fromPretrained } = await import('@peftjs/models/node');
    const model = await fromPretrained(floatDir);
    const paths = await quantizeModel(model, config.quantization_config);
    expect(paths.length).toBe(14);
    expect(paths).not.toContain('lm_head');
    expect(quantizationOf(model)?.bits).toBe(4);
    const saved = await quantizedStateDict(model);
    for (const k of reader.names()) {
      const want = await reader.raw(k);
      const got = saved[k] as { bytes: Uint8Array };
      expect(Buffer.from(got.bytes).equals(Buffer.from(want.bytes)), k).toBe(true);
    }
    model.dispose();
  });
  it('int8 of the float base gives the bytes transformers saved; skip modules are honoured', async () => {
    const { config, reader } = goldenBase('llama_lora_int8');
    const { fromPretrained } = await import('@peftjs/models/node');
    const model = await fromPretrained(join(goldenRoot(), 'base', 'llama'));
    await quantizeModel(model, config.quantization_config);
    const saved = await quantizedStateDict(model);
    for (const k of reader.names()) {
      const want = await reader.raw(k);
      expect(Buffer.from((saved[k] as { bytes: Uint8Array }).bytes).equals(Buffer.from(want.bytes)), k).toBe(true);
    }
    model.dispose();
    const m2 = await fromPretrained(join(goldenRoot(), 'base', 'llama'));
    const done = await quantizeModel(m2, { load_in_4bit: true, llm_int8_skip_modules: ['mlp', 'lm_head'] });
    expect(done.length).toBe(8);
    expect(done.every((p) => p.includes('self_attn'))).toBe(true);
    expect((m2.getSubmodule('model.layers.0.self_attn.q_proj') as Linear4bit).quantType).toBe('fp4');
    m2.dispose();
  });
});
