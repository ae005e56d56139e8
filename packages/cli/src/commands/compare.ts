import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  compareMethods,
  comparisonToJSON,
  formatComparisonTable,
  formatMetrics,
  withSuggestedLearningRates,
} from '@peftjs/trainer/node';
import { formatHelp, parseCommandArgs, str } from '../args.js';
import { comparisonChartSVG } from '../chart.js';
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
import { ADAPTER_OPTIONS, resolveMethods } from '../methods.js';
import { loadBaseModel } from '../model.js';
import { stepLogger, TRAINING_OPTIONS, trainingOptions } from '../training.js';

export const DEFAULT_COMPARE_DIR = 'peftjs-compare';

const OPTIONS = {
  methods: {
    type: 'string',
    value: 'LIST',
    help: 'Comma-separated method names and/or PEFT config .json files, or "all" (every registered method).',
    default: 'all',
  },
  out: {
    type: 'string',
    value: 'DIR',
    help: 'Where to write compare.json and compare.svg.',
    default: DEFAULT_COMPARE_DIR,
  },
  ...ADAPTER_OPTIONS,
  ...MODEL_OPTION,
  ...DATA_OPTIONS,
  ...TRAINING_OPTIONS,
  ...BACKEND_OPTION,
} as const;

export const COMPARE_HELP = formatHelp(
  'peftjs compare [--methods LIST] [--out DIR] [options]',
  'Train several PEFT methods with the same budget and seed, each from a fresh base model, and compare trainable\n' +
    'parameters, time, throughput, peak memory and held-out loss / perplexity / accuracy. Prints a table and writes\n' +
    'compare.json and compare.svg (loss curves, and perplexity vs trainable parameters) to --out.',
  OPTIONS,
  [
    'peftjs compare',
    'peftjs compare --methods lora,dora --steps 60 --out results',
    'peftjs compare --methods lora,my-lora-r4.json',
  ],
);

export async function compareCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('compare', argv, OPTIONS);
  if (values.help) {
    io.out(COMPARE_HELP);
    return 0;
  }
  let methods = await resolveMethods(str(values, 'methods', 'all'), values);
  const out = str(values, 'out', DEFAULT_COMPARE_DIR);
  const outSt = await stat(out).catch(() => null);
  if (outSt && !outSt.isDirectory()) throw new CliError(`--out '${out}' exists and is not a directory`);
  const trainerOptions = trainingOptions(values);
  checkDataOptions(values);
  const text = await readData(values);
  const { backend, name: backendName, close } = await startBackend(values);
  try {
    const modelDir = str(values, 'model');
    const first = await loadBaseModel(modelDir, backend);
    const data = tokenizeData(values, text, first);
    // Without --lr each method starts from its own suggested learning rate (where its preset has one).
    if (values.lr === undefined) methods = withSuggestedLearningRates(methods, first.model.countParameters().total);
    first.model.dispose();
    io.err(`model:   ${first.label} on ${backendName}`);
    io.err(
      `data:    ${data.trainLabel}: ${data.train.length} sequences × ${data.seqLen} tokens; eval ${data.eval.length} sequences`,
    );
    io.err(`methods: ${methods.map((m) => m.name).join(', ')}`);
    let log = stepLogger(trainerOptions.maxSteps, io.err, '  ');
    const result = await compareMethods({
      makeModel: async () => (await loadBaseModel(modelDir, backend)).model,
      methods,
      train: data.train,
      eval: data.eval,
      trainerOptions,
      onProgress: (e) => {
        if (e.phase === 'baseline') io.err('evaluating the base model…');
        else if (e.phase === 'start') {
          io.err(`[${e.index + 1}/${e.count}] ${e.method}`);
          log = stepLogger(trainerOptions.maxSteps, io.err, '  ');
        } else if (e.phase === 'step' && e.step !== undefined && e.loss !== undefined) {
          log({ step: e.step, loss: e.loss, lr: e.lr ?? Number.NaN, tokens: e.tokens ?? 0, seconds: e.seconds ?? 0 });
        } else if (e.phase === 'done' && e.result) io.err(`  done: ${formatMetrics(e.result.final)}`);
      },
    });
    io.out(formatComparisonTable(result));
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'compare.json'), comparisonToJSON(result));
    await writeFile(join(out, 'compare.svg'), await comparisonChartSVG(result));
    io.out(`\nwrote ${join(out, 'compare.json')} and ${join(out, 'compare.svg')}`);
    return 0;
  } finally {
    await close();
  }
}
