import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import type { PeftModel } from '@peftjs/registry';
import { loadPeftModel } from '@peftjs/registry/node';
import { type Backend, type Tensor, tidy } from '@peftjs/tensor';
import { AdamW, trainableParams } from '@peftjs/trainer/node';
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
import { compare, fail, GOLDEN_TOLERANCES, type GoldenCheck, relMaxError } from '../checks.js';
import { peftForCase } from './adapter.js';

/** What one trajectory step reports to an extension (e.g. AdaLoRA's rank pattern after each step). */
export interface TrajectoryStep {
  step: number;
  peft: PeftModel<PreTrainedModel>;
}

/** Options of {@link runTrajectory}: where the start adapter is, and checks to add per step and at the end. */
export interface TrajectoryOptions {
  /** The start adapter folder (default: meta.json's `start_adapter`, relative to the golden root). */
  adapterDir?: string;
  afterStep?(s: TrajectoryStep): Promise<GoldenCheck[]> | GoldenCheck[];
  atEnd?(peft: PeftModel<PreTrainedModel>, io: GoldenFile): Promise<GoldenCheck[]> | GoldenCheck[];
}

/**
 * Train the start adapter with torch's AdamW for meta.steps steps on the case's inputs, calling the method's
 * training-step hook after each optimizer step (before zeroing gradients) as the trainer does, and compare the
 * losses and the final parameters. Every trainable parameter must have a reference `param.<key>`.
 */
export async function runTrajectory(
  c: GoldenCase,
  backend: Backend,
  opts: TrajectoryOptions = {},
): Promise<GoldenCheck[]> {
  const meta = c.meta;
  if (meta.optimizer !== 'AdamW')
    return [fail(c.name, 'trajectory', `optimizer '${String(meta.optimizer)}' is not supported (AdamW is)`)];
  let adapterDir = opts.adapterDir;
  let inputsDir = c.dir;
  if (!adapterDir) {
    if (typeof meta.start_adapter !== 'string') return [fail(c.name, 'trajectory', 'meta.json names no start_adapter')];
    adapterDir = join(c.root, meta.start_adapter);
    inputsDir = dirname(adapterDir);
  }
  const startMeta = JSON.parse(await readFile(join(inputsDir, 'meta.json'), 'utf8').catch(() => '{}'));
  const model = await loadBase(c.root, meta.arch ?? startMeta.arch, backend);
  const io = await openGoldenFile(join(c.dir, 'io.safetensors'));
  const inputsFile = inputsDir === c.dir ? io : await openGoldenFile(join(inputsDir, 'io.safetensors'));
  const checks: GoldenCheck[] = [];
  let inputs: Record<string, Tensor> = {};
  try {
    // A start adapter inside the trajectory's own folder is loaded as saved: that io.safetensors' param.* are the
    // values after the last step, not the start's.
    const peft =
      inputsFile === io
        ? await loadPeftModel(model, adapterDir, { isTrainable: true })
        : await peftForCase({ ...c, dir: inputsDir }, model, inputsFile, adapterDir);
    inputs = await readInputs(inputsFile.has('input_ids') ? inputsFile : io, backend);
    const opt = new AdamW(trainableParams(peft), {
      lr: meta.lr as number,
      betas: meta.betas as [number, number],
      eps: meta.eps as number,
      weightDecay: meta.weight_decay as number,
    });
    try {
      const steps = meta.steps as number;
      const refLosses = await readLosses(io, 'losses');
      for (let s = 0; s < steps; s++) {
        const loss = tidy(() => {
          const l = peft.forward(inputs).loss;
          if (!l) throw new Error('the model returned no loss for the labels');
          l.backward();
          return l;
        });
        const v = await loss.item();
        loss.dispose();
        checks.push(
          compare(c.name, `losses[${s}]`, Math.abs(v - refLosses[s]) / Math.abs(refLosses[s]), GOLDEN_TOLERANCES.loss),
        );
        opt.step();
        await peft.onTrainStep(s);
        opt.zeroGrad();
        if (opts.afterStep) checks.push(...(await opts.afterStep({ step: s, peft })));
      }
    } finally {
      opt.dispose();
    }
    const refKeys = new Set(io.names().filter((n) => n.startsWith('param.')));
    for (const [key] of peft.trainableParameterKeys()) {
      if (!refKeys.has(`param.${key}`))
        checks.push(fail(c.name, `param.${key}`, 'trainable parameter has no reference value'));
    }
    const final = peft.trainableParameterKeys();
    for (const key of refKeys) {
      const p = final.get(key.slice(6));
      if (!p) checks.push(fail(c.name, key, 'no such trainable parameter'));
      else
        checks.push(compare(c.name, key, relMaxError(await p.data(), await readRef(io, key)), GOLDEN_TOLERANCES.param));
    }
    if (opts.atEnd) checks.push(...(await opts.atEnd(peft, io)));
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    await io.close();
    if (inputsFile !== io) await inputsFile.close();
    model.dispose();
  }
  return checks;
}

/** Trajectory cases: meta.json names an optimizer, a start adapter and steps; io.safetensors holds losses and param.*. */
export const trajectoryLayout: GoldenLayout = {
  name: 'trajectory',
  detect: (c) => typeof c.meta.optimizer === 'string' && typeof c.meta.start_adapter === 'string',
  run: (c, backend) => runTrajectory(c, backend),
};
