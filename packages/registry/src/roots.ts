import { Module, ModuleDict, ParameterDict } from '@peftjs/nn';
import type { Tensor } from '@peftjs/tensor';
import { PeftError } from './errors.js';
import type { SharedState } from './method.js';

/**
 * PEFT's tuner (`LoraModel`, `VBLoRAModel`, …): holds the wrapped model as `model`, so parameter names match
 * PEFT's (`base_model.model.…`), and any state shared by a whole adapter as `<name>.<adapter>` (saved as
 * `base_model.<name>`).
 */
export class TunerModel extends Module implements SharedState {
  private readonly sharedNames: string[] = [];

  constructor(model: Module) {
    super();
    this.registerModule('model', model);
  }

  register(adapterName: string, name: string, tensor: Tensor): void {
    if (name === 'model' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new PeftError(`shared state: invalid name '${name}' (an identifier other than 'model')`);
    }
    let dict = this.optionalChild<ParameterDict>(name);
    if (!dict) {
      dict = this.registerModule(name, new ParameterDict());
      this.sharedNames.push(name);
    } else if (!(dict instanceof ParameterDict)) {
      throw new PeftError(`shared state: '${name}' is taken by a module`);
    }
    if (dict.has(adapterName)) {
      throw new PeftError(`shared state: adapter '${adapterName}' already has a shared tensor '${name}'`);
    }
    dict.set(adapterName, tensor);
  }

  get(adapterName: string, name: string): Tensor {
    const dict = this.optionalChild<ParameterDict>(name);
    if (!dict?.has(adapterName)) {
      throw new PeftError(`shared state: adapter '${adapterName}' has no shared tensor '${name}'`);
    }
    return dict.get(adapterName);
  }

  set(adapterName: string, name: string, tensor: Tensor): void {
    const old = this.get(adapterName, name);
    if (old === tensor) return;
    tensor.requiresGrad = old.requiresGrad;
    if (old.grad && !tensor.grad) {
      tensor.grad = old.grad;
      old.grad = null;
    }
    this.child<ParameterDict>(name).set(adapterName, tensor);
    old.dispose();
  }

  has(adapterName: string, name: string): boolean {
    return this.optionalChild<ParameterDict>(name)?.has(adapterName) ?? false;
  }

  /** The shared tensors of `adapterName` by name. */
  sharedOf(adapterName: string): [name: string, dict: ParameterDict][] {
    return this.sharedNames
      .map((n) => [n, this.child<ParameterDict>(n)] as [string, ParameterDict])
      .filter(([, d]) => d.has(adapterName));
  }

  /** Free adapter `adapterName`'s shared tensors. */
  deleteAdapter(adapterName: string): void {
    for (const [, dict] of this.sharedOf(adapterName)) dict.delete(adapterName)?.dispose();
  }
}

/** PEFT's `prompt_encoder`: one trainable module per prompt adapter, `prompt_encoder.<adapter>.…`. */
export class PromptEncoders extends ModuleDict {}
