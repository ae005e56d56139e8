/**
 * Checks shared by golden-inputs.test.ts (CPU) and golden-webgpu.test.ts. The models' extension points that PEFT methods use — `inputsEmbeds` (prompt tuning) and `pastKeyValues` (prefix
 * tuning) — checked against the golden prompt/prefix cases, with the adapter's few lines of glue written here.
 */
import { join } from 'node:path';
import { openFile } from '@peftjs/safetensors/node';
import type { Backend } from '@peftjs/tensor';
import {
  chunk,
  concat,
  expand,
  full,
  ones,
  permute,
  reshape,
  squeeze,
  type Tensor,
  tensor,
  tidy,
  unsqueeze,
} from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import type { KeyValue, LlamaForCausalLM, PreTrainedModel } from '../../src/index.js';
import { fromPretrained } from '../../src/node.js';
import { goldenRoot, relMaxError, TOL } from './golden.js';

async function openCase(name: string, backend: Backend | undefined) {
  const dir = join(goldenRoot(), name);
  const io = await openFile(join(dir, 'io.safetensors'));
  const adapter = await openFile(join(dir, 'adapter', 'adapter_model.safetensors'));
  const t = async (r: typeof io, n: string, dtype?: 'i32' | 'f32') => {
    const d = await r.read(n, dtype ? { dtype } : {});
    return tensor(d.data, [...d.shape], { dtype: d.dtype, backend });
  };
  const raw = await io.raw('loss');
  const loss = new DataView(new Uint8Array(raw.bytes).buffer).getFloat64(0, true);
  return { io, adapter, t, loss };
}

async function compare(
  logits: Tensor,
  loss: Tensor,
  grad: Tensor,
  c: Awaited<ReturnType<typeof openCase>>,
): Promise<{ logits: number; loss: number; grad: number }> {
  const r = {
    logits: relMaxError(await logits.data(), (await c.io.read('logits')).data),
    loss: Math.abs((await loss.item()) - c.loss) / Math.abs(c.loss),
    grad: relMaxError(await grad.data(), (await c.io.read('grad.prompt_encoder.embedding.weight')).data),
  };
  expect(r.logits).toBeLessThanOrEqual(TOL.logits);
  expect(r.loss).toBeLessThanOrEqual(TOL.loss);
  expect(r.grad).toBeLessThanOrEqual(TOL.grad);
  return r;
}

/**
 * Register the prompt/prefix golden checks for the backend `getBackend()` returns (undefined: the active one).
 */
export function describeInputCases(label: string, getBackend: () => Backend | undefined): void {
  describe(`inputsEmbeds and pastKeyValues follow Hugging Face (golden prompt/prefix cases, ${label})`, () => {
    it('llama prompt tuning: virtual tokens prepended as embeddings', async () => {
      const backend = getBackend();
      const c = await openCase('llama_prompt', backend);
      const model = await fromPretrained(base('llama'), { backend });
      model.freeze();
      const ids = await c.t(c.io, 'input_ids', 'i32');
      const mask = await c.t(c.io, 'attention_mask', 'i32');
      const labels = await c.t(c.io, 'labels', 'i32');
      const prompt = await c.t(c.adapter, 'prompt_embeddings');
      prompt.requiresGrad = true;
      const [b] = ids.shape;
      const p = prompt.shape[0];
      const { logits, loss } = tidy(() => {
        const embeds = concat([expand(unsqueeze(prompt, 0), [b, p, 64]), model.getInputEmbeddings().forward(ids)], 1);
        const out = model.forward({
          inputsEmbeds: embeds,
          attentionMask: concat([ones([b, p], { dtype: 'i32', backend }), mask], 1),
          labels: concat([full([b, p], -100, { dtype: 'i32', backend }), labels], 1),
        });
        out.loss!.backward();
        return out as { logits: Tensor; loss: Tensor };
      });
      expect(logits.shape).toEqual([2, 15, 128]);
      const r = await compare(logits, loss, prompt.grad!, c);
      console.log(`[golden inputs ${label}] llama_prompt: ${JSON.stringify(r)}`);
      model.dispose();
    });

    it('llama prefix tuning: per-layer past keys/values, positions after the prefix', async () => {
      const backend = getBackend();
      const c = await openCase('llama_prefix', backend);
      const model = await fromPretrained<LlamaForCausalLM>(base('llama'), { backend });
      model.freeze();
      const ids = await c.t(c.io, 'input_ids', 'i32');
      const mask = await c.t(c.io, 'attention_mask', 'i32');
      const labels = await c.t(c.io, 'labels', 'i32');
      const prompt = await c.t(c.adapter, 'prompt_embeddings'); // [P, layers·2·kv_heads·head_dim]
      prompt.requiresGrad = true;
      const [b] = ids.shape;
      const [p] = prompt.shape;
      const layers = 2;
      const kvHeads = 2;
      const headDim = 16;
      const { logits, loss } = tidy(() => {
        // PEFT's get_prompt: view [B, P, L·2, H, D] → permute [L·2, B, H, P, D] → (key, value) per layer
        const pkv = permute(
          reshape(expand(unsqueeze(prompt, 0), [b, p, prompt.shape[1]]), [b, p, layers * 2, kvHeads, headDim]),
          [2, 0, 3, 1, 4],
        );
        const parts = chunk(pkv, layers * 2, 0).map((x) => squeeze(x, 0));
        const past: KeyValue[] = Array.from({ length: layers }, (_, i) => ({
          key: parts[2 * i],
          value: parts[2 * i + 1],
        }));
        const out = model.forward({
          inputIds: ids,
          attentionMask: concat([ones([b, p], { dtype: 'i32', backend }), mask], 1),
          labels,
          pastKeyValues: past,
        });
        out.loss!.backward();
        return out as { logits: Tensor; loss: Tensor };
      });
      expect(logits.shape).toEqual([2, 10, 128]);
      const r = await compare(logits, loss, prompt.grad!, c);
      console.log(`[golden inputs ${label}] llama_prefix: ${JSON.stringify(r)}`);
      model.dispose();
    });

    it('bert prompt tuning (sequence classification): prompts first, the pooler reads the first virtual token', async () => {
      const backend = getBackend();
      const c = await openCase('bert_prompt_cls', backend);
      const model: PreTrainedModel = await fromPretrained(base('bert'), { backend });
      model.freeze();
      const head = {
        weight: await c.t(c.adapter, 'base_model.classifier.weight'),
        bias: await c.t(c.adapter, 'base_model.classifier.bias'),
      };
      model.getSubmodule('classifier').loadStateDict(head);
      const ids = await c.t(c.io, 'input_ids', 'i32');
      const mask = await c.t(c.io, 'attention_mask', 'i32');
      const labels = await c.t(c.io, 'labels', 'i32');
      const prompt = await c.t(c.adapter, 'prompt_embeddings');
      prompt.requiresGrad = true;
      const [b] = ids.shape;
      const p = prompt.shape[0];
      const { logits, loss } = tidy(() => {
        const embeds = concat([expand(unsqueeze(prompt, 0), [b, p, 64]), model.getInputEmbeddings().forward(ids)], 1);
        const out = model.forward({
          inputsEmbeds: embeds,
          attentionMask: concat([ones([b, p], { dtype: 'i32', backend }), mask], 1),
          labels,
        });
        out.loss!.backward();
        return out as { logits: Tensor; loss: Tensor };
      });
      const r = await compare(logits, loss, prompt.grad!, c);
      console.log(`[golden inputs ${label}] bert_prompt_cls: ${JSON.stringify(r)}`);
      model.dispose();
    });
  });
}

function base(arch: string): string {
  return join(goldenRoot(), 'base', arch);
}
