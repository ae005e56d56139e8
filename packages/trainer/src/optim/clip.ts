import { add, mul, noGrad, sqrt, square, sum, type Tensor, tidy } from '@peftjs/tensor';
import type { ParamRef } from './params.js';

/**
 * torch.nn.utils.clip_grad_norm_: scale every gradient by min(1, maxNorm / (‖g‖₂ + 1e-6)) where ‖g‖₂ is the norm
 * of all gradients together. Returns the total norm before clipping (read back: one sync per call).
 */
export async function clipGradNorm(params: readonly ParamRef[], maxNorm: number): Promise<number> {
  const grads = params.map((p) => p.get()).filter((t) => t.grad);
  if (grads.length === 0) return 0;
  const normT = noGrad(() =>
    tidy(() => {
      let acc: Tensor | null = null;
      for (const p of grads) {
        const s = sum(square(p.grad!));
        acc = acc ? add(acc, s) : s;
      }
      return sqrt(acc!);
    }),
  );
  const total = await normT.item();
  normT.dispose();
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    noGrad(() => {
      for (const p of grads) {
        const scaled = mul(p.grad!, coef);
        p.grad!.dispose();
        p.grad = scaled;
      }
    });
  }
  return total;
}
