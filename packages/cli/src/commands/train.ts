import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { getPeftModel, type PeftModel } from '@peftjs/registry';
import { manualSeed } from '@peftjs/tensor';
import { evaluate, formatBytes, prepareModelFor, Trainer, withSuggestedLearningRates } from '@peftjs/trainer/node';
import { formatHelp, parseCommandArgs, str } from '../args.js';
import {
  BACKEND_OPTION,
  type CliIO,
  checkDataOptions,
  DATA_OPTIONS,
  MODEL_OPTION,
  readData,
  startBackend,
  tokenizeData,
} from '../common.js';
import { CliError } from '../errors.js';
import { ADAPTER_OPTIONS, readConfigFile, resolveMethod } from '../methods.js';
import { loadBaseModel } from '../model.js';
import { stepLogger, TRAINING_OPTIONS, trainingOptions } from '../training.js';
import { savePeftModel } from '@peftjs/registry/node';

export const DEFAULT_ADAPTER_DIR = 'peftjs-adapter';

const OPTIONS = {
  method: { type: 'string', value: 'NAME', help: 'lora, dora, or any registered method.', default: 'lora' },
  config: {
    type: 'string',
    value: 'FILE',
    help: 'A PEFT config (adapter_config.json style) instead of --method and its flags.',
  },
  ...ADAPTER_OPTIONS,
  out: { type: 'string', value: 'DIR', help: 'Where to save the adapter (PEFT format).', default: DEFAULT_ADAPTER_DIR },
  ...MODEL_OPTION,
  ...DATA_OPTIONS,
  ...TRAINING_OPTIONS,
  'checkpoint-dir': { type: 'string', value: 'DIR', help: 'Write resumable checkpoints here.' },
  'checkpoint-every': { type: 'string', value: 'N', help: 'Checkpoint every N steps (default: at the end).' },
  resume: { type: 'boolean', help: 'Resume from the newest checkpoint in --checkpoint-dir.' },
  'log-file': { type: 'string', value: 'FILE', help: 'Append one JSON line per step and evaluation.' },
  json: { type: 'boolean', help: 'Print a JSON summary on stdout at the end.' },
  ...BACKEND_OPTION,
} as const;

export const TRAIN_HELP = formatHelp(
  'peftjs train [options]',
  'Fine-tune a base model with a PEFT adapter, print held-out perplexity before and after, and save the adapter\n' +
    '(adapter_config.json + adapter_model.safetensors, loadable by Hugging Face PEFT). With no options: LoRA r 8 on\n' +
    'every linear layer of the embedded tiny LLaMA, trained on State of the Union addresses.',
  OPTIONS,
  [
    'peftjs train',
    'peftjs train --method dora --steps 200 --out dora-adapter',
    'peftjs train --data my-notes.txt --r 4 --target-modules q_proj,v_proj',
    'peftjs train --config adapter_config.json --backend webgpu',
  ],
);

export async function trainCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('train', argv, OPTIONS);
  if (values.help) {
    io.out(TRAIN_HELP);
    return 0;
  }
  const configPath = str(values, 'config');
  if (configPath !== undefined && values.method !== undefined)
    throw new CliError('give either --method or --config, not both');
  const spec =
    configPath !== undefined
      ? { name: configPath, config: await readConfigFile(configPath) }
      : await resolveMethod(str(values, 'method', 'lora'), values);
  const out = str(values, 'out', DEFAULT_ADAPTER_DIR);
  const outSt = await stat(out).catch(() => null);
  if (outSt && !outSt.isDirectory()) throw new CliError(`--out '${out}' exists and is not a directory`);
  const trainOpts = trainingOptions(values);
  const checkpointDir = str(values, 'checkpoint-dir');
  if (values.resume && checkpointDir === undefined) throw new CliError('--resume needs --checkpoint-dir');
  const checkpointEvery = str(values, 'checkpoint-every');
  checkDataOptions(values);
  const text = await readData(values);

  const say = values.json ? io.err : io.out;
  const { backend, name: backendName, close } = await startBackend(values);
  const t0 = performance.now();
  let peft: PeftModel | null = null;
  try {
    const base = await loadBaseModel(str(values, 'model'), backend);
    const data = tokenizeData(values, text, base);
    io.err(`model:   ${base.label} on ${backendName}`);
    io.err(`data:    ${data.trainLabel}: ${data.train.length} sequences × ${data.seqLen} tokens`);
    io.err(`eval:    ${data.evalLabel}: ${data.eval.length} sequences`);
    manualSeed(trainOpts.seed ?? 42);
    if (values.lr === undefined && configPath === undefined) {
      const [suggested] = withSuggestedLearningRates([spec], base.model.countParameters().total);
      if (suggested?.lr !== undefined) trainOpts.lr = suggested.lr;
    }
    try {
      base.model = await prepareModelFor(spec.name, base.model);
      peft = getPeftModel(base.model, spec.config);
    } catch (e) {
      base.model.dispose();
      throw new CliError(`cannot apply ${spec.name}: ${(e as Error).message}`);
    }
    const c = spec.config as { r?: number; lora_alpha?: number; target_modules?: unknown; use_dora?: boolean };
    io.err(
      `method:  ${spec.name}${c.r !== undefined ? ` (r ${c.r}, alpha ${c.lora_alpha ?? c.r}, targets ${JSON.stringify(c.target_modules ?? 'default')})` : ''}`,
    );
    peft.printTrainableParameters((s) => io.err(`         ${s}`));
    const before = await evaluate(peft, data.eval, { batchSize: trainOpts.batchSize });
    say(
      `held-out perplexity before: ${before.perplexity.toFixed(3)}  (loss ${before.loss.toFixed(4)}, accuracy ${(100 * before.accuracy).toFixed(1)}%)`,
    );
    const steps = trainOpts.maxSteps;
    const log = stepLogger(steps, io.err, '  ');
    const trainer = new Trainer({
      ...trainOpts,
      model: peft,
      train: data.train,
      eval: data.eval,
      ...(checkpointDir !== undefined ? { checkpointDir, resume: values.resume === true } : {}),
      ...(checkpointEvery !== undefined ? { checkpointEvery: Number(checkpointEvery) } : {}),
      ...(str(values, 'log-file') !== undefined ? { logFile: str(values, 'log-file') } : {}),
      callbacks: [
        {
          batched: true,
          onStepEnd: log,
          onEval: (e) =>
            io.err(`  eval at step ${e.step}: loss ${e.loss.toFixed(4)}, perplexity ${e.perplexity.toFixed(3)}`),
        },
      ],
    });
    io.err(
      `training: ${steps ?? `${trainOpts.epochs} epoch(s) of`} steps × ${trainOpts.batchSize} × ${trainOpts.gradAccumSteps} sequences, ${trainOpts.optimizer} lr ${trainOpts.lr} ${trainOpts.schedule}`,
    );
    const result = await trainer.train();
    const lastEval = result.evals.at(-1);
    const after = lastEval && lastEval.step === result.steps ? lastEval : await trainer.evaluate(data.eval);
    const change = (100 * (after.perplexity - before.perplexity)) / before.perplexity;
    say(
      `held-out perplexity after:  ${after.perplexity.toFixed(3)}  (loss ${after.loss.toFixed(4)}, accuracy ${(100 * after.accuracy).toFixed(1)}%; ${change <= 0 ? '' : '+'}${change.toFixed(1)}%)`,
    );
    await savePeftModel(peft, out);
    const size = (await stat(join(out, 'adapter_model.safetensors'))).size;
    const total = (performance.now() - t0) / 1000;
    say(`adapter saved to ${out}/ (adapter_config.json, adapter_model.safetensors ${formatBytes(size)})`);
    io.err(
      `${result.steps} steps in ${result.trainSeconds.toFixed(1)} s (${Math.round(result.tokensPerSecond)} tok/s), peak tensors ${formatBytes(result.peakTensorBytes)}, peak RSS ${formatBytes(result.peakRssBytes)}; total ${total.toFixed(1)} s`,
    );
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            method: spec.name,
            config: peft.adapterConfigJSON(),
            out,
            before,
            after,
            steps: result.steps,
            trainSeconds: result.trainSeconds,
            tokensPerSecond: result.tokensPerSecond,
            trainableParams: result.trainableParams,
            totalParams: result.totalParams,
            totalSeconds: total,
          },
          null,
          2,
        ),
      );
    }
    return 0;
  } finally {
    peft?.dispose();
    await close();
  }
}
