import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { loadPeftModel } from '@peftjs/registry/node';
import { type Backend, noGrad, type Tensor, tensor, tidy } from '@peftjs/tensor';
import {
  type GoldenCase,
  type GoldenFile,
  type GoldenLayout,
  loadBase,
  openGoldenFile,
  readInputs,
  readLosses,
  readRef,
} from '../case.js';
import { compare, exact, fail, GOLDEN_TOLERANCES, type GoldenCheck, relMaxError } from '../checks.js';

/**
 * The model with the case's adapter: loaded from `adapter/` (trainable), or — when io.safetensors holds `param.*`
 * (P-tuning, projected prefixes: the saved adapter holds only the encoder's output) — built from the adapter's
 * config in training form with those parameter values.
 */
export async function peftForCase(
  c: GoldenCase,
  model: PreTrainedModel,
  io: GoldenFile,
  adapterDir = join(c.dir, 'adapter'),
): Promise<PeftModel<PreTrainedModel>> {
  const paramKeys = io.names().filter((n) => n.startsWith('param.'));
  if (paramKeys.length === 0) return loadPeftModel(model, adapterDir, { isTrainable: true });
  const config = JSON.parse(await readFile(join(adapterDir, 'adapter_config.json'), 'utf8'));
  const peft = getPeftModel(model, { ...config, inference_mode: false });
  const params = peft.trainableParameterKeys();
  const backend = model.parameters()[0]!.backend;
  const values: Record<string, Tensor> = {};
  for (const key of paramKeys) {
    const p = params.get(key.slice(6));
    if (!p) throw new Error(`${key}: the model has no trainable parameter '${key.slice(6)}'`);
    const d = await io.read(key);
    if (p.shape.join(',') !== d.shape.join(','))
      throw new Error(`${key}: reference shape [${d.shape.join(', ')}], the model's [${p.shape.join(', ')}]`);
    values[key.slice(6)] = tensor(d.data, [...d.shape], { backend });
  }
  setParameters(peft, params, values);
  return peft;
}

/** Replace each named trainable parameter's values (same shapes), keeping it trainable. */
function setParameters(peft: PeftModel, params: Map<string, Tensor>, values: Record<string, Tensor>): void {
  const owners = new Map<Tensor, { owner: { setParameter(n: string, t: Tensor): Tensor | null }; name: string }>();
  for (const [, m] of peft.namedModules()) {
    for (const [n, t] of m.namedParameters({ recurse: false })) owners.set(t, { owner: m, name: n });
  }
  for (const [key, v] of Object.entries(values)) {
    const old = params.get(key)!;
    const o = owners.get(old)!;
    v.requiresGrad = true;
    o.owner.setParameter(o.name, v);
    old.dispose();
  }
}

/**
 * Strict gradient checks: every trainable parameter has a reference gradient and matches it, and every reference
 * gradient belongs to a trainable parameter that received one.
 */
export async function checkGradients(name: string, peft: PeftModel, io: GoldenFile): Promise<GoldenCheck[]> {
  const checks: GoldenCheck[] = [];
  const params = peft.trainableParameterKeys();
  const refKeys = new Set(io.names().filter((n) => n.startsWith('grad.')));
  for (const [key] of params) {
    if (!refKeys.has(`grad.${key}`))
      checks.push(fail(name, `grad.${key}`, 'trainable parameter has no reference gradient'));
  }
  for (const key of refKeys) {
    const p = params.get(key.slice(5));
    if (!p) checks.push(fail(name, key, 'no such trainable parameter'));
    else if (!p.grad) checks.push(fail(name, key, 'parameter received no gradient'));
    else
      checks.push(compare(name, key, relMaxError(await p.grad.data(), await readRef(io, key)), GOLDEN_TOLERANCES.grad));
  }
  return checks;
}

/** meta.json's `trainable_params` (and `all_params`) against the model's counts. */
export function checkCounts(c: GoldenCase, peft: PeftModel): GoldenCheck[] {
  const out: GoldenCheck[] = [];
  const { trainable, total } = peft.countTrainable();
  if (typeof c.meta.trainable_params === 'number')
    out.push(exact(c.name, 'trainable_params', trainable, c.meta.trainable_params));
  else out.push(fail(c.name, 'trainable_params', 'meta.json has no trainable_params'));
  if (typeof c.meta.all_params === 'number') out.push(exact(c.name, 'all_params', total, c.meta.all_params));
  return out;
}

/** PEFT adapter cases: `adapter/adapter_config.json` + io.safetensors with logits, loss, grads, merged values. */
export const peftAdapterLayout: GoldenLayout = {
  name: 'peft-adapter',
  // A case with its own base/ (a quantized checkpoint) or another library's adapter files is some other layout's.
  detect: (c) =>
    !c.meta.optimizer &&
    !c.entries.includes('base') &&
    existsSync(join(c.dir, 'adapter', 'adapter_config.json')) &&
    existsSync(join(c.dir, 'adapter', 'adapter_model.safetensors')),
  async run(c, backend: Backend) {
    const checks: GoldenCheck[] = [];
    const model = await loadBase(c.root, c.meta.arch, backend);
    const io = await openGoldenFile(join(c.dir, 'io.safetensors'));
    let peft: PeftModel<PreTrainedModel> | null = null;
    let inputs: Record<string, Tensor> = {};
    try {
      peft = await peftForCase(c, model, io);
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
      const lossRef = (await readLosses(io, 'loss'))[0];
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
      checks.push(...(await checkGradients(c.name, peft, io)));
      if (io.has('merged_logits')) {
        const merged = peft.mergeAndUnload();
        peft = null;
        const logits = noGrad(() => tidy(() => merged.forward(inputs).logits));
        checks.push(
          compare(
            c.name,
            'merged_logits',
            relMaxError(await logits.data(), await readRef(io, 'merged_logits')),
            GOLDEN_TOLERANCES.logits,
          ),
        );
        logits.dispose();
        const state = merged.stateDict();
        for (const key of io.names().filter((n) => n.startsWith('merged.'))) {
          const t: Tensor | undefined = state[key.slice(7)];
          if (!t) checks.push(fail(c.name, key, 'no such base parameter after merge_and_unload'));
          else
            checks.push(
              compare(c.name, key, relMaxError(await t.data(), await readRef(io, key)), GOLDEN_TOLERANCES.merged),
            );
        }
      }
    } finally {
      for (const t of Object.values(inputs)) t.dispose();
      await io.close();
      (peft ?? model).dispose();
    }
    return checks;
  },
};
