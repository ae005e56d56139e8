import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adapterHubParameters } from '@peftjs/bottleneck';
import { loadAdapterHubModel } from '@peftjs/bottleneck/node';
import type { PreTrainedModel } from '@peftjs/models';
import type { PeftModel } from '@peftjs/registry';
import { type Backend, type Tensor, tidy } from '@peftjs/tensor';
import { type GoldenLayout, loadBase, openGoldenFile, readInputs, readLosses, readRef } from '../case.js';
import { compare, fail, GOLDEN_TOLERANCES, type GoldenCheck, relMaxError } from '../checks.js';
import { checkCounts } from './adapter.js';

/**
 * AdapterHub bottleneck cases (`adapters`' save_adapter output in `adapter/`): logits, loss, and the gradient of
 * every trainable parameter by its key in adapter.safetensors / model_head.safetensors — strict both ways. Bottleneck
 * adapters cannot be merged, so these cases hold no merged values.
 */
export const bottleneckLayout: GoldenLayout = {
  name: 'adapterhub-bottleneck',
  detect: (c) => existsSync(join(c.dir, 'adapter', 'adapter.safetensors')),
  async run(c, backend: Backend) {
    const checks: GoldenCheck[] = [];
    const model = await loadBase(c.root, c.meta.arch, backend);
    const io = await openGoldenFile(join(c.dir, 'io.safetensors'));
    let peft: PeftModel<PreTrainedModel> | null = null;
    let inputs: Record<string, Tensor> = {};
    try {
      peft = await loadAdapterHubModel(model, join(c.dir, 'adapter'), { isTrainable: true });
      // The references ran in training mode (every dropout of the configs is 0).
      peft.train();
      checks.push(...checkCounts(c, peft));
      inputs = await readInputs(io, backend);
      const active = peft;
      const out = tidy(() => {
        const o = active.forward(inputs);
        if (!o.loss) throw new Error('the model returned no loss for the labels');
        o.loss.backward();
        return { logits: o.logits, loss: o.loss };
      });
      checks.push(
        compare(
          c.name,
          'logits',
          relMaxError(await out.logits.data(), await readRef(io, 'logits')),
          GOLDEN_TOLERANCES.logits,
        ),
      );
      const lossRef = (await readLosses(io, 'loss'))[0]!;
      checks.push(
        compare(
          c.name,
          'loss',
          Math.abs((await out.loss.item()) - lossRef) / Math.abs(lossRef),
          GOLDEN_TOLERANCES.loss,
        ),
      );
      out.logits.dispose();
      out.loss.dispose();
      const params = adapterHubParameters(peft);
      const refKeys = io.names().filter((n) => n.startsWith('grad.'));
      for (const key of params.keys()) {
        if (!refKeys.includes(`grad.${key}`))
          checks.push(fail(c.name, `grad.${key}`, 'trainable parameter has no reference gradient'));
      }
      for (const key of refKeys) {
        const p = params.get(key.slice(5));
        if (!p) checks.push(fail(c.name, key, 'no such trainable parameter'));
        else if (!p.grad) checks.push(fail(c.name, key, 'parameter received no gradient'));
        else
          checks.push(
            compare(c.name, key, relMaxError(await p.grad.data(), await readRef(io, key)), GOLDEN_TOLERANCES.grad),
          );
      }
    } finally {
      for (const t of Object.values(inputs)) t.dispose();
      await io.close();
      (peft ?? model).dispose();
    }
    return checks;
  },
};
