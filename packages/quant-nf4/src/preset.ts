import type { Module } from '@peftjs/nn';
import { type MethodPreset, registerPreset } from '@peftjs/registry';
import { quantizeModel } from './checkpoint.js';

/**
 * The "qlora" preset: LoRA on a base whose linear layers are quantized at load to NF4 with double quantization
 * (QLoRA's recipe, transformers' `BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
 * bnb_4bit_use_double_quant=True)`; the output head stays dense, as transformers leaves it). Registered on import, so
 * `peftjs train --method qlora`, comparisons and `recommend()` (as the low-memory choice) have it. The LoRA method
 * itself comes from `@peftjs/lora`, which must be imported too.
 */
export const qloraPreset: MethodPreset = {
  name: 'qlora',
  method: 'lora',
  summary: 'QLoRA: LoRA on a frozen NF4 base (double quantization), about 4.13 bits per base weight',
  config: (o) => {
    const r = o.r ?? 8;
    return {
      peft_type: 'LORA',
      ...(o.taskType ? { task_type: o.taskType } : {}),
      r,
      lora_alpha: o.alpha ?? 2 * r,
      lora_dropout: o.dropout ?? 0.05,
      target_modules: o.targetModules ?? 'all-linear',
      ...(o.modulesToSave ? { modules_to_save: o.modulesToSave } : {}),
    };
  },
  async prepareModel(model: Module): Promise<Module> {
    await quantizeModel(model, { load_in_4bit: true, bnb_4bit_quant_type: 'nf4', bnb_4bit_use_double_quant: true });
    return model;
  },
  recommend: {
    role: 'low-memory',
    // 4-bit weights with their quantization state (~0.52 byte per parameter) plus LoRA's activations and state
    bytesPerParam: 2.55,
    reason: 'a 4-bit NF4 base, bitsandbytes-exact',
  },
};

let registered = false;
/** Register the "qlora" preset (idempotent; done on import). */
export function registerQloraPreset(): void {
  if (registered) return;
  registered = true;
  registerPreset(qloraPreset);
}
