import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Module } from '@peftjs/nn';
import type { PeftModel } from '@peftjs/registry';
import { type Backend, getBackend, mul, type Tensor } from '@peftjs/tensor';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AdamW,
  type Batch,
  clipGradNorm,
  collate,
  defaultLoss,
  NonFiniteError,
  Trainer,
  type TrainerOptions,
  trainableParams,
} from '../src/node.js';
import { tinyData, tinyLoraLlama } from './helpers/tiny.js';

// Steps decided on the device: the trainer reads loss, gradient norm and skip flags back every `logEvery` steps,
// and the results must equal a loop that reads everything every step (torch's order: clip_grad_norm_, step).

async function adapterValues(peft: PeftModel): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(peft.adapterStateDict())) out[k] = [...(await t.data())];
  return out;
}

/** Counts Backend.read / readSync calls (as bench/train-step.ts does; the CPU's read calls its readSync: once). */
let reads = 0;
let inRead = false;
let restore: (() => void) | null = null;
beforeEach(() => {
  const be = getBackend() as Backend;
  const read = be.read;
  const readSync = be.readSync;
  be.read = async (...a) => {
    reads++;
    inRead = true;
    try {
      return await read.apply(be, a);
    } finally {
      inRead = false;
    }
  };
  if (readSync) {
    be.readSync = (...a) => {
      if (!inRead) reads++;
      return readSync.apply(be, a);
    };
  }
  restore = () => {
    be.read = read;
    be.readSync = readSync;
  };
  reads = 0;
});
afterEach(() => restore?.());

const data = tinyData(40, 10, { ragged: true });
const opts = (peft: PeftModel, extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
  model: peft,
  train: data,
  batchSize: 2,
  shuffle: false,
  lr: 0.01,
  maxGradNorm: 0.5,
  progress: false,
  seed: 3,
  ...extra,
});

/** The micro-batch loss, NaN (loss or gradient) at the given calls. */
const nanAt = (bad: Set<number>) => {
  let calls = 0;
  return (model: Module, batch: Batch): Tensor => {
    calls++;
    const l = defaultLoss(model, batch);
    return bad.has(calls) ? mul(l, Number.NaN) : l;
  };
};

/**
 * The reference: every step read back on the host, in the trainer's order (custom loss: weight 1 per micro-batch),
 * skipping the steps whose loss is non-finite without counting them.
 */
async function referenceRun(peft: PeftModel, steps: number, bad: Set<number>): Promise<void> {
  const params = trainableParams(peft);
  const opt = new AdamW(params, { lr: 0.01 });
  const loss = nanAt(bad);
  peft.train();
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    const b = collate(data.slice(2 * s, 2 * s + 2));
    const l = loss(peft, b);
    l.backward();
    const value = await l.item();
    l.dispose();
    if (!Number.isFinite(value)) continue;
    await clipGradNorm(params, 0.5);
    opt.step();
  }
  opt.zeroGrad();
  opt.dispose();
}

describe('steps decided on the device', () => {
  it('reads back once per logEvery steps, with history and parameters equal to reading every step', async () => {
    const peft = tinyLoraLlama();
    reads = 0;
    const r = await new Trainer(opts(peft, { maxSteps: 20, logEvery: 10, lossFn: nanAt(new Set()) })).train();
    const trainReads = reads;
    expect(trainReads / 20).toBeLessThanOrEqual(0.2);
    expect(trainReads).toBe(2);
    expect(r.history.map((h) => h.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const lazy = await adapterValues(peft);

    const ref = tinyLoraLlama();
    const every = await new Trainer(
      opts(ref, { maxSteps: 20, logEvery: 1, lossFn: nanAt(new Set()), callbacks: [{ onStepEnd: () => {} }] }),
    ).train();
    expect(r.history.map((h) => [h.loss, h.gradNorm])).toEqual(every.history.map((h) => [h.loss, h.gradNorm]));
    expect(lazy).toEqual(await adapterValues(ref));

    // and both equal a host loop with clip_grad_norm_ read back every step
    const host = tinyLoraLlama();
    await referenceRun(host, 20, new Set());
    expect(lazy).toEqual(await adapterValues(host));
    expect(r.history.some((h) => h.gradNorm! > 0.5)).toBe(true); // clipping was exercised
  });

  it('batched callbacks get every step in order; a callback that is not batched reads every step', async () => {
    const seen: number[] = [];
    const peft = tinyLoraLlama();
    reads = 0;
    await new Trainer(
      opts(peft, {
        maxSteps: 7,
        logEvery: 3,
        callbacks: [{ batched: true, onStepEnd: (i) => void seen.push(i.step) }],
      }),
    ).train();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(reads).toBe(3); // steps 3, 6 and the last
    reads = 0;
    await new Trainer(opts(tinyLoraLlama(), { maxSteps: 4, callbacks: [{ onStep: () => {} }] })).train();
    expect(reads).toBe(4);
  });

  it('evaluations and checkpoints read first: batched steps arrive before them, in order, and are checkpointed', async () => {
    const calls: string[] = [];
    const paths = new Map<number, string>();
    const dir = await mkdtemp(join(tmpdir(), 'peftjs-device-step-'));
    const r = await new Trainer(
      opts(tinyLoraLlama(), {
        maxSteps: 7,
        logEvery: 100,
        eval: tinyData(2, 8, { offset: 3 }),
        evalEvery: 3,
        checkpointDir: join(dir, 'ck'),
        checkpointEvery: 5,
        callbacks: [
          {
            batched: true,
            onStepEnd: (i) => void calls.push(`step ${i.step}`),
            onEval: (e) => void calls.push(`eval ${e.step}`),
            onCheckpoint: (path, step) => {
              calls.push(`checkpoint ${step}`);
              paths.set(step, path);
            },
          },
        ],
      }),
    ).train();
    expect(calls).toEqual([
      'step 1',
      'step 2',
      'step 3',
      'eval 3',
      'step 4',
      'step 5',
      'checkpoint 5',
      'step 6',
      'eval 6',
      'step 7',
      'eval 7',
      'checkpoint 7',
    ]);
    // the checkpoint at step 5 holds five complete history entries and AdamW's t = 5
    const state = JSON.parse(await readFile(join(paths.get(5)!, 'trainer_state.json'), 'utf8'));
    expect(state.history.map((h: { step: number }) => h.step)).toEqual([1, 2, 3, 4, 5]);
    expect(state.history.every((h: { gradNorm?: number }) => Number.isFinite(h.gradNorm))).toBe(true);
    expect(state.optimizer.step).toBe(5);
    expect(r.history.length).toBe(7);
    await rm(dir, { recursive: true, force: true });
  });

  it("a NaN at step k stops as step k ('stop'), found at the next read; parameters are those after step k - 1", async () => {
    const k = 4;
    const peft = tinyLoraLlama();
    reads = 0;
    const err = (await new Trainer(opts(peft, { maxSteps: 10, logEvery: 10, lossFn: nanAt(new Set([k])) }))
      .train()
      .catch((e: unknown) => e)) as NonFiniteError;
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(reads).toBe(1); // discovered at the read of step 10
    expect(err.step).toBe(k);
    expect(err.quantity).toBe('loss');
    expect(Number.isNaN(err.value)).toBe(true);
    expect(err.result.steps).toBe(k - 1);
    expect(err.result.history.map((h) => h.step)).toEqual([1, 2, 3]);

    const ref = tinyLoraLlama();
    await new Trainer(opts(ref, { maxSteps: k - 1, lossFn: nanAt(new Set()) })).train();
    expect(await adapterValues(peft)).toEqual(await adapterValues(ref));
  });

  it("'skip' skips the step without counting it for the bias corrections, as reading every step does", async () => {
    const bad = new Set([2, 5, 6]);
    const peft = tinyLoraLlama();
    reads = 0;
    const r = await new Trainer(
      opts(peft, { maxSteps: 9, logEvery: 10, onNonFinite: 'skip', lossFn: nanAt(bad) }),
    ).train();
    expect(reads).toBe(1);
    expect(r.stoppedReason).toBe('completed');
    expect(r.history.map((h) => h.skipped ?? false)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => bad.has(s)));
    expect(r.history.filter((h) => h.skipped).every((h) => Number.isNaN(h.loss) && h.gradNorm === undefined)).toBe(
      true,
    );
    const host = tinyLoraLlama();
    await referenceRun(host, 9, bad);
    expect(await adapterValues(peft)).toEqual(await adapterValues(host));
  });
});
