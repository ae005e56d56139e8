import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ByteSource } from '../src/index.js';
import { bytesSource, loadTensors, SafetensorsReader, serialize } from '../src/index.js';
import { fileSource, loadFile, openCheckpoint, openFile } from '../src/node.js';
import { golden, goldenSafetensorsFiles, naiveDecode } from './helpers.js';

const files = goldenSafetensorsFiles();

describe('golden files from Python (safetensors.torch / transformers / peft)', () => {
  it('finds the golden files', () => {
    expect(files.length).toBeGreaterThanOrEqual(20);
    expect(files).toContain(golden('base/llama/model.safetensors'));
    expect(files).toContain(golden('llama_lora_qv/adapter/adapter_model.safetensors'));
  });

  for (const file of files) {
    const rel = path.relative(golden(), file);
    it(`${rel}: names, dtypes, shapes, metadata and every value match an independent decoder`, async () => {
      const buf = readFileSync(file);
      const ref = naiveDecode(buf);
      const r = SafetensorsReader.fromBytes(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), { strict: true });
      expect(new Set(r.names())).toEqual(new Set(ref.tensors.keys()));
      expect(r.metadata === null ? undefined : { ...r.metadata }).toEqual(ref.metadata);
      expect(r.header.gaps).toEqual([]);
      for (const [name, t] of ref.tensors) {
        const info = r.info(name);
        expect(info.dtype).toBe(t.dtype);
        expect(info.shape).toEqual(t.shape);
        expect(info.dataOffsets).toEqual(t.offsets);
        const d = await r.read(name);
        expect(d.shape).toEqual(t.shape);
        if (t.dtype === 'I64' || t.dtype === 'U8' || t.dtype === 'I8') {
          expect(d.dtype).toBe('i32');
          expect(Array.from(d.data)).toEqual(t.values);
        } else {
          expect(d.dtype).toBe('f32');
          // F32 exactly; F64 rounded to nearest f32
          expect(Array.from(d.data)).toEqual(t.values.map(Math.fround));
        }
        const raw = await r.raw(name);
        const at = r.header.dataOffset + t.offsets[0];
        expect(Buffer.from(raw.bytes).equals(buf.subarray(at, at + info.byteLength))).toBe(true);
      }
    });

    it(`${rel}: re-serializing the raw tensors gives the identical file (canonical layout)`, () => {
      const buf = new Uint8Array(readFileSync(file));
      const r = SafetensorsReader.fromBytes(buf);
      const raw = Object.fromEntries(r.names().map((n) => [n, r.rawSync(n)]));
      const out = serialize(raw, r.metadata);
      expect(Buffer.from(out).equals(Buffer.from(buf))).toBe(true);
    });
  }

  it('io.safetensors: the F64 loss equals meta.json loss exactly, inputs follow the documented layout', async () => {
    for (const c of ['llama_lora_qv', 'bert_lora_cls', 'gpt2_lora_conv1d', 'llama_dora']) {
      const meta = JSON.parse(readFileSync(golden(c, 'meta.json'), 'utf8'));
      const r = await openFile(golden(c, 'io.safetensors'));
      try {
        expect(r.info('loss').dtype).toBe('F64');
        const raw = await r.raw('loss');
        const loss = new DataView(raw.bytes.buffer, raw.bytes.byteOffset, 8).getFloat64(0, true);
        expect(loss).toBe(meta.loss);
        expect((await r.read('loss')).data[0]).toBe(Math.fround(meta.loss));

        for (const k of ['input_ids', 'attention_mask', 'labels']) expect(r.info(k).dtype).toBe('I64');
        const mask = Array.from((await r.read('attention_mask')).data);
        expect(mask).toEqual([...Array(10).fill(1), ...Array(7).fill(1), 0, 0, 0]);
        const ids = (await r.read('input_ids', { dtype: 'i32' })).data;
        expect(ids.length).toBe(20);
        expect(ids.every((v) => v >= 0 && v < 128)).toBe(true);
        const labels = Array.from((await r.read('labels')).data);
        if (meta.arch === 'bert') expect(labels).toEqual([1, 0]);
        else expect(labels).toEqual(Array.from(ids, (v, i) => (mask[i] ? v : -100)));
      } finally {
        await r.close();
      }
    }
  });

  it('adapters: tensor sizes add up to meta.json trainable_params, base + adapter to all_params', async () => {
    for (const c of ['llama_lora_qv', 'bert_lora_cls', 'gpt2_lora_conv1d', 'llama_dora', 'llama_ia3', 'llama_vblora']) {
      const meta = JSON.parse(readFileSync(golden(c, 'meta.json'), 'utf8'));
      const adapter = await openCheckpoint(golden(c, 'adapter'));
      const base = await openCheckpoint(golden('base', meta.arch));
      try {
        expect(adapter.metadata).toEqual({ format: 'pt' });
        const count = (r: typeof adapter) => r.names().reduce((s, n) => s + r.info(n).size, 0);
        expect(count(adapter)).toBe(meta.trainable_params);
        expect(count(base) + count(adapter)).toBe(meta.all_params);
      } finally {
        await adapter.close();
        await base.close();
      }
    }
  });

  it('shapes agree with config.json (llama, gpt2 Conv1D [in, out])', async () => {
    const cfg = JSON.parse(readFileSync(golden('base/llama/config.json'), 'utf8'));
    const r = await openCheckpoint(golden('base/llama'));
    try {
      const h = cfg.hidden_size;
      expect(r.info('model.embed_tokens.weight').shape).toEqual([cfg.vocab_size, h]);
      expect(r.info('lm_head.weight').shape).toEqual([cfg.vocab_size, h]);
      expect(r.info('model.layers.0.self_attn.q_proj.weight').shape).toEqual([
        cfg.num_attention_heads * cfg.head_dim,
        h,
      ]);
      expect(r.info('model.layers.1.self_attn.k_proj.weight').shape).toEqual([
        cfg.num_key_value_heads * cfg.head_dim,
        h,
      ]);
      expect(r.info('model.layers.0.mlp.up_proj.weight').shape).toEqual([cfg.intermediate_size, h]);
      expect(r.info('model.norm.weight').shape).toEqual([h]);
    } finally {
      await r.close();
    }
    const g = await openCheckpoint(golden('base/gpt2'));
    try {
      expect(g.info('transformer.h.0.attn.c_attn.weight').shape).toEqual([64, 192]);
      expect(g.info('transformer.h.0.mlp.c_fc.weight').shape).toEqual([64, 256]);
    } finally {
      await g.close();
    }
  });

  it('io.safetensors is laid out I64, then F64, then F32, each by name (the reference writer order)', () => {
    const r = SafetensorsReader.fromBytes(new Uint8Array(readFileSync(golden('llama_lora_qv/io.safetensors'))));
    const names = r.names();
    const dtypes = names.map((n) => r.info(n).dtype);
    const firstF64 = dtypes.indexOf('F64');
    const firstF32 = dtypes.indexOf('F32');
    expect(dtypes.slice(0, firstF64).every((d) => d === 'I64')).toBe(true);
    expect(dtypes.slice(firstF64, firstF32).every((d) => d === 'F64')).toBe(true);
    expect(dtypes.slice(firstF32).every((d) => d === 'F32')).toBe(true);
    const f32 = names.slice(firstF32);
    expect(f32).toEqual([...f32].sort());
  });

  it('opening a file reads only the 8-byte prefix and the header; each tensor is read at its offset', async () => {
    const path = golden('base/llama/model.safetensors');
    const inner = await fileSource(path);
    const reads: [number, number][] = [];
    const spy: ByteSource = {
      size: inner.size,
      freshReads: true,
      name: path,
      read: (o, l) => {
        reads.push([o, l]);
        return inner.read(o, l);
      },
      close: () => inner.close(),
    };
    const r = await SafetensorsReader.open(spy);
    const n = r.header.headerLength;
    expect(reads).toEqual([
      [0, 8],
      [8, n],
    ]);
    const info = r.info('model.layers.1.mlp.down_proj.weight');
    await r.read(info.name);
    expect(reads[2]).toEqual([8 + n + info.dataOffsets[0], info.byteLength]);
    expect(reads.length).toBe(3);
    await r.close();
  });

  it('node loadFile and the in-memory loadTensors agree, for a directory, a file and bytes', async () => {
    const dir = await loadFile(golden('llama_lora_qv/adapter'));
    const file = await loadFile(golden('llama_lora_qv/adapter/adapter_model.safetensors'));
    const bytes = await loadTensors(readFileSync(golden('llama_lora_qv/adapter/adapter_model.safetensors')));
    const blob = await loadTensors(new Blob([readFileSync(golden('llama_lora_qv/adapter/adapter_model.safetensors'))]));
    expect(Object.keys(dir).length).toBe(8);
    for (const k of Object.keys(dir)) {
      const v = await dir[k]!.data();
      expect(await file[k]!.data()).toEqual(v);
      expect(await bytes[k]!.data()).toEqual(v);
      expect(await blob[k]!.data()).toEqual(v);
      expect(dir[k]!.shape).toEqual(bytes[k]!.shape);
    }
    const ref = naiveDecode(readFileSync(golden('llama_lora_qv/adapter/adapter_model.safetensors')));
    const a = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
    expect(Array.from(await dir[a]!.data())).toEqual(ref.tensors.get(a)!.values);
    for (const rec of [dir, file, bytes, blob]) for (const t of Object.values(rec)) t.dispose();
  });

  it('in-memory reads are views of the input; converted data is a copy', async () => {
    const buf = new Uint8Array(readFileSync(golden('llama_prompt/adapter/adapter_model.safetensors')));
    const r = SafetensorsReader.fromBytes(buf);
    const raw = r.rawSync('prompt_embeddings');
    expect(raw.bytes.buffer).toBe(buf.buffer);
    const d = r.readSync('prompt_embeddings');
    expect(d.data.buffer).not.toBe(buf.buffer);
    expect(bytesSource(buf).freshReads).toBe(false);
  });
});
