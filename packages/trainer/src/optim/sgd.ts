import { add, mul, sub, type Tensor } from '@peftjs/tensor';
import { Optimizer } from './optimizer.js';
import type { ParamRef } from './params.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * torch.optim.SGD: g ← g + wd·p; with momentum b ← μb + (1−dampening)g (b = g on the first step);
 * nesterov uses g + μb; p ← p − lr·(b or g).
 */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: readonly ParamRef[], opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError('SGD: nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected update(param: Tensor, grad: Tensor, state: Record<string, Tensor>): Tensor {
    let g = this.weightDecay !== 0 ? add(grad, mul(param, this.weightDecay)) : grad;
    if (this.momentum !== 0) {
      const buf = state.momentum_buffer
        ? add(mul(state.momentum_buffer, this.momentum), mul(g, 1 - this.dampening))
        : g.detach();
      this.put(state, 'momentum_buffer', buf);
      g = this.nesterov ? add(g, mul(buf, this.momentum)) : buf;
    }
    return sub(param, mul(g, this.lr));
  }
}
