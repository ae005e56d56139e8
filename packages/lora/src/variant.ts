import type { AdapterSlot } from '@peftjs/registry';
import { PeftError } from '@peftjs/registry';
import type { Tensor } from '@peftjs/tensor';
import type { ResolvedLoraConfig } from './config.js';
import type { LoraLayer } from './layer.js';

/**
 * A LoRA variant (PEFT's `LoraVariant`): a package that changes how a LoRA adapter computes, merges and saves —
 * DoRA is one. Variants see the layer only through {@link LoraLayer}'s public methods.
 */
export interface LoraVariant {
  readonly name: string;
  /** Whether this variant handles adapters with `config` (e.g. `config.use_dora`). */
  applies(config: ResolvedLoraConfig): boolean;
  /** Create the variant's parameters for `adapter` (after A and B exist). Throw for unsupported layer kinds. */
  init(layer: LoraLayer, adapter: string): void;
  /** The layer output with the adapter applied, given the base layer's output `result`. */
  forward(layer: LoraLayer, adapter: string, x: Tensor, result: Tensor): Tensor;
  /** Fold the adapter into the base weight. */
  merge(layer: LoraLayer, adapter: string): void;
  /** Undo {@link merge}. */
  unmerge(layer: LoraLayer, adapter: string): void;
  /** Saved tensors the variant adds (keys relative to the layer, e.g. `lora_magnitude_vector`). */
  slots(layer: LoraLayer, adapter: string): AdapterSlot[];
  /** Free the variant's state for `adapter`. */
  remove(layer: LoraLayer, adapter: string): void;
}

/** A config flag that selects a variant, and the package that provides it (for the error when it is missing). */
const VARIANT_FLAGS: [flag: keyof ResolvedLoraConfig, pkg: string][] = [['use_dora', '@peftjs/dora']];

const KEY = Symbol.for('@peftjs/lora/variants');
const g = globalThis as unknown as Record<symbol, LoraVariant[] | undefined>;
g[KEY] ??= [];
const variants: LoraVariant[] = g[KEY];

/** Register a LoRA variant (done by the variant's package on import). */
export function registerLoraVariant(variant: LoraVariant): void {
  if (variants.some((v) => v.name === variant.name))
    throw new PeftError(`a LoRA variant named '${variant.name}' is already registered`);
  variants.push(variant);
}

/** The variant for `config`, or null for plain LoRA. */
export function variantFor(config: ResolvedLoraConfig): LoraVariant | null {
  const v = variants.find((x) => x.applies(config));
  if (v) return v;
  for (const [flag, pkg] of VARIANT_FLAGS) {
    if (config[flag])
      throw new PeftError(`${String(flag)}=true needs the ${pkg} package: install it and \`import '${pkg}'\``);
  }
  return null;
}
