/**
 * The starter demo: train a small MLP on the two-spirals problem with nothing but @peftjs/tensor, and print the
 * loss falling. (A later release replaces this with real fine-tuning of a language model.)
 *
 *   npx pnpm@10 install && npx pnpm@10 demo
 */
import {
  Generator,
  type Tensor,
  argmax,
  crossEntropy,
  equal,
  kaimingUniform,
  linear,
  memory,
  noGrad,
  tensor,
  tidy,
  zeros,
} from '@peftjs/tensor';

const gen = new Generator(42);

// Two interleaved spirals, 200 points each, labelled 0 and 1.
function spirals(n: number): { x: Tensor; y: Tensor } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      const r = (i / n) * 5;
      const t = 1.25 * (i / n) * 2 * Math.PI + c * Math.PI;
      xs.push((r * Math.sin(t)) / 2.5, (r * Math.cos(t)) / 2.5);
      ys.push(c);
    }
  }
  return { x: tensor(xs, [2 * n, 2]), y: tensor(ys, [2 * n], { dtype: 'i32' }) };
}

const { x, y } = spirals(200);
const hidden = 64;
const params = {
  w1: kaimingUniform([hidden, 2], { generator: gen, requiresGrad: true }),
  b1: zeros([hidden], { requiresGrad: true }),
  w2: kaimingUniform([hidden, hidden], { generator: gen, requiresGrad: true }),
  b2: zeros([hidden], { requiresGrad: true }),
  w3: kaimingUniform([2, hidden], { generator: gen, requiresGrad: true }),
  b3: zeros([2], { requiresGrad: true }),
};
type Name = keyof typeof params;
const names = Object.keys(params) as Name[];
const velocity = Object.fromEntries(names.map((n) => [n, zeros(params[n].shape)])) as Record<Name, Tensor>;

const forward = () => {
  const h1 = linear(x, params.w1, params.b1).tanh();
  const h2 = linear(h1, params.w2, params.b2).tanh();
  return linear(h2, params.w3, params.b3);
};

const lr = 0.05;
const momentum = 0.9;
const steps = 400;
const start = performance.now();
console.log(`Training a 2-${hidden}-${hidden}-2 MLP on two spirals (400 points), SGD lr=${lr} momentum=${momentum}`);
for (let step = 1; step <= steps; step++) {
  const loss = tidy(() => {
    const l = crossEntropy(forward(), y);
    l.backward();
    return l;
  });
  // SGD with momentum, written with the ops: v ← μ·v + g; p ← p − lr·v
  noGrad(() => {
    for (const n of names) {
      const p = params[n];
      const v = tidy(() => velocity[n].mul(momentum).add(p.grad!));
      velocity[n].dispose();
      velocity[n] = v;
      const next = tidy(() => p.sub(v.mul(lr)));
      next.requiresGrad = true;
      p.dispose();
      params[n] = next;
    }
  });
  if (step === 1 || step % 50 === 0) {
    const accTensor = tidy(() => equal(argmax(forward(), -1), y).cast('f32').mean());
    const acc = await accTensor.item();
    accTensor.dispose();
    console.log(
      `step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(4)}  accuracy ${(acc * 100).toFixed(1)}%`,
    );
  }
  loss.dispose();
}
const secs = (performance.now() - start) / 1000;
console.log(`done in ${secs.toFixed(1)} s; live tensors: ${memory().tensors}`);
