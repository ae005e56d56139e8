import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { causalLMLoss } from '@peftjs/models';
import { Module } from '@peftjs/nn';
import type { PeftModel } from '@peftjs/registry';
import { loadTensors } from '@peftjs/safetensors';
import { add, embedding, memory, mul, sqrt, sum, type Tensor, tensor } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Batch,
  createProgress,
  defaultLoss,
  evaluate,
  listCheckpoints,
  NonFiniteError,
  Trainer,
  type TrainerOptions,
  verifyCheckpoint,
} from '../src/node.js';
import { lcg, maxRelErr } from './helpers/refs.js';
import { tinyData, tinyLoraLlama } from './helpers/tiny.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-trainer-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function adapterValues(peft: PeftModel): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(peft.adapterStateDict())) out[k] = (await t.data()) as Float32Array;
  return out;
}

function base(peft: PeftModel, extra: Partial<TrainerOptions> = {}): TrainerOptions {
  return { model: peft, train: tinyData(8, 10, { ragged: true }), progress: false, seed: 3, ...extra };
}

describe('gradient accumulation', () => {
  it('k micro-batches with accumulation give the step of one big batch (padded, ragged data)', async () => {
    const runs: { values: Record<string, Float32Array>; loss: number }[] = [];
    for (const [batchSize, gradAccumSteps] of [
      [4, 1],
      [2, 2],
      [1, 4],
    ]) {
      const peft = tinyLoraLlama();
      // SGD without momentum: the update is lr × gradient, so parameters compare the gradients themselves
      const r = await new Trainer(
        base(peft, { optimizer: 'sgd', lr: 1, batchSize, gradAccumSteps, maxSteps: 2, maxGradNorm: null }),
      ).train();
      expect(r.steps).toBe(2);
      runs.push({ values: await adapterValues(peft), loss: r.history[1].loss });
      peft.dispose();
    }
    const [big, ...accumulated] = runs;
    const start = await adapterValues(tinyLoraLlama());
    for (const run of accumulated) {
      expect(Math.abs(run.loss - big.loss)).toBeLessThan(1e-6);
      for (const k of Object.keys(big.values)) expect(maxRelErr(run.values[k], big.values[k]), k).toBeLessThan(1e-6);
    }
    // the steps did move the adapter (B starts at zero)
    const moved = Object.keys(start).some((k) => maxRelErr(big.values[k], start[k]) > 1e-3);
    expect(moved).toBe(true);
  });

  it('with a custom loss (mean per batch) each micro-batch is scaled by 1/accum: equal to one big batch on equal lengths', async () => {
    const values: Record<string, Float32Array>[] = [];
    for (const [batchSize, gradAccumSteps] of [
      [4, 1],
      [2, 2],
    ]) {
      const peft = tinyLoraLlama();
      await new Trainer(
        base(peft, {
          train: tinyData(8, 10),
          lossFn: (m, b) => defaultLoss(m, b),
          optimizer: 'sgd',
          lr: 1,
          batchSize,
          gradAccumSteps,
          maxSteps: 2,
        }),
      ).train();
      values.push(await adapterValues(peft));
      peft.dispose();
    }
    for (const k of Object.keys(values[0])) expect(maxRelErr(values[1][k], values[0][k]), k).toBeLessThan(1e-6);
  });
});

/** A bigram LM: logits for the token after x are row x of a [V, V] table, simple enough to check by hand. */
class Bigram extends Module {
  constructor(readonly table: number[][]) {
    super();
    this.registerParameter('weight', tensor(table, undefined, { requiresGrad: true }));
  }
  forward(inputs: { inputIds: Tensor; labels?: Tensor | null }): { logits: Tensor; loss: Tensor | null } {
    const logits = embedding(this.param('weight'), inputs.inputIds);
    return { logits, loss: inputs.labels ? causalLMLoss(logits, inputs.labels) : null };
  }
}

describe('evaluate', () => {
  it('loss, perplexity and accuracy equal a float64 hand computation (padding ignored, uneven batches)', async () => {
    const v = 6;
    const r = lcg(21);
    const table = Array.from({ length: v }, () => Array.from({ length: v }, () => r() * 3));
    table[0][1] += 5; // some predictions right, the rest by chance
    table[1][2] += 5;
    const model = new Bigram(table);
    const data = [[0, 1, 2, 3], [4, 5], [2, 2, 1, 0, 5], [3], [1, 4, 4]];
    let nll = 0;
    let n = 0;
    let hits = 0;
    for (const seq of data) {
      for (let t = 0; t + 1 < seq.length; t++) {
        const row = table[seq[t]];
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
        nll += lse - row[seq[t + 1]];
        n++;
        if (row.indexOf(m) === seq[t + 1]) hits++;
      }
    }
    const res = await evaluate(model, data, { batchSize: 2 });
    expect(res.tokens).toBe(n);
    expect(Math.abs(res.loss - nll / n)).toBeLessThan(1e-6);
    expect(Math.abs(res.perplexity - Math.exp(nll / n)) / Math.exp(nll / n)).toBeLessThan(1e-6);
    expect(res.accuracy).toBe(hits / n);
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(n);
    expect(model.training).toBe(true); // mode restored
    const few = await evaluate(model, data, { batchSize: 2, maxBatches: 1 });
    expect(few.tokens).toBe(4);
  });

  it('sequence labels: label accuracy and mean cross-entropy per example', async () => {
    // a classifier whose logits are the sum of its tokens' rows
    class Cls extends Module {
      constructor() {
        super();
        this.registerParameter(
          'weight',
          tensor(
            [
              [2, 0, 0],
              [0, 0, 3],
            ],
            undefined,
            { requiresGrad: true },
          ),
        );
      }
      forward(inputs: { inputIds: Tensor }) {
        return { logits: sum(embedding(this.param('weight'), inputs.inputIds), 1), loss: null };
      }
    }
    const res = await evaluate(new Cls(), [
      { inputIds: [0], label: 0 },
      { inputIds: [1], label: 1 },
      { inputIds: [1], label: 0 },
    ]);
    const ce = (row: number[], y: number) => Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[y];
    const want = (ce([2, 0, 0], 0) + ce([0, 0, 3], 1) + ce([0, 0, 3], 0)) / 3;
    expect(res.tokens).toBe(3);
    expect(Math.abs(res.loss - want)).toBeLessThan(1e-6);
    expect(res.accuracy).toBeCloseTo(1 / 3, 12);
  });
});

describe('non-finite guard', () => {
  const nanAt = (step: number, how: 'loss' | 'grad') => {
    let calls = 0;
    return (model: Module, batch: Batch) => {
      calls++;
      const l = defaultLoss(model, batch);
      if (calls !== step) return l;
      if (how === 'loss') return mul(l, Number.NaN);
      // finite loss, NaN gradient: d sqrt(x)/dx at 0 is inf, times 0
      const p = (model as PeftModel).adapterStateDict();
      const w = Object.values(p).find((t) => t.requiresGrad)!;
      return add(l, sqrt(mul(sum(w), 0)));
    };
  };

  it('stops with an error naming the step; the update is not applied and saved checkpoints are untouched', async () => {
    const peft = tinyLoraLlama();
    const ck = join(dir, 'nan-stop');
    const digests = new Map<string, string>();
    const err = await new Trainer(
      base(peft, {
        lossFn: nanAt(3, 'loss'),
        batchSize: 2,
        maxSteps: 5,
        checkpointDir: ck,
        checkpointEvery: 1,
        callbacks: [
          {
            onCheckpoint: async (path) => {
              digests.set(
                path,
                createHash('sha256')
                  .update(await readFile(join(path, 'adapter/adapter_model.safetensors')))
                  .digest('hex'),
              );
            },
          },
        ],
      }),
    )
      .train()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(NonFiniteError);
    const e = err as NonFiniteError;
    expect(e.message).toMatch(/step 3\b/);
    expect(e.step).toBe(3);
    expect(e.quantity).toBe('loss');
    expect(e.result.stoppedReason).toBe('non-finite');
    expect(e.result.steps).toBe(2);
    const cks = await listCheckpoints(ck);
    expect(cks.map((c) => c.step)).toEqual([1, 2]);
    for (const c of cks) {
      expect(await verifyCheckpoint(c.path)).toBe(true);
      const h = createHash('sha256')
        .update(await readFile(join(c.path, 'adapter/adapter_model.safetensors')))
        .digest('hex');
      expect(h).toBe(digests.get(c.path));
    }
    // the model still holds step 2's weights
    const saved = await loadTensors(await readFile(join(cks[1].path, 'adapter/adapter_model.safetensors')));
    const now = await adapterValues(peft);
    for (const [k, t] of Object.entries(saved)) expect([...now[k]]).toEqual([...(await t.data())]);
  });

  it('a non-finite gradient norm with a finite loss is caught too', async () => {
    const peft = tinyLoraLlama();
    const err = (await new Trainer(base(peft, { lossFn: nanAt(2, 'grad'), batchSize: 4, maxSteps: 3 }))
      .train()
      .catch((x: unknown) => x)) as NonFiniteError;
    expect(err).toBeInstanceOf(NonFiniteError);
    expect(err.quantity).toBe('gradient norm');
    expect(err.message).toMatch(/step 2\b/);
  });

  it("onNonFinite 'skip' skips the update and goes on", async () => {
    const peft = tinyLoraLlama();
    const after: Record<string, Float32Array>[] = [];
    const r = await new Trainer(
      base(peft, {
        lossFn: nanAt(3, 'loss'),
        batchSize: 2,
        maxSteps: 4,
        onNonFinite: 'skip',
        callbacks: [{ onStepEnd: async () => void after.push(await adapterValues(peft)) }],
      }),
    ).train();
    expect(r.stoppedReason).toBe('completed');
    expect(r.history.map((h) => h.skipped ?? false)).toEqual([false, false, true, false]);
    for (const k of Object.keys(after[1])) expect([...after[2][k]]).toEqual([...after[1][k]]);
    expect(Object.keys(after[2]).some((k) => maxRelErr(after[3][k], after[2][k]) > 0)).toBe(true);
  });
});

describe('logging, callbacks, evaluation during training, memory', () => {
  it('writes JSONL, calls (async) callbacks in order, evaluates every evalEvery steps', async () => {
    const peft = tinyLoraLlama({ loraDropout: 0.1 });
    const logFile = join(dir, 'logs', 'train.jsonl');
    const calls: string[] = [];
    const evalSet = tinyData(3, 8, { offset: 5 });
    const trainer = new Trainer(
      base(peft, {
        eval: evalSet,
        evalEvery: 2,
        maxSteps: 4,
        batchSize: 4,
        schedule: 'linear',
        warmupSteps: 1,
        lr: 0.01,
        logFile,
        checkpointDir: join(dir, 'cb-ck'),
        checkpointEvery: 2,
        callbacks: [
          {
            onStepEnd: async (i) => {
              await new Promise((res) => setTimeout(res, 5));
              calls.push(`step ${i.step}`);
            },
            onEval: (e) => void calls.push(`eval ${e.step}`),
            onCheckpoint: (_p, step) => void calls.push(`checkpoint ${step}`),
            onEnd: (res) => void calls.push(`end ${res.steps}`),
          },
        ],
      }),
    );
    const before = memory().bytes;
    const r = await trainer.train();
    expect(calls).toEqual([
      'step 1',
      'step 2',
      'eval 2',
      'checkpoint 2',
      'step 3',
      'step 4',
      'eval 4',
      'checkpoint 4',
      'end 4',
    ]);
    const lines = (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual([
      'start',
      'step',
      'step',
      'eval',
      'checkpoint',
      'step',
      'step',
      'eval',
      'checkpoint',
      'end',
    ]);
    const steps = lines.filter((l) => l.event === 'step');
    expect(steps.map((s) => s.loss)).toEqual(r.history.map((h) => h.loss));
    // linear schedule with warmup 1 over 4 steps: lr × [0, 1, 2/3, 1/3]
    expect(steps.map((s) => s.lr)).toEqual([0, 0.01, 0.01 * (2 / 3), 0.01 * (1 / 3)]);
    expect(steps.every((s) => s.gradNorm > 0 && s.tokens > 0)).toBe(true);
    // the last eval is the final model's
    expect(r.evals.map((e) => e.step)).toEqual([2, 4]);
    const again = await trainer.evaluate();
    expect(again.loss).toBe(r.evals[1].loss);
    expect(again.perplexity).toBeCloseTo(Math.exp(again.loss), 10);
    // memory: the peak includes what lived during the steps (activations, gradients), beyond what remains now
    expect(r.peakTensorBytes).toBeGreaterThan(before + 4 * r.trainableParams);
    expect(r.peakRssBytes).toBeGreaterThan(0);
    expect(r.tokensPerSecond).toBeGreaterThan(0);
    expect(r.trainableParams).toBe(peft.countTrainable().trainable);
    expect(r.totalParams).toBe(peft.countTrainable().total);
  });

  it('refuses to resume with a different batch layout, and to start fresh over old checkpoints', async () => {
    const ck = join(dir, 'mismatch');
    await new Trainer(base(tinyLoraLlama(), { batchSize: 2, maxSteps: 1, checkpointDir: ck })).train();
    const other = new Trainer(base(tinyLoraLlama(), { batchSize: 4, maxSteps: 2, checkpointDir: ck, resume: true }));
    await expect(other.train()).rejects.toThrow(/batchSize = 2/);
    // a fresh run into a directory with another run's checkpoints is refused (a later resume could mix them up)
    const fresh = new Trainer(base(tinyLoraLlama(), { batchSize: 2, maxSteps: 2, checkpointDir: ck }));
    await expect(fresh.train()).rejects.toThrow(/already holds checkpoints \(newest: step 1\) and resume is off/);
  });

  it('the progress bar renders step, loss, tokens/s and ETA', async () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    expect(createProgress('auto', stream)).toBeNull(); // not a TTY
    expect(createProgress(false, stream)).toBeNull();
    const bar = createProgress(true, stream)!;
    bar.start(10, 0);
    bar.update(3, 2.5, 1234.4);
    bar.stop();
    expect(text).toMatch(/step 3\/10/);
    expect(text).toMatch(/loss 2\.5000/);
    expect(text).toMatch(/1,234 tok\/s/);
    expect(text).toMatch(/ETA/);
  });
});
