import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import {
  blockAbsmax,
  DYNAMIC_CODE,
  dequantize4bit,
  Linear4bit,
  Linear8bit,
  loadQuantizedModel,
  type QuantType4bit,
  quantize4bit,
  quantizeInt8Rowwise,
  settleQuantized,
} from '@peftjs/quant-nf4';
import type { PeftModel } from '@peftjs/registry';
import { loadPeftModel } from '@peftjs/registry/node';
import { SafetensorsReader } from '@peftjs/safetensors';
import {
  type Backend,
  dequantize4bit as dequantize4bitOp,
  dequantizeInt8 as dequantizeInt8Op,
  noGrad,
  type Tensor,
  tensor,
  tidy,
} from '@peftjs/tensor';
import { type GoldenFile, type GoldenLayout, openGoldenFile, readInputs, readLosses, readRef } from '../case.js';
import { compare, exact, fail, type GoldenCheck, relMaxError } from '../checks.js';
import { checkGradients } from './adapter.js';

/** Bars of ../shared/golden/README.md ("Quantization", "QLoRA cases"). */
export const QUANT_TOLERANCES = {
  /** absmax, nested absmax, offset, dequantized values. */
  values: 1e-6,
  nf4: { logits: 1e-4, loss: 1e-5, grad: 1e-3, merged: 1e-3 },
  // LLM.int8's reference logits come from float16 activations and outlier decomposition
  int8: { logits: 1e-2, loss: 1e-2, grad: 1e-2 },
} as const;

async function bytesOf(io: GoldenFile, key: string): Promise<Uint8Array> {
  return new Uint8Array((await io.raw(key)).bytes);
}

function differing(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Bytes equal: error = the number of differing bytes, tolerance 0. */
const sameBytes = (c: string, check: string, ours: ArrayLike<number>, ref: ArrayLike<number>): GoldenCheck =>
  compare(c, check, differing(ours, ref), 0);

/**
 * quant/<name>: one blockwise quantization case. Quantized on the host (bytes exactly bitsandbytes'), then the
 * reference bytes are uploaded and dequantized by the backend's kernel.
 */
export const quantBlockLayout: GoldenLayout = {
  name: 'quant-blockwise',
  detect: (c) =>
    (typeof c.meta.quant_type === 'string' || c.name === 'int8_rowwise') &&
    !c.entries.includes('adapter') &&
    c.entries.includes('io.safetensors'),
  async run(c, backend: Backend) {
    const io = await openGoldenFile(join(c.dir, 'io.safetensors'));
    const checks: GoldenCheck[] = [];
    const tol = QUANT_TOLERANCES.values;
    try {
      const input = (await io.read('input')).data as Float32Array;
      const shape = [...io.info('input').shape];
      if (c.meta.quant_type === undefined) {
        const [rows, cols] = shape;
        const q = quantizeInt8Rowwise(input, rows, cols);
        const refW = new Int8Array((await bytesOf(io, 'weight_int8')).buffer);
        checks.push(sameBytes(c.name, 'weight_int8', q.weight, refW));
        checks.push(compare(c.name, 'SCB', relMaxError(q.scb, await readRef(io, 'SCB')), tol));
        const w = tensor(refW, [rows, cols], { dtype: 'i8', backend });
        const s = tensor((await io.read('SCB')).data, [rows], { backend });
        const d = dequantizeInt8Op({ weight: w, scb: s });
        checks.push(compare(c.name, 'dequantized', relMaxError(await d.data(), await readRef(io, 'dequantized')), tol));
        for (const t of [w, s, d]) t.dispose();
        return checks;
      }
      const q = quantize4bit(input, shape, {
        quantType: c.meta.quant_type as QuantType4bit,
        blocksize: c.meta.blocksize as number,
        doubleQuant: c.meta.double_quant === true,
      });
      checks.push(compare(c.name, 'code', relMaxError(q.code, await readRef(io, 'code')), 0));
      const refPacked = await bytesOf(io, 'packed');
      checks.push(sameBytes(c.name, 'packed', q.packed, refPacked));
      if (q.nested) {
        checks.push(compare(c.name, 'nested_code', relMaxError(DYNAMIC_CODE, await readRef(io, 'nested_code')), 0));
        checks.push(sameBytes(c.name, 'absmax_u8', q.nested.codes, await bytesOf(io, 'absmax_u8')));
        checks.push(
          compare(c.name, 'nested_absmax', relMaxError(q.nested.absmax, await readRef(io, 'nested_absmax')), tol),
        );
        checks.push(compare(c.name, 'offset', relMaxError([q.nested.offset], await readRef(io, 'offset')), tol));
      }
      checks.push(compare(c.name, 'absmax', relMaxError(blockAbsmax(q), await readRef(io, 'absmax')), tol));
      const refDeq = await readRef(io, 'dequantized');
      checks.push(compare(c.name, 'dequantized', relMaxError(dequantize4bit(q), refDeq), tol));
      // the backend's kernel on bitsandbytes' own bytes
      const packed = tensor(refPacked, [refPacked.length], { dtype: 'u8', backend });
      const absmax = q.nested
        ? tensor(await bytesOf(io, 'absmax_u8'), [q.nested.codes.length], { dtype: 'u8', backend })
        : tensor((await io.read('absmax')).data, [(q.absmax as Float32Array).length], { backend });
      const nestedAbsmax = q.nested
        ? tensor((await io.read('nested_absmax')).data, [q.nested.absmax.length], { backend })
        : null;
      const d = dequantize4bitOp({
        packed,
        absmax,
        nestedAbsmax,
        layout: {
          code: [...q.code],
          blocksize: q.blocksize,
          shape: [shape[0], shape[1]],
          nested: q.nested
            ? {
                code: [...DYNAMIC_CODE],
                blocksize: q.nested.blocksize,
                offset: ((await io.read('offset')).data as Float32Array)[0],
              }
            : null,
        },
      });
      checks.push(compare(c.name, `dequantized (${backend.name} kernel)`, relMaxError(await d.data(), refDeq), tol));
      for (const t of [packed, absmax, nestedAbsmax, d]) t?.dispose();
    } finally {
      await io.close();
    }
    return checks;
  },
};

/** PEFT's parameter count: a 4-bit weight counts in·out (PEFT doubles the numel of the packed Params4bit). */
function peftTotal(peft: PeftModel): number {
  let total = peft.countTrainable().total;
  for (const [, m] of peft.namedModules()) {
    if (m instanceof Linear4bit) total += m.inFeatures * m.outFeatures - m.param('weight').size;
  }
  return total;
}

/**
 * llama_qlora_nf4 / llama_lora_int8: `base/` is a quantized checkpoint as transformers saved it, loaded as
 * Linear4bit / Linear8bit; `adapter/` the PEFT adapter on top.
 */
export const qloraLayout: GoldenLayout = {
  name: 'qlora',
  detect: (c) =>
    c.entries.includes('base') &&
    c.entries.includes('adapter') &&
    typeof c.meta.quantization === 'object' &&
    c.meta.quantization !== null,
  async run(c, backend: Backend) {
    const checks: GoldenCheck[] = [];
    const baseDir = join(c.dir, 'base');
    const config = JSON.parse(await readFile(join(baseDir, 'config.json'), 'utf8'));
    const reader = SafetensorsReader.fromBytes(new Uint8Array(await readFile(join(baseDir, 'model.safetensors'))));
    const model = await loadQuantizedModel(config, reader, { backend, strict: true });
    const int8 = (c.meta.quantization as Record<string, unknown>).load_in_8bit === true;
    const bars = int8 ? QUANT_TOLERANCES.int8 : QUANT_TOLERANCES.nf4;
    const io = await openGoldenFile(join(c.dir, 'io.safetensors'));
    let peft: PeftModel<PreTrainedModel> | null = null;
    let owner: { dispose(): void } | null = model;
    let inputs: Record<string, Tensor> = {};
    try {
      peft = await loadPeftModel(model, join(c.dir, 'adapter'), { isTrainable: true });
      owner = peft;
      checks.push(exact(c.name, 'trainable_params', peft.countTrainable().trainable, c.meta.trainable_params));
      checks.push(exact(c.name, 'all_params', peftTotal(peft), c.meta.all_params));
      for (const key of io.names().filter((n) => n.startsWith('dequantized.'))) {
        const target = model.getSubmodule(key.slice(12, -7));
        const layer = target.hasSubmodule('base_layer') ? target.getSubmodule('base_layer') : target;
        if (!(layer instanceof Linear4bit || layer instanceof Linear8bit)) {
          checks.push(fail(c.name, key, `${key.slice(12, -7)} is not a quantized layer`));
          continue;
        }
        const d = layer.denseWeight();
        checks.push(compare(c.name, key, relMaxError(await d.data(), await readRef(io, key)), QUANT_TOLERANCES.values));
        d.dispose();
      }
      inputs = await readInputs(io, backend);
      const active = peft;
      const out = tidy(() => {
        const o = active.forward(inputs);
        if (!o.loss) throw new Error('the model returned no loss for the labels');
        o.loss.backward();
        return { logits: o.logits, loss: o.loss };
      });
      checks.push(
        compare(c.name, 'logits', relMaxError(await out.logits.data(), await readRef(io, 'logits')), bars.logits),
      );
      const lossRef = (await readLosses(io, 'loss'))[0];
      checks.push(compare(c.name, 'loss', Math.abs((await out.loss.item()) - lossRef) / Math.abs(lossRef), bars.loss));
      out.logits.dispose();
      out.loss.dispose();
      for (const g of await checkGradients(c.name, peft, io)) {
        // checkGradients compares against the strict float bar; quantized cases have their own
        checks.push(g.error === null ? g : compare(g.case, g.check, g.error, bars.grad));
      }
      if (io.has('merged_logits')) {
        peft.eval();
        // PEFT's merge into a 4-bit base: dequantize, add the delta, quantize again (on backends without synchronous
        // readback the layers quantize in settleQuantized)
        const merged = peft.mergeAndUnload();
        owner = merged;
        await settleQuantized(merged);
        const logits = noGrad(() => tidy(() => merged.forward(inputs).logits));
        checks.push(
          compare(
            c.name,
            'merged_logits',
            relMaxError(await logits.data(), await readRef(io, 'merged_logits')),
            QUANT_TOLERANCES.nf4.merged,
          ),
        );
        logits.dispose();
      }
    } finally {
      for (const t of Object.values(inputs)) t.dispose();
      await io.close();
      owner?.dispose();
    }
    return checks;
  },
};
