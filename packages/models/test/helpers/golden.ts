import { join } from 'node:path';
import { openFile } from '@peftjs/safetensors/node';
import { type Backend, relMaxError as tensorRelMaxError, type Tensor, tidy } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { expect } from 'vitest';
import type { PreTrainedModel } from '../../src/index.js';
import { fromPretrained } from '../../src/node.js';

/** The golden reference folder (missing is an error, not a skip: these are the acceptance checks). */
export { goldenRoot };

/** The golden suite's error measure (from @peftjs/tensor), after checking the lengths agree. */
export function relMaxError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(ours.length).toBe(ref.length);
  return tensorRelMaxError(ours, ref);
}

/** One base model's checks, with the errors seen. */
export interface BaseResult {
  logits: number;
  loss: number;
  /** Largest gradient error over all parameters, and where. */
  grad: { max: number; worst: string; count: number };
}

/** Tolerances of the golden README. */
export const TOL = { logits: 1e-4, grad: 1e-3, loss: 1e-5 };

async function readF64(reader: Awaited<ReturnType<typeof openFile>>, name: string): Promise<number> {
  const raw = await reader.raw(name);
  const copy = new Uint8Array(raw.bytes);
  if (raw.dtype === 'F64') return new DataView(copy.buffer).getFloat64(0, true);
  if (raw.dtype === 'F32') return new DataView(copy.buffer).getFloat32(0, true);
  throw new Error(`${name}: unexpected dtype ${raw.dtype}`);
}

/**
 * Load golden/base/<arch> with `fromPretrained`, run io.safetensors' inputs forward and backward, and compare
 * logits, loss and the gradient of every base parameter with the references.
 */
export async function runBaseCase(arch: 'llama' | 'bert' | 'gpt2', backend?: Backend): Promise<BaseResult> {
  const dir = join(goldenRoot(), 'base', arch);
  const model: PreTrainedModel = await fromPretrained(dir, { backend, strict: true });
  expect(model.loadReport).toMatchObject({ missingKeys: [], unexpectedKeys: [], mismatched: [] });
  const io = await openFile(join(dir, 'io.safetensors'));
  try {
    const read = async (name: string, dtype?: 'f32' | 'i32') => {
      const d = await io.read(name, dtype ? { dtype } : {});
      return d;
    };
    const { tensor } = await import('@peftjs/tensor');
    const asTensor = async (name: string, dtype: 'f32' | 'i32') => {
      const d = await read(name, dtype);
      return tensor(d.data, [...d.shape], { dtype, backend });
    };
    const inputIds = await asTensor('input_ids', 'i32');
    const attentionMask = await asTensor('attention_mask', 'i32');
    const labels = await asTensor('labels', 'i32');
    const params = model.namedParameters();
    for (const [, p] of params) expect(p.requiresGrad).toBe(true);
    const { logits, loss } = tidy(() => {
      const out = model.forward({ inputIds, attentionMask, labels });
      out.loss!.backward();
      return out as { logits: Tensor; loss: Tensor };
    });
    const refLogits = (await read('logits')).data;
    const logitsErr = relMaxError(await logits.data(), refLogits);
    const refLoss = await readF64(io, 'loss');
    const lossErr = Math.abs((await loss.item()) - refLoss) / Math.abs(refLoss);
    // every base parameter has a reference gradient, and every reference names a parameter
    const gradNames = io
      .names()
      .filter((n) => n.startsWith('grad.'))
      .map((n) => n.slice(5));
    expect(params.map(([n]) => n).sort()).toEqual([...gradNames].sort());
    const grad = { max: 0, worst: '', count: 0 };
    for (const [name, p] of params) {
      expect(p.grad, `no gradient for ${name}`).not.toBeNull();
      const e = relMaxError(await p.grad!.data(), (await read(`grad.${name}`)).data);
      grad.count++;
      if (e > grad.max || grad.worst === '') {
        grad.max = Math.max(e, grad.max);
        if (e >= grad.max) grad.worst = name;
      }
    }
    for (const t of [inputIds, attentionMask, labels, logits, loss]) t.dispose();
    return { logits: logitsErr, loss: lossErr, grad };
  } finally {
    await io.close();
    model.dispose();
  }
}
