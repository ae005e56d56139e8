import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import '@peftjs/dora';
import '@peftjs/lora';
import type { PreTrainedModel } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { type PeftModel, PeftModel as Peft } from '@peftjs/registry';
import { openFile } from '@peftjs/safetensors/node';
import { type Backend, noGrad, type Tensor, tensor, tidy } from '@peftjs/tensor';
import { AdamW, trainableParams } from '@peftjs/trainer/node';

/** Tolerances of ../shared/golden/README.md: relative to the reference tensor's largest magnitude. */
export const GOLDEN_TOLERANCES = { logits: 1e-4, merged: 1e-4, grad: 1e-3, param: 1e-3, loss: 1e-5 } as const;

/** One comparison of a golden case. `error` is null when the check could not run (`reason` says why). */
export interface GoldenCheck {
  case: string;
  check: string;
  error: number | null;
  tolerance: number | null;
  passed: boolean;
  reason?: string;
}

/** max|ours − ref| / max(max|ref|, 1e-6); Infinity on NaN or a length mismatch. */
export function relMaxError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) return Number.POSITIVE_INFINITY;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i] - ref[i]);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    err = Math.max(err, d);
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / Math.max(scale, 1e-6);
}

/** Case folders under `dir`: `dir` itself if it has meta.json, else its subfolders that do (sorted). */
export async function findGoldenCases(dir: string): Promise<string[]> {
  if (existsSync(join(dir, 'meta.json'))) return [dir];
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`golden: '${dir}' is not a directory`);
  const out: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (existsSync(join(dir, name, 'meta.json'))) out.push(join(dir, name));
  }
  if (!out.length) throw new Error(`golden: no case folders (with meta.json) in '${dir}'`);
  return out;
}

type Meta = Record<string, unknown> & { case?: string; arch?: string; optimizer?: string; start_adapter?: string };

/** Run every check a case defines; never throws for a failing or unsupported case (it becomes a failed check). */
export async function runGoldenCase(caseDir: string, backend: Backend): Promise<GoldenCheck[]> {
  const name = basename(caseDir);
  let meta: Meta;
  try {
    meta = JSON.parse(await readFile(join(caseDir, 'meta.json'), 'utf8'));
  } catch (e) {
    return [fail(name, 'meta', `cannot read meta.json: ${(e as Error).message}`)];
  }
  try {
    if (meta.optimizer) return await runTrajectoryCase(name, caseDir, meta, backend);
    return await runAdapterCase(name, caseDir, meta, backend);
  } catch (e) {
    return [fail(name, 'case', (e as Error).message.split('\n')[0])];
  }
}

function fail(c: string, check: string, reason: string): GoldenCheck {
  return { case: c, check, error: null, tolerance: null, passed: false, reason };
}
function compare(c: string, check: string, error: number, tolerance: number): GoldenCheck {
  return { case: c, check, error, tolerance, passed: error <= tolerance };
}

async function loadBase(root: string, arch: string | undefined, backend: Backend): Promise<PreTrainedModel> {
  if (!arch) throw new Error('meta.json names no arch');
  const dir = join(root, 'base', arch);
  if (!existsSync(dir)) throw new Error(`base model folder '${dir}' not found`);
  return fromPretrained(dir, { backend, tokenizer: false });
}

async function readInputs(io: Awaited<ReturnType<typeof openFile>>, backend: Backend) {
  const get = async (n: string) => {
    const d = await io.read(n, { dtype: 'i32' });
    return tensor(d.data, [...d.shape], { dtype: 'i32', backend });
  };
  return { inputIds: await get('input_ids'), attentionMask: await get('attention_mask'), labels: await get('labels') };
}

async function refLoss(io: Awaited<ReturnType<typeof openFile>>, key: string): Promise<Float64Array> {
  const raw = await io.raw(key);
  const bytes = new Uint8Array(raw.bytes);
  if (raw.dtype === 'F64') return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8).slice();
  return Float64Array.from((await io.read(key)).data);
}

async function runAdapterCase(name: string, caseDir: string, meta: Meta, backend: Backend): Promise<GoldenCheck[]> {
  const root = dirname(caseDir);
  const checks: GoldenCheck[] = [];
  const model = await loadBase(root, meta.arch, backend);
  let peft: PeftModel<PreTrainedModel> | null = null;
  const io = await openFile(join(caseDir, 'io.safetensors'));
  try {
    peft = await Peft.fromPretrained(model, join(caseDir, 'adapter'), { isTrainable: true });
    const inputs = await readInputs(io, backend);
    const out = tidy(() => {
      const o = model.forward(inputs);
      o.loss!.backward();
      return { logits: o.logits, loss: o.loss! };
    });
    checks.push(
      compare(
        name,
        'logits',
        relMaxError(await out.logits.data(), (await io.read('logits')).data),
        GOLDEN_TOLERANCES.logits,
      ),
    );
    const lossRef = (await refLoss(io, 'loss'))[0];
    checks.push(
      compare(name, 'loss', Math.abs((await out.loss.item()) - lossRef) / Math.abs(lossRef), GOLDEN_TOLERANCES.loss),
    );
    out.logits.dispose();
    out.loss.dispose();
    const params = peft.adapterStateDict();
    for (const key of io.names().filter((n) => n.startsWith('grad.'))) {
      const pkey = key.slice(5);
      const p = params[pkey];
      if (!p) {
        checks.push(fail(name, key, 'no such adapter parameter'));
        continue;
      }
      if (!p.grad) {
        checks.push(fail(name, key, 'parameter received no gradient'));
        continue;
      }
      checks.push(
        compare(name, key, relMaxError(await p.grad.data(), (await io.read(key)).data), GOLDEN_TOLERANCES.grad),
      );
    }
    if (io.has('merged_logits')) {
      const merged = peft.mergeAndUnload();
      peft = null;
      const logits = noGrad(() => tidy(() => merged.forward(inputs).logits));
      checks.push(
        compare(
          name,
          'merged_logits',
          relMaxError(await logits.data(), (await io.read('merged_logits')).data),
          GOLDEN_TOLERANCES.logits,
        ),
      );
      logits.dispose();
      const state = merged.stateDict();
      for (const key of io.names().filter((n) => n.startsWith('merged.'))) {
        const t: Tensor | undefined = state[key.slice(7)];
        if (!t) checks.push(fail(name, key, 'no such base parameter after merge_and_unload'));
        else
          checks.push(
            compare(name, key, relMaxError(await t.data(), (await io.read(key)).data), GOLDEN_TOLERANCES.merged),
          );
      }
    }
    for (const t of Object.values(inputs)) t.dispose();
  } finally {
    await io.close();
    model.dispose();
  }
  return checks;
}

async function runTrajectoryCase(name: string, caseDir: string, meta: Meta, backend: Backend): Promise<GoldenCheck[]> {
  const root = dirname(caseDir);
  if (meta.optimizer !== 'AdamW')
    return [fail(name, 'trajectory', `optimizer '${meta.optimizer}' is not supported (AdamW is)`)];
  if (typeof meta.start_adapter !== 'string') return [fail(name, 'trajectory', 'meta.json names no start_adapter')];
  const adapterDir = join(root, meta.start_adapter);
  const inputsDir = dirname(adapterDir);
  const startMeta: Meta = JSON.parse(await readFile(join(inputsDir, 'meta.json'), 'utf8').catch(() => '{}'));
  const model = await loadBase(root, meta.arch ?? startMeta.arch, backend);
  const inputsFile = await openFile(join(inputsDir, 'io.safetensors'));
  const io = await openFile(join(caseDir, 'io.safetensors'));
  const checks: GoldenCheck[] = [];
  try {
    const peft = await Peft.fromPretrained(model, adapterDir, { isTrainable: true });
    const inputs = await readInputs(inputsFile, backend);
    const betas = meta.betas as [number, number];
    const opt = new AdamW(trainableParams(model), {
      lr: meta.lr as number,
      betas,
      eps: meta.eps as number,
      weightDecay: meta.weight_decay as number,
    });
    const steps = meta.steps as number;
    const refLosses = await refLoss(io, 'losses');
    for (let s = 0; s < steps; s++) {
      const loss = tidy(() => {
        const l = model.forward(inputs).loss!;
        l.backward();
        return l;
      });
      const v = await loss.item();
      loss.dispose();
      checks.push(
        compare(name, `losses[${s}]`, Math.abs(v - refLosses[s]) / Math.abs(refLosses[s]), GOLDEN_TOLERANCES.loss),
      );
      opt.step();
      opt.zeroGrad();
    }
    const params = peft.adapterStateDict();
    for (const key of io.names().filter((n) => n.startsWith('param.'))) {
      const p = params[key.slice(6)];
      if (!p) checks.push(fail(name, key, 'no such adapter parameter'));
      else
        checks.push(
          compare(name, key, relMaxError(await p.data(), (await io.read(key)).data), GOLDEN_TOLERANCES.param),
        );
    }
    opt.dispose();
    for (const t of Object.values(inputs)) t.dispose();
  } finally {
    await io.close();
    await inputsFile.close();
    model.dispose();
  }
  return checks;
}

/** A stable one-line rendering of a check (the runner's output format). */
export function formatCheck(c: GoldenCheck): string {
  const status = c.passed ? 'PASS' : 'FAIL';
  if (c.error === null) return `${status} ${c.case} ${c.check}: ${c.reason ?? 'not run'}`;
  return `${status} ${c.case} ${c.check}: error ${c.error.toExponential(3)} (tolerance ${c.tolerance?.toExponential(0)})`;
}
