import { getAdapterMethod, listAdapterMethods } from '@peftjs/registry';

/** The linear layers of a LLaMA-style decoder block: attention q/k/v/o and the MLP gate/up/down projections. */
export const LLAMA_LINEAR_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** A named PEFT config to train and compare. */
export interface MethodSpec {
  /** Label in tables and charts (e.g. "lora", "dora", "lora-r4"). */
  name: string;
  /** A PEFT config object (`peft_type` required), as it would appear in adapter_config.json. */
  config: Record<string, unknown>;
}

const LORA_VARIANTS_KEY = Symbol.for('@peftjs/lora/variants');

/** Names of the LoRA variants registered with `@peftjs/lora` (e.g. "dora"), read without importing that package. */
function loraVariantNames(): string[] {
  const list = (globalThis as unknown as Record<symbol, { name: string }[] | undefined>)[LORA_VARIANTS_KEY];
  return (list ?? []).map((v) => v.name);
}

/**
 * Method names that can be trained right now: every registered adapter method (`listAdapterMethods()`), plus the
 * registered LoRA variants that are selected by a flag of a LoRA config ("dora" → `use_dora: true`). Import the
 * method packages (`@peftjs/lora`, `@peftjs/dora`) first: they register themselves on import.
 */
export function availableMethods(): string[] {
  const methods = listAdapterMethods();
  const out = [...methods];
  if (methods.includes('lora') && loraVariantNames().includes('dora')) out.push('dora');
  return out;
}

/** Options of {@link defaultMethodConfig}. */
export interface DefaultMethodOptions {
  r?: number;
  alpha?: number;
  dropout?: number;
  /** Target modules (default: every LLaMA linear layer, q/k/v/o/gate/up/down). */
  targetModules?: string[] | string;
  taskType?: string;
}

/**
 * A starting PEFT config for method `name` ("lora", "dora", or any registered method): LoRA/DoRA with r 8,
 * alpha 16, dropout 0.05 on every linear layer of a LLaMA block unless overridden. Unknown names throw with the
 * list of available methods.
 */
export function defaultMethodConfig(name: string, opts: DefaultMethodOptions = {}): Record<string, unknown> {
  const available = availableMethods();
  if (!available.includes(name)) {
    throw new Error(`unknown method '${name}' (available: ${available.join(', ') || 'none — import @peftjs/lora'})`);
  }
  const task = opts.taskType ? { task_type: opts.taskType } : {};
  if (name === 'lora' || name === 'dora') {
    const r = opts.r ?? 8;
    return {
      peft_type: 'LORA',
      ...task,
      r,
      lora_alpha: opts.alpha ?? 2 * r,
      lora_dropout: opts.dropout ?? 0.05,
      target_modules: opts.targetModules ?? LLAMA_LINEAR_TARGETS,
      ...(name === 'dora' ? { use_dora: true } : {}),
    };
  }
  const method = getAdapterMethod(name);
  return { peft_type: method.peftType, ...task, ...(opts.targetModules ? { target_modules: opts.targetModules } : {}) };
}

/** A readable method label for a PEFT config: "dora" for LoRA with use_dora, else the method's peft_type lowercased. */
export function methodLabel(config: Record<string, unknown>): string {
  if (config.peft_type === 'LORA' && config.use_dora === true) return 'dora';
  return String(config.peft_type ?? 'unknown').toLowerCase();
}
