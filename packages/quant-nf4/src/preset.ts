import type { Module } from '@peftjs/nn';
import { type MethodPreset, type PresetOptions, registerPreset } from '@peftjs/registry';
import { quantizeModel } from './checkpoint.js';
import type { BitsAndBytesConfig } from './config.js';

/** A LoRA config from a preset's options (the same defaults as `@peftjs/lora`'s preset). */
function loraConfig(o: PresetOptions): Record<string, unknown> {
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
}

/** A LoRA preset whose base is quantized at load with `options` (transformers' BitsAndBytesConfig fields). */
function quantizedLoraPreset(name: string, summary: string, options: BitsAndBytesConfig): MethodPreset {
  return {
    name,
    method: 'lora',
    summary,
    config: loraConfig,
    async prepareModel(model: Module): Promise<Module> {
      await quantizeModel(model, options);
      return model;
    },
  };
}

/**
 * The "qlora" preset: LoRA on a base whose linear layers are quantized at load to NF4 with double quantization
 * (QLoRA's recipe, transformers' `BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
 * bnb_4bit_use_double_quant=True)`; the output head stays dense, as transformers leaves it). Registered on import, so
 * `peftjs train --method qlora`, comparisons and `recommend()` (as the low-memory choice) have it. The LoRA method
 * itself comes from `@peftjs/lora`, which must be imported too.
 */
export const qloraPreset: MethodPreset = {
  ...quantizedLoraPreset(
    'qlora',
    'QLoRA: LoRA on a frozen NF4 base (double quantization), about 4.13 bits per base weight',
    {
      load_in_4bit: true,
      bnb_4bit_quant_type: 'nf4',
      bnb_4bit_use_double_quant: true,
    },
  ),
  recommend: {
    role: 'low-memory',
    // 4-bit weights with their quantization state (~0.52 byte per parameter) plus LoRA's activations and state
    bytesPerParam: 2.55,
    reason: 'a 4-bit NF4 base, bitsandbytes-exact',
  },
};

/** LoRA on an FP4 base (bitsandbytes' other 4-bit code book), double quantization. */
export const qloraFp4Preset = quantizedLoraPreset('qlora-fp4', 'LoRA on a frozen FP4 base (double quantization)', {
  load_in_4bit: true,
  bnb_4bit_quant_type: 'fp4',
  bnb_4bit_use_double_quant: true,
});

/** LoRA on an LLM.int8 base (int8 rows with a per-row scale; computed weight-only here). */
export const qloraInt8Preset = quantizedLoraPreset('qlora-int8', 'LoRA on a frozen int8 base (LLM.int8 storage)', {
  load_in_8bit: true,
});

let registered = false;
/** Register the "qlora", "qlora-fp4" and "qlora-int8" presets (idempotent; done on import). */
export function registerQloraPreset(): void {
  if (registered) return;
  registered = true;
  registerPreset(qloraPreset);
  registerPreset(qloraFp4Preset);
  registerPreset(qloraInt8Preset);
}
