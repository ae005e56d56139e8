import type { Module } from '@peftjs/nn';
import type { Tensor } from '@peftjs/tensor';

/**
 * A trainable parameter as a slot: tensors are immutable, so an optimizer step produces a new tensor and writes it
 * back into every module slot that holds it (tied weights share one ref).
 */
export interface ParamRef {
  /** Dotted name (the first slot's, for tied weights). */
  readonly name: string;
  get(): Tensor;
  /** Put `t` in every slot and dispose the previous tensor. */
  set(t: Tensor): void;
}

/** Refs to the parameters of `module` that require gradients, in namedParameters order, tied slots merged. */
export function trainableParams(module: Module): ParamRef[] {
  const byTensor = new Map<Tensor, { name: string; slots: [Module, string][] }>();
  for (const [path, m] of module.namedModules()) {
    for (const [pname, t] of m.namedParameters({ recurse: false, removeDuplicate: false })) {
      if (!t.requiresGrad) continue;
      const name = path ? `${path}.${pname}` : pname;
      const e = byTensor.get(t);
      if (e) e.slots.push([m, pname]);
      else byTensor.set(t, { name, slots: [[m, pname]] });
    }
  }
  return [...byTensor.values()].map(({ name, slots }) => ({
    name,
    get: () => slots[0][0].param(slots[0][1]),
    set(t: Tensor) {
      const old = slots[0][0].param(slots[0][1]);
      t.requiresGrad = true;
      for (const [m, p] of slots) m.setParameter(p, t);
      if (old === t) return;
      // As in torch, the gradient stays with the parameter until zeroGrad (training-step hooks read it).
      if (old.grad && !t.grad) {
        t.grad = old.grad;
        old.grad = null;
      }
      old.dispose();
    },
  }));
}
