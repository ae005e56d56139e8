/**
 * Loading adapters is robust to bad files: mutated adapter_config.json objects (wrong types, unknown or missing
 * peft_type, missing and extra fields, absurd sizes) and mutated adapter tensors (wrong shapes, missing and extra
 * keys, integer dtypes, non-finite values, corrupt bytes) either load — and then the model holds exactly the file's
 * tensors — or throw a typed PeftConfigError / PeftError that names the field, key or file at fault. After a failed
 * load the base model is exactly as it was. Mutations come from PEFT's own golden adapters (LoRA, DoRA, IA³).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import '@peftjs/lora';
import '@peftjs/dora';
import '@peftjs/ia3';
import { fromPretrained } from '@peftjs/models/node';
import { AdapterLayer, type AdapterFiles, PeftConfigError, PeftError, PeftModel } from '@peftjs/registry';
import { SafetensorsReader, serialize } from '@peftjs/safetensors';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';

const CASES = ['llama_lora_qv', 'llama_dora', 'llama_ia3'];

/** A seeded PRNG (mulberry32), so every run tries the same mutants. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e12,
  2 ** 31,
  100_000,
  '',
  'x',
  '(',
  'all-linear',
  true,
  false,
  [],
  [''],
  ['nope'],
  [1, 2],
  {},
  { a: 1 },
];

interface Mutant {
  what: string;
  files: AdapterFiles;
}

type RawTensors = Record<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;

function rawTensors(weights: Uint8Array): RawTensors {
  const r = SafetensorsReader.fromBytes(weights);
  const out: RawTensors = {};
  for (const n of r.names()) {
    const t = r.rawSync(n);
    out[n] = { dtype: t.dtype, shape: [...t.shape], bytes: new Uint8Array(t.bytes) };
  }
  return out;
}
const pack = (t: RawTensors) => serialize(t as never, { format: 'pt' });

function configMutants(files: AdapterFiles, rand: () => number): Mutant[] {
  const out: Mutant[] = [];
  const keys = Object.keys(files.config);
  for (const k of keys) {
    const { [k]: _, ...rest } = files.config;
    out.push({ what: `config without ${k}`, files: { ...files, config: rest } });
    for (const v of ODD_VALUES) {
      if (rand() < 0.6)
        out.push({
          what: `config ${k}=${JSON.stringify(v)}`,
          files: { ...files, config: { ...files.config, [k]: v } },
        });
    }
  }
  out.push({ what: 'config with an extra field', files: { ...files, config: { ...files.config, future_field: [1] } } });
  out.push({ what: 'unknown peft_type', files: { ...files, config: { ...files.config, peft_type: 'NOPE' } } });
  for (const bad of [[], 'LORA', 7, null]) {
    out.push({ what: `config is ${JSON.stringify(bad)}`, files: { ...files, config: bad as never } });
  }
  return out;
}

function tensorMutants(files: AdapterFiles, rand: () => number): Mutant[] {
  const out: Mutant[] = [];
  const raw = rawTensors(files.weights);
  const names = Object.keys(raw);
  for (const n of names) {
    const { [n]: _, ...rest } = raw;
    out.push({ what: `weights without ${n}`, files: { ...files, weights: pack(rest) } });
    const t = raw[n]!;
    const shapes = [[...t.shape].reverse(), [t.shape[0]! * (t.shape[1] ?? 1)], [...t.shape, 1]];
    for (const shape of shapes) {
      if (shape.join() === t.shape.join()) continue;
      out.push({
        what: `${n} shaped [${shape}]`,
        files: { ...files, weights: pack({ ...raw, [n]: { ...t, shape } }) },
      });
    }
    out.push({ what: `${n} as I32`, files: { ...files, weights: pack({ ...raw, [n]: { ...t, dtype: 'I32' } }) } });
    const nan = new Uint8Array(t.bytes);
    new DataView(nan.buffer).setFloat32(4 * Math.floor(rand() * (nan.length / 4)), Number.NaN, true);
    out.push({ what: `${n} holding NaN`, files: { ...files, weights: pack({ ...raw, [n]: { ...t, bytes: nan } }) } });
  }
  const first = raw[names[0]!]!;
  out.push({
    what: 'an extra tensor',
    files: { ...files, weights: pack({ ...raw, 'base_model.model.extra.weight': first }) },
  });
  for (let i = 0; i < 40; i++) {
    const bytes = new Uint8Array(files.weights);
    const at = Math.floor(rand() * Math.min(bytes.length, 600)); // mostly the header
    bytes[at] = Math.floor(rand() * 256);
    out.push({ what: `byte ${at} flipped`, files: { ...files, weights: bytes } });
  }
  for (const len of [0, 7, 8, 40, Math.floor(files.weights.length / 2)]) {
    out.push({ what: `truncated to ${len} bytes`, files: { ...files, weights: files.weights.slice(0, len) } });
  }
  return out;
}

/** The names an error may point at: config fields, tensor keys, module paths, the files. */
function namesSomething(e: Error, files: AdapterFiles): boolean {
  if (e instanceof PeftConfigError) return e.field.length > 0;
  const words = [
    'adapter_config.json',
    'adapter_model.safetensors',
    'peft_type',
    ...Object.keys(typeof files.config === 'object' && files.config ? files.config : {}),
  ];
  return words.some((w) => e.message.includes(w)) || /'[\w.]+'|\bbase_model\.[\w.]+/.test(e.message);
}

describe('adapter loading under mutated files', () => {
  it('every mutant loads exactly or fails with a typed error naming the culprit; the base is untouched after a failure', async () => {
    const model = await fromPretrained(join(goldenRoot(), 'base', 'llama'), { tokenizer: false });
    const baseKeys = model.namedParameters().map(([k]) => k);
    const rand = rng(2026);
    let loaded = 0;
    let refused = 0;
    const seen = new Map<string, number>();
    for (const c of CASES) {
      const dir = join(goldenRoot(), c, 'adapter');
      const files: AdapterFiles = {
        config: JSON.parse(await readFile(join(dir, 'adapter_config.json'), 'utf8')),
        weights: new Uint8Array(await readFile(join(dir, 'adapter_model.safetensors'))),
      };
      const mutants = [...configMutants(files, rand), ...tensorMutants(files, rand)];
      for (const m of mutants) {
        let peft: PeftModel | null = null;
        try {
          peft = await PeftModel.fromAdapterFiles(model, m.files);
        } catch (e) {
          refused++;
          const err = e as Error;
          if (!(err instanceof PeftError)) throw new Error(`${c}: ${m.what}: untyped ${err?.name}: ${err?.message}`);
          if (!namesSomething(err, m.files))
            throw new Error(`${c}: ${m.what}: the error names nothing: ${err.message}`);
          seen.set(err.name, (seen.get(err.name) ?? 0) + 1);
          // nothing left behind
          expect(
            model.namedModules().some(([, x]) => x instanceof AdapterLayer),
            `${c}: ${m.what}: ${err.message}`,
          ).toBe(false);
          expect(model.namedParameters().map(([k]) => k)).toEqual(baseKeys);
          continue;
        }
        loaded++;
        // a mutant that loads holds exactly the file's tensors
        const file = SafetensorsReader.fromBytes(m.files.weights);
        const state = peft.adapterStateDict();
        for (const n of file.names()) {
          const ours = await state[n]!.data();
          const ref = (await file.read(n)).data;
          expect(Array.from(ours), `${c}: ${m.what}: ${n}`).toEqual(Array.from(ref));
        }
        peft.unload();
      }
    }
    expect(loaded).toBeGreaterThan(20); // harmless mutations (extra fields, other alphas) load
    expect(refused).toBeGreaterThan(200);
    expect(seen.get('PeftConfigError')).toBeGreaterThan(10);
    expect(seen.get('PeftError')).toBeGreaterThan(10);
    model.dispose();
  });
});
