import { readFileSync } from 'node:fs';
import { Generator, memory, mul, randn, relMaxError, sum, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { LSTM } from '../src/index.js';

interface Fixture {
  input_size: number;
  hidden_size: number;
  num_layers: number;
  params: Record<string, { shape: number[]; data: number[] }>;
  grads: Record<string, number[]>;
  x: { shape: number[]; data: number[] };
  x_grad: number[];
  out: { shape: number[]; data: number[] };
  out_weights: number[];
}

const fixture: Fixture = JSON.parse(readFileSync(new URL('./fixtures/lstm.json', import.meta.url), 'utf8'));

/** Plain float64 LSTM (PyTorch's equations, gate order i, f, g, o), batch-first, for finite differences. */
function referenceLSTM(
  params: Record<string, Float64Array>,
  x: Float64Array,
  [b, t, inSize]: number[],
  h: number,
  layers: number,
  dirs: number,
): Float64Array {
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  let input = x;
  let width = inSize;
  for (let l = 0; l < layers; l++) {
    const out = new Float64Array(b * t * dirs * h);
    for (let d = 0; d < dirs; d++) {
      const s = `l${l}${d ? '_reverse' : ''}`;
      const [wih, whh, bih, bhh] = ['weight_ih_', 'weight_hh_', 'bias_ih_', 'bias_hh_'].map((p) => params[p + s]!);
      for (let n = 0; n < b; n++) {
        const hp = new Float64Array(h);
        const cp = new Float64Array(h);
        for (let k = 0; k < t; k++) {
          const step = d ? t - 1 - k : k;
          const g = new Float64Array(4 * h);
          for (let r = 0; r < 4 * h; r++) {
            let acc = bih[r] + bhh[r];
            for (let c = 0; c < width; c++) acc += wih[r * width + c] * input[(n * t + step) * width + c];
            for (let c = 0; c < h; c++) acc += whh[r * h + c] * hp[c];
            g[r] = acc;
          }
          for (let j = 0; j < h; j++) {
            cp[j] = sig(g[h + j]) * cp[j] + sig(g[j]) * Math.tanh(g[2 * h + j]);
            hp[j] = sig(g[3 * h + j]) * Math.tanh(cp[j]);
            out[(n * t + step) * dirs * h + d * h + j] = hp[j];
          }
        }
      }
    }
    input = out;
    width = dirs * h;
  }
  return input;
}

function loadFixture(lstm: LSTM): void {
  for (const [name, p] of Object.entries(fixture.params)) {
    const t = tensor(Float32Array.from(p.data), p.shape);
    t.requiresGrad = true;
    lstm.setParameter(name, t)?.dispose();
  }
}

describe('LSTM', () => {
  it("has PyTorch's parameter names and shapes", () => {
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
    expect(lstm.namedParameters().map(([n, t]) => [n, t.shape])).toEqual(
      Object.entries(fixture.params).map(([n, p]) => [n, p.shape]),
    );
    lstm.dispose();
  });

  it('matches torch.nn.LSTM (bidirectional, 2 layers, float64 fixture): output and every gradient', async () => {
    const before = memory().tensors;
    const lstm = new LSTM(3, 4, { numLayers: 2, bidirectional: true, batchFirst: true });
    loadFixture(lstm);
    const x = tensor(Float32Array.from(fixture.x.data), fixture.x.shape);
    x.requiresGrad = true;
    const w = tensor(Float32Array.from(fixture.out_weights), fixture.out.shape);
    const out = tidy(() => {
      const y = lstm.forward(x);
      sum(mul(y, w)).backward();
      return y;
    });
    expect(out.shape).toEqual(fixture.out.shape);
    expect(relMaxError(await out.data(), fixture.out.data)).toBeLessThan(1e-5);
    for (const [name, g] of Object.entries(fixture.grads)) {
      const grad = lstm.param(name).grad;
      expect(grad, name).toBeTruthy();
      expect(relMaxError(await grad!.data(), g), name).toBeLessThan(1e-4);
    }
    expect(relMaxError(await x.grad!.data(), fixture.x_grad)).toBeLessThan(1e-4);
    for (const t of [out, x, w]) t.dispose();
    lstm.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('gradients match finite differences of a float64 reference (sequence-first, one direction, 2 layers)', async () => {
    const gen = new Generator(7);
    const lstm = new LSTM(2, 3, { numLayers: 2, generator: gen });
    const [t, b, inSize] = [4, 2, 2];
    const xT = randn([t, b, inSize], 0, 1, { generator: gen });
    const wT = randn([t, b, 3], 0, 1, { generator: gen });
    const xs = await xT.data();
    const ws = Float64Array.from(await wT.data());
    // reference works batch-first: reorder [t, b, f] → [b, t, f]
    const toBatchFirst = (a: ArrayLike<number>, f: number) => {
      const o = new Float64Array(a.length);
      for (let i = 0; i < t; i++)
        for (let n = 0; n < b; n++) for (let c = 0; c < f; c++) o[(n * t + i) * f + c] = a[(i * b + n) * f + c];
      return o;
    };
    const xRef = toBatchFirst(xs, inSize);
    const wRef = toBatchFirst(ws, 3);
    const params: Record<string, Float64Array> = {};
    for (const [n, p] of lstm.namedParameters()) params[n] = Float64Array.from(await p.data());
    const loss = () => referenceLSTM(params, xRef, [b, t, inSize], 3, 2, 1).reduce((acc, v, i) => acc + v * wRef[i], 0);
    tidy(() => sum(mul(lstm.forward(xT), wT)).backward());
    const eps = 1e-6;
    for (const [name, p] of lstm.namedParameters()) {
      const fd = new Float64Array(params[name].length);
      for (let i = 0; i < fd.length; i++) {
        const v = params[name][i];
        params[name][i] = v + eps;
        const up = loss();
        params[name][i] = v - eps;
        const down = loss();
        params[name][i] = v;
        fd[i] = (up - down) / (2 * eps);
      }
      expect(relMaxError(await (p.grad as Tensor).data(), fd), name).toBeLessThan(1e-4);
    }
    // the forward agrees with the reference too
    const y = lstm.forward(xT);
    const yRef = referenceLSTM(params, xRef, [b, t, inSize], 3, 2, 1);
    const yBatchFirst = toBatchFirst(await y.data(), 3);
    expect(relMaxError(yBatchFirst, yRef)).toBeLessThan(1e-5);
    for (const x of [xT, wT, y]) x.dispose();
    lstm.dispose();
  });

  it('rejects bad sizes and inputs', () => {
    expect(() => new LSTM(0, 2)).toThrow(/inputSize/);
    expect(() => new LSTM(2, 2, { dropout: 1 })).toThrow(/dropout/);
    const lstm = new LSTM(2, 2);
    const x = tensor(new Float32Array(6), [1, 2, 3]);
    expect(() => lstm.forward(x)).toThrow(/2 features/);
    x.dispose();
    lstm.dispose();
  });
});
