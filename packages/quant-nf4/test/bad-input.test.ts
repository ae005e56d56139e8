/**
 * Bad quantized checkpoints: targeted cases (wrong absmax length, packed length not matching the shape, malformed
 * quant_state JSON, unknown quant type / blocksize) are refused with a QuantizationError naming the tensor, and a
 * fuzz run mutates the golden quantized checkpoints thousands of times: each variant loads or throws a typed error
 * (never another exception, a hang, or a leak).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateDictError } from '@peftjs/nn';
import { type RawTensorData, SafetensorsError, SafetensorsReader, serialize } from '@peftjs/safetensors';
import { memory } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { loadQuantizedModel, QuantizationError } from '../src/index.js';

type Dict = Record<string, RawTensorData>;

async function goldenDict(name: string): Promise<{ config: Record<string, unknown>; dict: Dict }> {
  const dir = join(goldenRoot(), name, 'base');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const reader = SafetensorsReader.fromBytes(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const dict: Dict = {};
  for (const n of reader.names()) {
    const r = await reader.raw(n);
    dict[n] = { dtype: r.dtype, shape: [...r.shape], bytes: new Uint8Array(r.bytes) };
  }
  return { config, dict };
}

async function load(config: Record<string, unknown>, dict: Dict) {
  const m = await loadQuantizedModel(config, SafetensorsReader.fromBytes(serialize(dict)));
  m.dispose();
}

const enc = (s: string) => new TextEncoder().encode(s);
const Q = 'model.layers.1.self_attn.q_proj.weight';
const QS = `${Q}.quant_state.bitsandbytes__nf4`;

function withState(dict: Dict, patch: (o: Record<string, unknown>) => void): Dict {
  const o = JSON.parse(new TextDecoder().decode(dict[QS].bytes));
  patch(o);
  const bytes = enc(JSON.stringify(o));
  return { ...dict, [QS]: { dtype: 'U8', shape: [bytes.length], bytes } };
}

async function refused(config: Record<string, unknown>, dict: Dict, tensorName: string, code?: string) {
  const err = await load(config, dict).then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(QuantizationError);
  expect((err as QuantizationError).tensor).toBe(tensorName);
  expect((err as Error).message).toContain(tensorName);
  if (code) expect((err as QuantizationError).code).toBe(code);
}

describe('bad quantized checkpoints are refused with a QuantizationError naming the tensor', () => {
  it('4-bit: absmax, packed, quant_state, quant type, blocksize, missing tensors', async () => {
    const { config, dict } = await goldenDict('llama_qlora_nf4');
    await load(config, dict); // the golden one loads
    const short = (k: string, n: number): Dict => ({
      ...dict,
      [k]: {
        ...dict[k],
        shape: dict[k].shape.length === 2 ? [n, 1] : [n],
        bytes: dict[k].bytes.slice(0, n * (dict[k].dtype === 'F32' ? 4 : 1)),
      },
    });
    await refused(config, short(`${Q}.absmax`, 63), `${Q}.absmax`, 'BAD_LENGTH');
    await refused(config, short(Q, 2047), Q, 'BAD_LENGTH');
    await refused(config, short(`${Q}.nested_absmax`, 0), `${Q}.nested_absmax`, 'BAD_LENGTH');
    await refused(config, short(`${Q}.quant_map`, 15), `${Q}.quant_map`, 'BAD_LENGTH');
    await refused(config, { ...dict, [QS]: { dtype: 'U8', shape: [5], bytes: enc('{"qua') } }, QS, 'BAD_QUANT_STATE');
    await refused(config, { ...dict, [QS]: { dtype: 'U8', shape: [2], bytes: Uint8Array.of(0xff, 0xfe) } }, QS);
    await refused(
      config,
      withState(dict, (o) => {
        o.quant_type = 'nf5';
      }),
      QS,
      'BAD_QUANT_TYPE',
    );
    await refused(
      config,
      withState(dict, (o) => {
        o.blocksize = 48;
      }),
      QS,
      'BAD_BLOCKSIZE',
    );
    await refused(
      config,
      withState(dict, (o) => {
        o.shape = [64, 65];
      }),
      QS,
      'BAD_SHAPE',
    );
    await refused(
      config,
      withState(dict, (o) => {
        o.shape = [64];
      }),
      QS,
      'BAD_QUANT_STATE',
    );
    await refused(
      config,
      withState(dict, (o) => {
        delete o.nested_offset;
      }),
      QS,
      'BAD_QUANT_STATE',
    );
    await refused(
      config,
      withState(dict, (o) => {
        o.blocksize = 128;
      }),
      `${Q}.absmax`,
      'BAD_LENGTH',
    );
    const { [`${Q}.quant_map`]: _gone, ...noMap } = dict;
    await refused(config, noMap, `${Q}.quant_map`, 'MISSING_TENSOR');
    const { [QS]: _qs, ...noState } = dict;
    await refused(config, noState, `${Q}.quant_state.bitsandbytes__nf4|fp4`, 'MISSING_TENSOR');
    await refused(
      config,
      { ...dict, [`${Q}.absmax`]: { ...dict[`${Q}.absmax`], dtype: 'I8' } },
      `${Q}.absmax`,
      'BAD_DTYPE',
    );
  });

  it('8-bit: weight dtype and shape, SCB length, weight_format, missing SCB; configs', async () => {
    const { config, dict } = await goldenDict('llama_lora_int8');
    await load(config, dict);
    const W = 'model.layers.0.self_attn.v_proj';
    await refused(
      config,
      { ...dict, [`${W}.weight`]: { ...dict[`${W}.weight`], dtype: 'U8' } },
      `${W}.weight`,
      'BAD_DTYPE',
    );
    await refused(
      config,
      { ...dict, [`${W}.weight`]: { dtype: 'I8', shape: [64, 32], bytes: dict[`${W}.weight`].bytes } },
      `${W}.weight`,
      'BAD_SHAPE',
    );
    await refused(
      config,
      { ...dict, [`${W}.SCB`]: { dtype: 'F32', shape: [31], bytes: dict[`${W}.SCB`].bytes.slice(0, 124) } },
      `${W}.SCB`,
      'BAD_LENGTH',
    );
    await refused(
      config,
      { ...dict, [`${W}.weight_format`]: { dtype: 'U8', shape: [], bytes: Uint8Array.of(1) } },
      `${W}.weight_format`,
    );
    const { [`${W}.SCB`]: _s, ...noScb } = dict;
    await refused(config, noScb, `${W}.SCB`, 'MISSING_TENSOR');
    const qc = config.quantization_config as Record<string, unknown>;
    await expect(load({ ...config, quantization_config: { ...qc, load_in_4bit: true } }, dict)).rejects.toThrow(
      QuantizationError,
    );
    await expect(load({ ...config, quantization_config: { ...qc, quant_method: 'gptq' } }, dict)).rejects.toThrow(
      /bitsandbytes/,
    );
  });
});

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

const JSON_MUTATIONS: ((o: Record<string, unknown>, r: (n: number) => number) => void)[] = [
  (o, r) => {
    o.quant_type = ['fp4', 'nf5', 'int4', null, 3][r(5)];
  },
  (o, r) => {
    o.blocksize = [16, 32, 48, 128, 4096, 8192, -64, 0, 64.5, '64', 2 ** 40][r(11)];
  },
  (o, r) => {
    o.shape = [[64, 64], [64, 63], [0, 64], [2 ** 31, 2 ** 31], [64], [-1, 64], [64, 64, 1], 'x', [1e300, 1]][r(9)];
  },
  (o, r) => {
    o.nested_offset = [Number.NaN, 'NaN', null, 1e308, -0, 0.5][r(6)];
  },
  (o, r) => {
    o.nested_blocksize = [0, 1, 255, 256, 2 ** 30, -256, 3.5][r(7)];
  },
  (o, r) => {
    o.dtype = ['float32', 'bfloat16', 'int8', 7][r(4)];
  },
  (o, r) => {
    delete o[['quant_type', 'blocksize', 'dtype', 'shape', 'nested_blocksize', 'nested_offset'][r(6)]];
  },
  (o, r) => {
    o[`extra${r(3)}`] = r(100);
  },
];

/** One random mutation of a quantized checkpoint (tensors only: the file stays well-formed). */
function mutate(dict: Dict, r: (n: number) => number): Dict {
  const quantKeys = Object.keys(dict).filter(
    (k) => /\.weight($|\.)|\.SCB$|\.weight_format$/.test(k) && !/layernorm|embed|lm_head|norm\.weight/.test(k),
  );
  const k = quantKeys[r(quantKeys.length)];
  const t = dict[k];
  const out: Dict = { ...dict };
  switch (r(7)) {
    case 0: // drop the tensor
      delete out[k];
      break;
    case 1: {
      // a different length
      const n = t.bytes.length;
      const len = [0, 1, n - 1, n + 1, n * 2, Math.floor(n / 2), 4][r(7)];
      const bytes = new Uint8Array(Math.max(0, len));
      bytes.set(t.bytes.subarray(0, Math.min(n, len)));
      out[k] = { dtype: 'U8', shape: [bytes.length], bytes };
      break;
    }
    case 2: {
      // another dtype over the same bytes (when the size allows)
      const dtype = (['U8', 'I8', 'F32', 'F16', 'BOOL', 'I32'] as const)[r(6)];
      const item = { U8: 1, I8: 1, BOOL: 1, F16: 2, F32: 4, I32: 4 }[dtype];
      if (t.bytes.length % item === 0) out[k] = { dtype, shape: [t.bytes.length / item], bytes: t.bytes };
      break;
    }
    case 3: {
      // flip bytes (values: must still load)
      const bytes = new Uint8Array(t.bytes);
      for (let i = 0; i < 1 + r(8); i++) if (bytes.length) bytes[r(bytes.length)] ^= 1 << r(8);
      out[k] = { ...t, bytes };
      break;
    }
    case 4: {
      // reshape (same bytes)
      const n = t.bytes.length / ({ U8: 1, I8: 1, F32: 4 } as Record<string, number>)[t.dtype];
      if (Number.isInteger(n) && n > 0) out[k] = { ...t, shape: [[n], [1, n], [n, 1], [n, 1, 1]][r(4)] };
      break;
    }
    default: {
      // a quant state's JSON
      const qsKeys = Object.keys(dict).filter((n) => n.includes('quant_state'));
      if (!qsKeys.length) return mutate(dict, r);
      const qk = qsKeys[r(qsKeys.length)];
      let text = new TextDecoder().decode(dict[qk].bytes);
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        // an earlier mutation broke it already: corrupt characters instead
      }
      if (r(3) === 0 || !parsed || typeof parsed !== 'object') {
        const chars = [...text];
        for (let i = 0; i < 1 + r(4); i++) chars[r(chars.length)] = String.fromCharCode(32 + r(95));
        text = chars.join('');
      } else {
        JSON_MUTATIONS[r(JSON_MUTATIONS.length)](parsed, r);
        text = JSON.stringify(parsed);
      }
      const bytes = enc(text);
      out[qk] = { dtype: 'U8', shape: [bytes.length], bytes };
    }
  }
  return out;
}

describe('fuzz: mutated golden quantized checkpoints load or throw a typed error', () => {
  for (const name of ['llama_qlora_nf4', 'llama_lora_int8']) {
    it(`${name}: 1500 variants`, async () => {
      const { config, dict } = await goldenDict(name);
      const r = rng(name.length * 7919);
      const baseline = memory();
      let loaded = 0;
      let refusedCount = 0;
      for (let i = 0; i < 1500; i++) {
        let variant = mutate(dict, r);
        if (r(4) === 0) variant = mutate(variant, r);
        try {
          await load(config, variant);
          loaded++;
        } catch (e) {
          if (!(e instanceof QuantizationError || e instanceof SafetensorsError || e instanceof StateDictError)) {
            throw new Error(`variant ${i}: untyped error ${(e as Error).stack}`);
          }
          refusedCount++;
        }
      }
      const after = memory();
      expect(after.tensors).toBe(baseline.tensors);
      expect(after.bytes).toBe(baseline.bytes);
      console.log(`${name}: ${loaded} variants loaded, ${refusedCount} refused`);
      expect(loaded).toBeGreaterThan(50);
      expect(refusedCount).toBeGreaterThan(500);
    }, 120_000);
  }
});
