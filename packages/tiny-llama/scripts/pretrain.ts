/**
 * Pretrain the tiny LLaMA on Moby Dick (reproducible: fixed seed, deterministic data order, CPU backend).
 *
 *   pnpm --filter @peftjs/tiny-llama pretrain                # writes packages/tiny-llama/weights/
 *   pnpm --filter @peftjs/tiny-llama pretrain -- --steps 20 --out /tmp/tl   # a quick trial
 *
 * Data: the training split of `loadCorpus('moby-dick')` (all but the last 5%), as UTF-8 bytes. Each step draws
 * `batch` windows of 127 bytes at offsets uniform over the training text from a seeded counter-based stream
 * (`uniformAt(key, counter)`), and prepends `<bos>`: sequences of 128 tokens, labels = inputs (the model shifts).
 * Optimiser: AdamW (torch-exact), cosine schedule with linear warmup, gradient clipping at 1.0.
 * Logs a JSON line per step (step, loss, lr, tokens, seconds, grad_norm; heldout_loss every `--eval-every` steps on
 * the first 32 held-out windows) to <out>/pretrain-log.jsonl, and a final summary line (full held-out loss and the
 * loss on the fixed test slice: the first 64 windows).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ByteTokenizer, LlamaForCausalLM } from '@peftjs/models';
import { savePretrained } from '@peftjs/models/node';
import { Generator, tensor, tidy, uniformAt } from '@peftjs/tensor';
import { AdamW, clipGradNorm, cosineSchedule, trainableParams } from '@peftjs/trainer';
import { heldOutLoss, loadCorpus } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  // `pnpm pretrain -- --steps 20` forwards the `--`
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    steps: { type: 'string', default: '900' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '2e-3' },
    warmup: { type: 'string', default: '40' },
    seed: { type: 'string', default: '1234' },
    'eval-every': { type: 'string', default: '50' },
    out: { type: 'string', default: join(here, '..', 'weights') },
  },
});
const STEPS = Number(args.steps);
const BATCH = Number(args.batch);
const LR = Number(args.lr);
const WARMUP = Number(args.warmup);
const SEED = Number(args.seed);
const EVAL_EVERY = Number(args['eval-every']);
const OUT = resolve(args.out);
const SEQ = 128;
const CLIP = 1.0;
const WEIGHT_DECAY = 0.01;
/** Windows of the fixed test slice (packages/tiny-llama/test checks the committed model reproduces its loss). */
const TEST_WINDOWS = 64;
const EVAL_WINDOWS = 32;

const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 259,
  hidden_size: 128,
  intermediate_size: 344,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  hidden_act: 'silu',
  max_position_embeddings: 256,
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  tie_word_embeddings: true,
  initializer_range: 0.02,
  attention_bias: false,
  mlp_bias: false,
  pad_token_id: 256,
  bos_token_id: 257,
  eos_token_id: 258,
};

async function main(): Promise<void> {
  const tokenizer = new ByteTokenizer();
  if (tokenizer.vocabSize !== CONFIG.vocab_size) throw new Error('tokenizer / config vocab mismatch');
  const { train, heldOut } = loadCorpus('moby-dick');
  const trainBytes = Int32Array.from(tokenizer.encode(train, { addSpecialTokens: false }));
  const bos = tokenizer.bosTokenId!;
  const gen = new Generator(SEED);
  const model = new LlamaForCausalLM(CONFIG, { generator: gen });
  model.tokenizer = tokenizer;
  let nParams = 0;
  for (const [, p] of model.namedParameters()) nParams += p.size;
  const params = trainableParams(model);
  const opt = new AdamW(params, { lr: LR, weightDecay: WEIGHT_DECAY });
  const schedule = cosineSchedule({ warmupSteps: WARMUP, totalSteps: STEPS });
  // The data stream is separate from the init stream: window offsets depend only on the seed and the step.
  const dataKey = new Generator(SEED + 1).key;
  const span = trainBytes.length - (SEQ - 1);

  await mkdir(OUT, { recursive: true });
  const logPath = join(OUT, 'pretrain-log.jsonl');
  const lines: string[] = [];
  const log = async (rec: Record<string, unknown>) => {
    lines.push(JSON.stringify(rec));
    await writeFile(logPath, `${lines.join('\n')}\n`);
  };
  await log({
    event: 'start',
    params: nParams,
    config: CONFIG,
    steps: STEPS,
    batch: BATCH,
    seq_len: SEQ,
    lr: LR,
    warmup_steps: WARMUP,
    weight_decay: WEIGHT_DECAY,
    clip_grad_norm: CLIP,
    seed: SEED,
    train_bytes: trainBytes.length,
    heldout_chars: heldOut.length,
    node: process.version,
  });
  console.log(
    `tiny-llama: ${nParams} parameters, ${trainBytes.length} training bytes, ${STEPS} steps × ${BATCH} × ${SEQ}`,
  );

  const t0 = performance.now();
  let tokens = 0;
  model.train();
  for (let step = 0; step < STEPS; step++) {
    const ids = new Int32Array(BATCH * SEQ);
    for (let b = 0; b < BATCH; b++) {
      const off = Math.floor(uniformAt(dataKey, step * BATCH + b) * span);
      ids[b * SEQ] = bos;
      ids.set(trainBytes.subarray(off, off + SEQ - 1), b * SEQ + 1);
    }
    const lr = LR * schedule(step);
    opt.lr = lr;
    const x = tensor(ids, [BATCH, SEQ], { dtype: 'i32' });
    const loss = tidy(() => {
      const l = model.forward({ inputIds: x, labels: x }).loss!;
      l.backward();
      return l;
    });
    const lossV = await loss.item();
    loss.dispose();
    x.dispose();
    const gradNorm = await clipGradNorm(params, CLIP);
    opt.step();
    opt.zeroGrad();
    tokens += BATCH * (SEQ - 1);
    const seconds = (performance.now() - t0) / 1000;
    const rec: Record<string, unknown> = {
      step: step + 1,
      loss: round(lossV),
      lr: Number(lr.toPrecision(6)),
      tokens,
      seconds: Math.round(seconds * 10) / 10,
      grad_norm: round(gradNorm),
    };
    const last = step + 1 === STEPS;
    if ((step + 1) % EVAL_EVERY === 0 || last) {
      rec.heldout_loss = round(await heldOutLoss(model, tokenizer, heldOut, { maxWindows: EVAL_WINDOWS }));
      model.train();
    }
    await log(rec);
    if ((step + 1) % 10 === 0 || rec.heldout_loss !== undefined) {
      const eta = (seconds / (step + 1)) * (STEPS - step - 1);
      console.log(
        `step ${step + 1}/${STEPS} loss ${lossV.toFixed(4)} lr ${lr.toExponential(2)} ` +
          `|g| ${gradNorm.toFixed(3)} ${seconds.toFixed(0)}s (eta ${eta.toFixed(0)}s)` +
          (rec.heldout_loss !== undefined ? ` held-out ${(rec.heldout_loss as number).toFixed(4)}` : ''),
      );
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  model.eval();
  const full = await heldOutLoss(model, tokenizer, heldOut);
  const slice = await heldOutLoss(model, tokenizer, heldOut, { maxWindows: TEST_WINDOWS });
  await savePretrained(model, OUT);
  await log({
    event: 'final',
    steps: STEPS,
    tokens,
    train_seconds: Math.round(trainSeconds),
    heldout_loss: round(full),
    heldout_ppl: round(Math.exp(full)),
    heldout_windows: Math.floor(tokenizer.encode(heldOut, { addSpecialTokens: false }).length / (SEQ - 1)),
    test_slice_windows: TEST_WINDOWS,
    test_slice_loss: slice,
  });
  console.log(
    `done in ${trainSeconds.toFixed(0)}s: held-out loss ${full.toFixed(4)} (ppl ${Math.exp(full).toFixed(3)}), ` +
      `test slice ${slice.toFixed(6)}; saved to ${OUT}`,
  );
  opt.dispose();
  model.dispose();
}

function round(v: number): number {
  return Number(v.toFixed(6));
}

await main();
