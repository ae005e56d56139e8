import { totalmem } from 'node:os';
import { getBackend } from '@peftjs/tensor';
import { RECOMMEND_TASKS, type RecommendTask, recommend } from '@peftjs/trainer/node';
import { choice, formatHelp, parseBytes, parseCommandArgs, parseCount, str } from '../args.js';
import { type CliIO, checkDataOptions, DATA_OPTIONS, MODEL_OPTION, readData, tokenizeData } from '../common.js';
import { CliError } from '../errors.js';
import { loadBaseModel } from '../model.js';

const OPTIONS = {
  'model-params': {
    type: 'string',
    value: 'N',
    help: 'Base model size, e.g. 1.1B, 125M, 7e9.',
    default: 'counted from --model',
  },
  memory: {
    type: 'string',
    value: 'SIZE',
    help: 'Memory for training, e.g. 16GB, 512MiB.',
    default: "this machine's total memory",
  },
  task: { type: 'string', value: 'TASK', help: `One of ${RECOMMEND_TASKS.join(', ')}.`, default: 'causal-lm' },
  examples: { type: 'string', value: 'N', help: 'Training examples (sequences).', default: 'counted from --data' },
  priority: { type: 'string', value: 'P', help: 'quality, balanced or efficiency.', default: 'balanced' },
  ...MODEL_OPTION,
  data: DATA_OPTIONS.data,
  'seq-len': DATA_OPTIONS['seq-len'],
  json: { type: 'boolean', help: 'Print the recommendation as JSON.' },
} as const;

export const RECOMMEND_HELP = formatHelp(
  'peftjs recommend [options]',
  'Recommend a PEFT method and starting hyperparameters for a model size, memory budget, task and data size\n' +
    '(a documented heuristic; only methods registered in this install are recommended).',
  OPTIONS,
  [
    'peftjs recommend',
    'peftjs recommend --model-params 7B --memory 16GB --examples 500',
    'peftjs recommend --model-params 125M --task seq-cls --examples 20000 --json',
  ],
);

export async function recommendCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('recommend', argv, OPTIONS);
  if (values.help) {
    io.out(RECOMMEND_HELP);
    return 0;
  }
  const task = choice(values, 'task', RECOMMEND_TASKS, 'causal-lm' as RecommendTask);
  const priority = choice(values, 'priority', ['quality', 'balanced', 'efficiency'] as const, 'balanced');
  const memoryOpt = str(values, 'memory');
  const memoryBytes = memoryOpt === undefined ? totalmem() : parseBytes('memory', memoryOpt);
  const paramsOpt = str(values, 'model-params');
  const examplesOpt = str(values, 'examples');
  let modelParams = paramsOpt === undefined ? undefined : parseCount('model-params', paramsOpt);
  let numExamples: number | undefined;
  if (examplesOpt !== undefined) {
    numExamples = Number(examplesOpt);
    if (!Number.isInteger(numExamples) || numExamples < 0)
      throw new CliError(`--examples must be a non-negative integer, got '${examplesOpt}'`);
  }
  let modelType: string | undefined;
  if (modelParams === undefined || numExamples === undefined) {
    checkDataOptions(values);
    const text = numExamples === undefined ? await readData(values) : null;
    const base = await loadBaseModel(str(values, 'model'), getBackend());
    try {
      modelParams ??= base.model.countParameters().total;
      modelType = (base.model.config as { model_type?: string }).model_type;
      if (numExamples === undefined)
        numExamples = tokenizeData(values, { ...text!, eval: text!.train }, base).train.length;
    } finally {
      base.model.dispose();
    }
  }
  const rec = recommend({ modelParams, memoryBytes, task, numExamples: numExamples!, priority, modelType });
  if (values.json) {
    io.out(JSON.stringify({ input: { modelParams, memoryBytes, task, numExamples, priority }, ...rec }, null, 2));
    return 0;
  }
  io.out(`recommended: ${rec.method}`);
  io.out(
    `  for ${modelParams.toLocaleString('en-US')} parameters, ${numExamples!.toLocaleString('en-US')} examples, task ${task}, ${(memoryBytes / 2 ** 30).toFixed(1)} GiB memory, priority ${priority}`,
  );
  io.out('\nadapter_config (save as a .json file and pass to peftjs train --config):');
  io.out(JSON.stringify(rec.config, null, 2));
  io.out(
    `\ntraining: lr ${rec.training.lr}, ${rec.training.epochs} epoch(s), ${rec.training.schedule} schedule, warm-up ${rec.training.warmupRatio * 100}% of the steps`,
  );
  io.out('\nwhy:');
  for (const r of rec.reasons) io.out(`  - ${r}`);
  if (rec.warnings.length) {
    io.out('\nnotes:');
    for (const w of rec.warnings) io.out(`  ! ${w}`);
  }
  return 0;
}
