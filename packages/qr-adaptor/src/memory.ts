import type { LayerChoice, ModuleSpec, Plan } from './space.js';

/**
 * Bytes a base weight [out, in] takes at a bit width, quantization state included. The default follows the formats
 * peftjs stores: 16 → float16 (2 bytes per weight); 8 → LLM.int8 (1 byte per weight + a float32 scale per row);
 * 4 → NF4 (two codes per byte + a float32 absmax per block of 64, no double quantization). Swap in the
 * quantizer's own accounting with {@link MemoryModelOptions.baseBytes}.
 */
export function defaultBaseBytes(bits: number, outFeatures: number, inFeatures: number): number {
  const n = outFeatures * inFeatures;
  if (bits >= 16) return 2 * n;
  if (bits === 8) return n + 4 * outFeatures;
  if (bits === 4) return Math.ceil(n / 2) + 4 * Math.ceil(n / 64);
  // other widths: packed codes plus a float16 scale and zero point per group of 128 (the paper's HQQ accounting)
  return Math.ceil((n * bits) / 8) + Math.ceil(n / 128) * 2 * 2;
}

export interface MemoryModelOptions {
  /** Bytes of one base weight at a bit width (default {@link defaultBaseBytes}). */
  baseBytes?: (bits: number, outFeatures: number, inFeatures: number) => number;
  /** Bytes per adapter parameter value (default 4: float32). */
  adapterBytesPerValue?: number;
  /** Tensors per trainable adapter parameter: the value, its gradient and AdamW's two moments (default 4). */
  tensorsPerAdapterParam?: number;
}

/** One module's footprint: base weight + quantization state, and adapter values + gradients + AdamW state. */
export interface ModuleMemory {
  base: number;
  adapter: number;
}

/** The memory model: bytes of a plan as the backend holds it for training (base + adapter training state). */
export class MemoryModel {
  private readonly baseBytes: (bits: number, o: number, i: number) => number;
  private readonly perParam: number;

  constructor(
    readonly modules: readonly ModuleSpec[],
    opts: MemoryModelOptions = {},
  ) {
    this.baseBytes = opts.baseBytes ?? defaultBaseBytes;
    this.perParam = (opts.adapterBytesPerValue ?? 4) * (opts.tensorsPerAdapterParam ?? 4);
  }

  /** Bytes of module `i` with `choice`. */
  module(i: number, choice: LayerChoice): ModuleMemory {
    const m = this.modules[i]!;
    return {
      base: this.baseBytes(choice.bits, m.outFeatures, m.inFeatures),
      adapter: choice.rank * (m.inFeatures + m.outFeatures) * this.perParam,
    };
  }

  /** Total bytes of `plan`. */
  total(plan: Plan): number {
    if (plan.length !== this.modules.length)
      throw new RangeError(`plan has ${plan.length} entries for ${this.modules.length} modules`);
    let s = 0;
    for (let i = 0; i < plan.length; i++) {
      const m = this.module(i, plan[i]!);
      s += m.base + m.adapter;
    }
    return s;
  }
}
