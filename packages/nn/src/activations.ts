import { composite, gelu, mul, relu, sigmoid, silu, type Tensor, tanh } from '@peftjs/tensor';
import { Identity } from './layers.js';
import { type LayerModule, Module } from './module.js';

/** GELU: the exact erf form, or PyTorch's `approximate='tanh'` form (Hugging Face's `gelu_new`). */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
  }
  forward(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
  protected override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x · sigmoid(1.702 x) (Hugging Face's `quick_gelu`). */
export class QuickGELU extends Module {
  forward(x: Tensor): Tensor {
    return composite(() => mul(x, sigmoid(mul(x, 1.702))));
  }
}

/** x · sigmoid(x) (a.k.a. swish). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
}

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** sigmoid(x). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

const ACTIVATIONS: Record<string, () => LayerModule> = {
  gelu: () => new GELU('none'),
  gelu_new: () => new GELU('tanh'),
  gelu_pytorch_tanh: () => new GELU('tanh'),
  gelu_fast: () => new GELU('tanh'),
  quick_gelu: () => new QuickGELU(),
  relu: () => new ReLU(),
  silu: () => new SiLU(),
  swish: () => new SiLU(),
  tanh: () => new Tanh(),
  sigmoid: () => new Sigmoid(),
  linear: () => new Identity(),
};

/** The activation names {@link activation} accepts (Hugging Face's `ACT2FN` keys that are supported). */
export const ACTIVATION_NAMES: readonly string[] = Object.keys(ACTIVATIONS);

/**
 * The activation module for a Hugging Face `hidden_act` / `activation_function` name (`gelu`, `gelu_new`, `silu`,
 * …). Throws, listing the supported names, for any other.
 */
export function activation(name: string): LayerModule {
  const make = ACTIVATIONS[name];
  if (!make) throw new Error(`unsupported activation '${name}' (supported: ${ACTIVATION_NAMES.join(', ')})`);
  return make();
}
