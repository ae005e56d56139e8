/**
 * AdapterHub's reference vectors (../shared/golden, "Bottleneck adapter cases"; adapters 1.2, float64): the adapter
 * loaded from the files `save_adapter` wrote gives the same logits, loss and gradient of every trainable parameter,
 * named by the keys of adapter.safetensors / model_head.safetensors.
 */
import { join } from 'node:path';
import { fromPretrained } from '@peftjs/models/node';
import { openFile } from '@peftjs/safetensors/node';
import { relMaxError, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { goldenRoot } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { adapterHubParameters } from '../src/index.js';
import { loadAdapterHubModel } from '../src/node.js';

const CASES = [
  { name: 'bert_seq_bn_cls', arch: 'bert' },
  { name: 'llama_seq_bn', arch: 'llama' },
  { name: 'gpt2_double_seq_bn', arch: 'gpt2' },
] as const;

describe('bottleneck adapters match AdapterHub (CPU)', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const dir = join(goldenRoot(), c.name);
      const meta = JSON.parse(
        await (await import('node:fs/promises')).readFile(join(dir, 'meta.json'), 'utf8'),
      ) as Record<string, number>;
      const model = await fromPretrained(join(goldenRoot(), 'base', c.arch), { tokenizer: false });
      const peft = await loadAdapterHubModel(model, join(dir, 'adapter'), { isTrainable: true });
      peft.train();
      const io = await openFile(join(dir, 'io.safetensors'));
      const int = async (k: string) => {
        const d = await io.read(k, { dtype: 'i32' });
        return tensor(d.data, [...d.shape], { dtype: 'i32' });
      };
      const inputs = {
        inputIds: await int('input_ids'),
        attentionMask: await int('attention_mask'),
        labels: await int('labels'),
      };
      try {
        const { trainable, total } = peft.countTrainable();
        expect(trainable).toBe(meta.trainable_params);
        expect(total).toBe(meta.all_params);
        const out = tidy(() => {
          const o = peft.forward(inputs);
          o.loss!.backward();
          return { logits: o.logits, loss: o.loss! };
        });
        expect(relMaxError(await out.logits.data(), (await io.read('logits')).data)).toBeLessThan(1e-4);
        const lossRef = (await io.read('loss')).data[0]!;
        expect(Math.abs((await out.loss.item()) - lossRef) / lossRef).toBeLessThan(1e-5);
        const params = adapterHubParameters(peft);
        const refs = io.names().filter((n) => n.startsWith('grad.'));
        expect([...params.keys()].sort()).toEqual(refs.map((r) => r.slice(5)).sort());
        for (const r of refs) {
          const p = params.get(r.slice(5)) as Tensor;
          expect(p.grad, r).toBeTruthy();
          expect(relMaxError(await p.grad!.data(), (await io.read(r)).data), r).toBeLessThan(1e-3);
        }
        out.logits.dispose();
        out.loss.dispose();
      } finally {
        for (const t of Object.values(inputs)) t.dispose();
        await io.close();
        peft.dispose();
      }
    });
  }
});
