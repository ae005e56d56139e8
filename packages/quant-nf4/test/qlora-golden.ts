/**
 * The QLoRA golden cases (llama_qlora_nf4, llama_lora_int8): the quantized checkpoint transformers saved, loaded as
 * Linear4bit / Linear8bit, with the PEFT adapter on top; logits, loss, every LoRA gradient, the dequantized base
 * weights, and (NF4) the logits after PEFT's merge (dequantize, add the delta, quantize again).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '@peftjs/lora';
import type { PreTrainedModel } from '@peftjs/models';
import type { PeftModel } from '@peftjs/registry';
import { loadPeftModel } from '@peftjs/registry/node';
import { SafetensorsReader } from '@peftjs/safetensors';
import { type Backend, noGrad, relMaxError, tensor, tidy } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { expect } from 'vitest';
import { Linear4bit, type Linear8bit, loadQuantizedModel, settleQuantized } from '../src/index.js';
import { readGolden } from './golden-util.js';

export interface QloraResult {
  counts: { trainable: number; total: number; wantTrainable: number; wantTotal: number };
  logits: number;
  loss: number;
  grads: Record<string, number>;
  missingGrads: string[];
  dequantized: Record<string, number>;
  merged: number | null;
}

/** PEFT's parameter count: a 4-bit weight counts in·out (its packed bytes hold two values each). */
export function peftTotal(peft: PeftModel): number {
  let total = peft.countTrainable().total;
  for (const [, m] of peft.namedModules()) {
    if (m instanceof Linear4bit) total += m.inFeatures * m.outFeatures - m.param('weight').size;
  }
  return total;
}

/** PEFT's merge into a quantized base (dequantize, add, quantize again) through the registry, on any backend. */
async function mergeQuantized(peft: PeftModel): Promise<PreTrainedModel> {
  const merged = peft.mergeAndUnload() as PreTrainedModel;
  const settled = await settleQuantized(merged);
  // on the CPU the merge quantized at once; elsewhere every merged layer waited for the readback
  if (merged.parameters()[0].backend.readSync) expect(settled).toBe(0);
  else expect(settled).toBeGreaterThan(0);
  return merged;
}

export async function runQloraCase(name: string, backend: Backend): Promise<QloraResult> {
  const dir = join(goldenRoot(), name);
  const config = JSON.parse(readFileSync(join(dir, 'base', 'config.json'), 'utf8'));
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  const reader = SafetensorsReader.fromBytes(new Uint8Array(readFileSync(join(dir, 'base', 'model.safetensors'))));
  const model = await loadQuantizedModel(config, reader, { backend, strict: true });
  const peft = await loadPeftModel(model, join(dir, 'adapter'), { isTrainable: true });
  const io = await readGolden(`${name}/io.safetensors`);
  const ids = (k: string) => tensor(Int32Array.from(io[k].data), io[k].shape, { dtype: 'i32', backend });
  const inputs = { inputIds: ids('input_ids'), attentionMask: ids('attention_mask'), labels: ids('labels') };
  const dequantized: Record<string, number> = {};
  for (const k of Object.keys(io).filter((n) => n.startsWith('dequantized.'))) {
    const path = k.slice(12, -7);
    const target = model.getSubmodule(path);
    const layer = (target.hasSubmodule('base_layer') ? target.getSubmodule('base_layer') : target) as
      | Linear4bit
      | Linear8bit;
    const d = layer.denseWeight();
    dequantized[k] = relMaxError(await d.data(), io[k].data);
    d.dispose();
  }
  const out = tidy(() => {
    const o = peft.forward(inputs);
    o.loss!.backward();
    return { logits: o.logits, loss: o.loss! };
  });
  const logits = relMaxError(await out.logits.data(), io.logits.data);
  const lossRef = io.loss.data[0];
  const loss = Math.abs((await out.loss.item()) - lossRef) / Math.abs(lossRef);
  out.logits.dispose();
  out.loss.dispose();
  const grads: Record<string, number> = {};
  const missingGrads: string[] = [];
  const params = peft.trainableParameterKeys();
  for (const k of Object.keys(io).filter((n) => n.startsWith('grad.'))) {
    const p = params.get(k.slice(5));
    if (!p?.grad) missingGrads.push(k);
    else grads[k] = relMaxError(await p.grad.data(), io[k].data);
  }
  for (const key of params.keys()) if (!io[`grad.${key}`]) missingGrads.push(`(no reference) ${key}`);
  const counts = {
    trainable: peft.countTrainable().trainable,
    total: peftTotal(peft),
    wantTrainable: meta.trainable_params,
    wantTotal: meta.all_params,
  };
  let merged: number | null = null;
  if (io.merged_logits) {
    peft.eval();
    const plain = await mergeQuantized(peft);
    const m = noGrad(() => tidy(() => plain.forward(inputs).logits));
    merged = relMaxError(await m.data(), io.merged_logits.data);
    m.dispose();
    plain.dispose();
  } else {
    peft.dispose();
  }
  for (const t of Object.values(inputs)) t.dispose();
  return { counts, logits, loss, grads, missingGrads, dequantized, merged };
}
