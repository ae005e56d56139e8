// docs/guides/writing-a-method.md, runnable: `pnpm build && npx tsx examples/guides/custom-method-check.ts`.
// Uses the IA³ method of ./custom-method.ts: float64 reference and finite differences for one layer, then training
// on the tiny LLaMA, PEFT's files, and merging.
import { readFile, rm } from 'node:fs/promises';
import { getPeftModel } from '@peftjs/registry';
import { noGrad, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { compareValues, finiteDifference, type Ref } from '@peftjs/tensor/testing';
import { loadTinyLlama } from '@peftjs/tiny-llama';
import { Trainer } from '@peftjs/trainer';
import { Linear } from '@peftjs/nn';
import { IA3Layer } from './custom-method.js'; // registers 'ia3'
import { savePeftModel } from '@peftjs/registry/node';

// 1. One feedforward layer against a float64 reference: y = (x ⊙ l)·Wᵀ + b, and dL/dl for L = Σ y ⊙ R.
const [n, inF, outF] = [3, 5, 4];
const vals = (k: number, seed: number) => Float64Array.from({ length: k }, (_, i) => Math.sin(seed * 7.1 + i * 1.3));
const X = vals(n * inF, 1);
const W = vals(outF * inF, 2);
const B = vals(outF, 3);
const L = vals(inF, 4);
const R = vals(n * outF, 5);
const lin = new Linear(inF, outF);
lin.setParameter('weight', tensor(Float32Array.from(W), [outF, inF]))?.dispose();
lin.setParameter('bias', tensor(Float32Array.from(B), [outF]))?.dispose();
const layer = new IA3Layer(
  lin,
  { peft_type: 'IA3', feedforward_modules: ['fc'] },
  { path: 'fc', adapterName: 'default' },
);
layer.activeAdapters = ['default'];
const lTest = tensor(
  // replace the initial ones with test values
  Float32Array.from(L),
  [1, inF],
);
lTest.requiresGrad = true;
layer.child('ia3_l').setParameter('default', lTest)?.dispose();

const ref = (inputs: Ref[]): Ref => {
  const [x, lv] = inputs;
  const y = new Float64Array(n * outF);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < outF; o++) {
      let s = B[o];
      for (let k = 0; k < inF; k++) s += x.data[i * inF + k] * lv.data[k] * W[o * inF + k];
      y[i * outF + o] = s;
    }
  return { shape: [n, outF], data: y };
};
const lossRef = (inputs: Ref[]) => ref(inputs).data.reduce((s, v, i) => s + v * R[i], 0);
const refInputs: Ref[] = [
  { shape: [n, inF], data: X.slice() },
  { shape: [1, inF], data: L.slice() },
];
const x = tensor(Float32Array.from(X), [n, inF]);
const y = tidy(() => {
  const out = layer.forward(x);
  out
    .mul(tensor(Float32Array.from(R), [n, outF]))
    .sum()
    .backward();
  return out;
});
const fwd = compareValues(await y.data(), ref(refInputs).data, 1e-5, 1e-6, 'forward');
const grad = compareValues(await lTest.grad!.data(), finiteDifference(lossRef, refInputs, 1).data, 1e-4, 1e-6, 'dL/dl');
console.log(
  `forward vs float64: rel. error ${fwd.relError.toExponential(2)}; dL/dl vs finite differences: ${grad.relError.toExponential(2)}`,
);

// 2. Train IA³ on the tiny LLaMA (default targets for llama: k_proj, v_proj, down_proj).
const { model, tokenizer } = await loadTinyLlama();
const peft = getPeftModel(model, { peft_type: 'IA3', target_modules: null, feedforward_modules: ['down_proj'] });
peft.printTrainableParameters();
const text = 'It was the best of times, it was the worst of times. '.repeat(30);
const ids = tokenizer.encode(text);
const data = Array.from({ length: 8 }, (_, i) => ({ inputIds: ids.slice(i * 64, i * 64 + 64) }));
const result = await new Trainer({ model: peft, train: data, lr: 3e-2, batchSize: 4, maxSteps: 6, seed: 0 }).train();
console.log(`loss ${result.history[0].loss.toFixed(4)} → ${result.history.at(-1)!.loss.toFixed(4)}`);

// 3. PEFT's files.
const dir = '/tmp/peftjs-ia3';
await rm(dir, { recursive: true, force: true });
await savePeftModel(peft, dir);
console.log(await readFile(`${dir}/adapter_config.json`, 'utf8'));
console.log(Object.keys(peft.adapterStateDict()).slice(0, 3));

// 4. Merge: the merged model's logits equal the adapter model's.
const input = tensor(new Int32Array(ids.slice(0, 32)), [1, 32], { dtype: 'i32' });
model.eval();
const logits = (m: { forward(b: { inputIds: Tensor }): { logits: Tensor } }) =>
  noGrad(() => tidy(() => m.forward({ inputIds: input }).logits));
const before = await logits(model).data();
const after = await logits(peft.mergeAndUnload()).data();
console.log(`merged vs adapter: ${compareValues(after, before, 1e-5).relError.toExponential(2)} (relative)`);
