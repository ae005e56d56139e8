/**
 * The optimizers against independent float64 implementations of torch's update formulas (torch/optim/adamw.py,
 * sgd.py, single-tensor path), over several steps with changing gradients.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, SGD } from '../src/index.js';
import { freeParam, lcg, maxRelErr } from './helpers/refs.js';

const N = 24;
const STEPS = 6;

function gradsFor(seed: number): number[][] {
  const r = lcg(seed);
  return Array.from({ length: STEPS }, (_, s) => Array.from({ length: N }, () => r() * (s + 1)));
}

/** torch.optim.AdamW for one tensor, in float64. */
function adamwRef(
  p0: number[],
  grads: number[][],
  o: { lr: number; b1: number; b2: number; eps: number; wd: number },
): number[] {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - o.lr * o.wd;
      m[i] = o.b1 * m[i] + (1 - o.b1) * g[i];
      v[i] = o.b2 * v[i] + (1 - o.b2) * g[i] * g[i];
      const bc1 = 1 - o.b1 ** t;
      const bc2 = 1 - o.b2 ** t;
      const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps;
      p[i] -= (o.lr / bc1) * (m[i] / denom);
    }
  });
  return [...p];
}

/** torch.optim.SGD for one tensor, in float64. */
function sgdRef(
  p0: number[],
  grads: number[][],
  o: { lr: number; momentum: number; dampening: number; wd: number; nesterov: boolean },
): number[] {
  const p = Float64Array.from(p0);
  let buf: Float64Array | null = null;
  for (const g0 of grads) {
    const g = Float64Array.from(g0, (x, i) => x + o.wd * p[i]);
    if (o.momentum !== 0) {
      if (!buf) buf = Float64Array.from(g);
      else for (let i = 0; i < p.length; i++) buf[i] = o.momentum * buf[i] + (1 - o.dampening) * g[i];
      if (o.nesterov) for (let i = 0; i < p.length; i++) g[i] += o.momentum * buf[i];
      else g.set(buf);
    }
    for (let i = 0; i < p.length; i++) p[i] -= o.lr * g[i];
  }
  return [...p];
}

const init = (() => {
  const r = lcg(7);
  return Array.from({ length: N }, () => r());
})();

describe('AdamW matches torch formulas (float64 reference)', () => {
  const cases = [
    { name: 'defaults (wd 0.01)', opts: {}, ref: { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 } },
    {
      name: 'large lr, strong decay, other betas',
      opts: { lr: 0.05, weightDecay: 0.2, betas: [0.8, 0.95] as [number, number], eps: 1e-6 },
      ref: { lr: 0.05, b1: 0.8, b2: 0.95, eps: 1e-6, wd: 0.2 },
    },
    { name: 'no decay', opts: { lr: 0.01, weightDecay: 0 }, ref: { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const grads = gradsFor(3);
      const p = freeParam('w', init, [4, 6]);
      const opt = new AdamW([p], c.opts);
      for (const g of grads) {
        p.grad(g);
        opt.step();
      }
      const got = await p.get().data();
      const want = adamwRef(init, grads, c.ref);
      expect(maxRelErr(got, want)).toBeLessThan(2e-6);
      // and it moved: the comparison is not trivially satisfied
      expect(maxRelErr(want, init)).toBeGreaterThan(1e-3);
      expect(opt.stepCount).toBe(STEPS);
      opt.dispose();
    });
  }

  it('a restored state dict continues exactly (bit for bit) like the uninterrupted optimizer', async () => {
    const grads = gradsFor(11);
    const a = freeParam('w', init);
    const optA = new AdamW([a], { lr: 0.02 });
    const b = freeParam('w', init);
    const optB = new AdamW([b], { lr: 0.02 });
    for (let k = 0; k < 3; k++) {
      a.grad(grads[k]);
      optA.step();
      b.grad(grads[k]);
      optB.step();
    }
    // B is "restarted": a fresh optimizer loading B's state (copied tensors)
    const s = optB.stateDict();
    const copies = Object.fromEntries(Object.entries(s.tensors).map(([k, t]) => [k, t.detach()]));
    optB.dispose();
    const optB2 = new AdamW([b], { lr: 0.02 });
    optB2.loadStateDict({ ...s, tensors: copies });
    for (let k = 3; k < STEPS; k++) {
      a.grad(grads[k]);
      optA.step();
      b.grad(grads[k]);
      optB2.step();
    }
    expect([...(await b.get().data())]).toEqual([...(await a.get().data())]);
  });

  it('rejects invalid hyper-parameters', () => {
    const p = freeParam('w', [1]);
    expect(() => new AdamW([p], { betas: [1, 0.9] })).toThrow(RangeError);
    expect(() => new AdamW([p], { weightDecay: -1 })).toThrow(RangeError);
  });
});

describe('SGD matches torch formulas (float64 reference)', () => {
  const cases = [
    { lr: 0.1, momentum: 0, dampening: 0, wd: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, wd: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.3, wd: 0.01, nesterov: false },
    { lr: 0.05, momentum: 0.8, dampening: 0, wd: 0.05, nesterov: true },
  ];
  for (const c of cases) {
    it(`lr ${c.lr}, momentum ${c.momentum}, dampening ${c.dampening}, wd ${c.wd}, nesterov ${c.nesterov}`, async () => {
      const grads = gradsFor(5);
      const p = freeParam('w', init);
      const opt = new SGD([p], {
        lr: c.lr,
        momentum: c.momentum,
        dampening: c.dampening,
        weightDecay: c.wd,
        nesterov: c.nesterov,
      });
      for (const g of grads) {
        p.grad(g);
        opt.step();
      }
      const want = sgdRef(init, grads, c);
      expect(maxRelErr(await p.get().data(), want)).toBeLessThan(2e-6);
      expect(maxRelErr(want, init)).toBeGreaterThan(1e-2);
      opt.dispose();
    });
  }

  it('nesterov needs momentum and zero dampening', () => {
    const p = freeParam('w', [1]);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(RangeError);
    expect(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(RangeError);
  });
});
