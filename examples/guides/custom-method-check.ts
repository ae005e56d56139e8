// docs/guides/writing-a-method.md, runnable: `pnpm build && npx tsx examples/guides/custom-method-check.ts`.
// Checks the shared-gate method of ./custom-method.ts: one layer against a float64 reference, training on the tiny
// LLaMA with the hook clamping the gate, the saved file (one tensor, 1 + g), and loading it back (every layer tied to
// the one loaded gate).
import { readFile, rm } from 'node:fs/promises';
import type { LinearLike } from '@peftjs/nn';
import { getPeftModel } from '@peftjs/registry';
import { loadPeftModel, savePeftModel } from '@peftjs/registry/node';
import { loadTensors } from '@peftjs/safetensors';
import { noGrad, tensor, tidy } from '@peftjs/tensor';
import { loadCorpus, loadTinyLlama } from '@peftjs/tiny-llama';
import { availableMethods, chunkTokens, Trainer } from '@peftjs/trainer';
import { GATE, type SharedGateLayer } from './custom-method.js'; // registers 'shared-gate'

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`FAILED: ${what}`);
  console.log(`ok: ${what}`);
};

const { model, tokenizer } = await loadTinyLlama();
const peft = getPeftModel(model, { peft_type: 'SHARED_GATE', target_modules: ['o_proj', 'down_proj'] });
peft.printTrainableParameters(); // 128: one gate of the hidden size, for 8 layers
check(availableMethods().includes('shared-gate'), 'the preset makes it a method the trainer and CLI can use');

// 1. One layer against float64: y = base(x) ⊙ (1 + g), with g set through the file form (1 + g).
const hidden = 128;
const g = Float64Array.from({ length: hidden }, (_, i) => 0.3 * Math.sin(i));
peft.loadAdapterState({
  [`base_model.${GATE}`]: tensor(
    Float32Array.from(g, (v) => 1 + v),
    [hidden],
  ),
});
const layer = peft.model.getSubmodule('model.layers.0.self_attn.o_proj') as SharedGateLayer;
const x = tensor(
  Float32Array.from({ length: 2 * hidden }, (_, i) => Math.cos(i)),
  [2, hidden],
);
const base = await noGrad(() => (layer.baseLayer as unknown as LinearLike).forward(x)).data();
const ours = await noGrad(() => layer.forward(x)).data();
let err = 0;
let scale = 0;
for (let i = 0; i < ours.length; i++) {
  err = Math.max(err, Math.abs(ours[i]! - base[i]! * Math.fround(1 + g[i % hidden]!)));
  scale = Math.max(scale, Math.abs(base[i]!));
}
err /= scale;
check(err < 1e-5, `forward matches the float64 reference (max error ${err.toExponential(2)})`);

// 2. Training: the gate moves, and the training-step hook keeps it within ±max_gate (0.5).
const { train, heldOut } = loadCorpus('sotu');
const trainer = new Trainer({
  model: peft,
  train: chunkTokens(tokenizer.encode(train), 64).slice(0, 64),
  eval: chunkTokens(tokenizer.encode(heldOut), 64).slice(0, 16),
  lr: 1e-2,
  maxSteps: 10,
  batchSize: 4,
});
const before = (await trainer.evaluate()).loss;
await trainer.train();
const after = (await trainer.evaluate()).loss;
const gate = await peft.adapterStateDict()[`base_model.${GATE}`]!.data();
check(Math.max(...Array.from(gate, Math.abs)) <= 0.5 + 1e-6, 'the hook clamped the gate after every step');
console.log(`held-out loss ${before.toFixed(4)} → ${after.toFixed(4)}`);

// 3. Files: one tensor under its absolute key, stored as 1 + g.
const dir = 'custom-method-out';
await savePeftModel(peft, dir);
const saved = await loadTensors(new Uint8Array(await readFile(`${dir}/adapter_model.safetensors`)));
check(Object.keys(saved).join() === `base_model.${GATE}`, 'the shared gate is saved once, as base_model.shared_gate');
const stored = await saved[`base_model.${GATE}`]!.data();
check(
  stored.every((v, i) => Math.abs(v - 1 - gate[i]!) < 1e-6),
  'the save transform wrote 1 + g',
);

// 4. Loading ties every layer to the one loaded gate: same logits as the trained model.
const text = Int32Array.from(tokenizer.encode('Call me Ishmael.'));
const ids = tensor(text, [1, text.length]);
const a = await noGrad(() => tidy(() => peft.forward({ inputIds: ids }).logits)).data();
const loaded = await loadPeftModel((await loadTinyLlama()).model, dir);
const b = await noGrad(() => tidy(() => loaded.forward({ inputIds: ids }).logits)).data();
check(
  a.every((v, i) => Math.abs(v - b[i]!) < 1e-5),
  'the loaded adapter gives the same logits',
);
await rm(dir, { recursive: true, force: true });
