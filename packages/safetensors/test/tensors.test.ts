import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memory, tensor } from '@peftjs/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTensors, SafetensorsReader, saveTensors } from '../src/index.js';
import { loadFile, openCheckpoint, saveFile, saveSharded } from '../src/node.js';
import { golden } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'peftjs-st-tensors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('tensor layer (@peftjs/tensor)', () => {
  it('loadTensors → saveTensors → loadTensors gives identical tensors; the bytes equal the Python file', async () => {
    const file = new Uint8Array(readFileSync(golden('llama_lora_qv/adapter/adapter_model.safetensors')));
    const t1 = await loadTensors(file);
    const saved = await saveTensors(t1, { format: 'pt' });
    expect(Buffer.from(saved).equals(Buffer.from(file))).toBe(true);
    const t2 = await loadTensors(saved);
    expect(Object.keys(t2).sort()).toEqual(Object.keys(t1).sort());
    for (const k of Object.keys(t1)) {
      expect(t2[k]!.shape).toEqual(t1[k]!.shape);
      expect(t2[k]!.dtype).toBe('f32');
      expect(await t2[k]!.data()).toEqual(await t1[k]!.data());
    }
    for (const rec of [t1, t2]) for (const t of Object.values(rec)) t.dispose();
  });

  it('dtypes: defaults per stored dtype, a forced dtype, or per tensor', async () => {
    const io = new Uint8Array(readFileSync(golden('llama_lora_qv/io.safetensors')));
    const d = await loadTensors(io, { names: ['input_ids', 'loss', 'logits'] });
    expect(d.input_ids!.dtype).toBe('i32');
    expect(d.input_ids!.shape).toEqual([2, 10]);
    expect(d.loss!.dtype).toBe('f32');
    expect(d.logits!.dtype).toBe('f32');
    const f = await loadTensors(io, { names: (n) => n === 'attention_mask', dtype: 'f32' });
    expect(Object.keys(f)).toEqual(['attention_mask']);
    expect(f.attention_mask!.dtype).toBe('f32');
    const b = await loadTensors(io, {
      names: ['attention_mask', 'labels'],
      dtype: (info) => (info.name === 'attention_mask' ? 'bool' : undefined),
    });
    expect(b.attention_mask!.dtype).toBe('bool');
    expect(Array.from(await b.attention_mask!.data())).toEqual([...Array(17).fill(1), 0, 0, 0]);
    expect(b.labels!.dtype).toBe('i32');
    await expect(loadTensors(io, { names: ['nope'] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('saveTensors: f32/i32/bool by default; F16/BF16/I64 storage on request', async () => {
    const w = tensor([0.1, -2, 3.5, 65504], [2, 2]);
    const ids = tensor(new Int32Array([1, -1, 7]), [3]);
    const m = tensor([true, false], [2], { dtype: 'bool' });
    const r1 = SafetensorsReader.fromBytes(await saveTensors({ w, ids, m }));
    expect(['w', 'ids', 'm'].map((n) => r1.info(n).dtype)).toEqual(['F32', 'I32', 'BOOL']);
    const r2 = SafetensorsReader.fromBytes(
      await saveTensors({ w, ids, m }, null, {
        dtype: (name) => (name === 'w' ? 'F16' : name === 'ids' ? 'I64' : undefined),
      }),
    );
    expect(r2.info('w').dtype).toBe('F16');
    expect(r2.info('ids').dtype).toBe('I64');
    expect(Array.from(r2.readSync('w').data)).toEqual([0.0999755859375, -2, 3.5, 65504]);
    expect(Array.from(r2.readSync('ids').data)).toEqual([1, -1, 7]);
    const r3 = SafetensorsReader.fromBytes(await saveTensors({ w }, undefined, { dtype: 'BF16' }));
    expect(r3.readSync('w').data[0]).toBe(0.10009765625);
    for (const t of [w, ids, m]) t.dispose();
  });

  it('node saveFile / loadFile / saveSharded', async () => {
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tensor([7, 8], [2]);
    const p = path.join(tmp, 'adapter_model.safetensors');
    await saveFile(p, { 'x.lora_A.weight': a, 'x.lora_B.weight': b }, { format: 'pt' });
    const back = await loadFile(tmp);
    expect(await back['x.lora_A.weight']!.data()).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(back['x.lora_A.weight']!.shape).toEqual([2, 3]);
    const r = await openCheckpoint(p);
    expect(r.metadata).toEqual({ format: 'pt' });
    await r.close();
    await expect(saveFile(path.join(tmp, 'x.bin'), { a })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const sdir = mkdtempSync(path.join(tmp, 'sharded-'));
    const res = await saveSharded(sdir, { a, b }, { maxShardSize: 24 });
    expect(res.files.length).toBe(2);
    const sh = await loadFile(sdir);
    expect(await sh.b!.data()).toEqual(new Float32Array([7, 8]));
    for (const t of [a, b, ...Object.values(back), ...Object.values(sh)]) t.dispose();
  });

  it('disposes the tensors it created when a later tensor fails', async () => {
    const io = new Uint8Array(readFileSync(golden('llama_lora_qv/io.safetensors')));
    // logits is F32 with fractions: asking for i32 fails after input_ids was created
    const before = memory().tensors;
    await expect(loadTensors(io, { names: ['input_ids', 'logits'], dtype: 'i32' })).rejects.toMatchObject({
      code: 'BAD_CONVERSION',
    });
    expect(memory().tensors).toBe(before);
    const ok = await loadTensors(io, { names: ['input_ids'], dtype: 'i32' });
    expect(memory().tensors).toBe(before + 1);
    ok.input_ids!.dispose();
  });
});
