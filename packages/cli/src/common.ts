import { type Backend, destroyBackend, initBackend, setBackend } from '@peftjs/tensor';
import { loadCorpus } from '@peftjs/tiny-llama';
import type { TokenExample } from '@peftjs/trainer/node';
import { choice, num, type OptionSpecs, type Parsed, str } from './args.js';
import { readTextFile, splitHeldOut, textToSequences } from './data.js';
import type { BaseModel } from './model.js';

/** Where output lines go: `out` for results (stdout), `err` for progress and errors (stderr). */
export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const BACKEND_OPTION: OptionSpecs = {
  backend: { type: 'string', value: 'cpu|webgpu', help: 'Compute backend.', default: 'cpu' },
};

export const MODEL_OPTION: OptionSpecs = {
  model: {
    type: 'string',
    value: 'DIR',
    help: 'Base model: a Hugging Face checkpoint directory (config.json, model.safetensors, tokenizer.json).',
    default: 'the embedded tiny LLaMA',
  },
};

/** Default sequence length and number of evaluation sequences. */
export const DEFAULT_SEQ_LEN = 128;
export const DEFAULT_EVAL_SEQUENCES = 48;

export const DATA_OPTIONS: OptionSpecs = {
  data: {
    type: 'string',
    value: 'FILE',
    help: 'Training text (UTF-8). Its last 10% is held out for evaluation unless --eval-data is given.',
    default: 'State of the Union addresses, train split',
  },
  'eval-data': {
    type: 'string',
    value: 'FILE',
    help: 'Held-out text to evaluate on.',
    default: 'SOTU held-out split, or the tail of --data',
  },
  'seq-len': {
    type: 'string',
    value: 'N',
    help: 'Tokens per training / evaluation sequence.',
    default: String(DEFAULT_SEQ_LEN),
  },
  'eval-sequences': {
    type: 'string',
    value: 'N',
    help: 'Evaluate on at most N sequences, spread evenly over the held-out text.',
    default: String(DEFAULT_EVAL_SEQUENCES),
  },
};

/** Start the backend named by --backend and make it active. */
export async function startBackend(
  values: Parsed['values'],
): Promise<{ backend: Backend; name: string; close: () => Promise<void> }> {
  const name = choice(values, 'backend', ['cpu', 'webgpu'] as const, 'cpu');
  if (name === 'webgpu') {
    const { registerWebGPUBackend } = await import('@peftjs/kernels-webgpu');
    registerWebGPUBackend();
  }
  await initBackend(name);
  const backend = await setBackend(name);
  return { backend, name, close: async () => (name === 'cpu' ? undefined : destroyBackend(name)) };
}

/** The training and evaluation text, read and checked before any model is loaded. */
export interface DataText {
  train: string;
  eval: string;
  trainLabel: string;
  evalLabel: string;
  /** The held-out text is the tail of --data (for error messages). */
  evalIsTail: boolean;
}

/**
 * Read the training and evaluation text (--data / --eval-data; default: SOTU train / held-out). `needTrain` false
 * reads only the evaluation text (`--data` is then the text to evaluate on). Bad paths and empty files are
 * {@link CliError}s.
 */
export async function readData(values: Parsed['values'], needTrain = true): Promise<DataText> {
  const dataPath = str(values, 'data');
  const evalPath = str(values, 'eval-data');
  if (needTrain && dataPath !== undefined) {
    const text = await readTextFile(dataPath, 'training data');
    if (evalPath === undefined) {
      const split = splitHeldOut(text);
      return {
        train: split.train,
        eval: split.heldOut,
        trainLabel: `${dataPath} (first 90%)`,
        evalLabel: `${dataPath} (last 10%)`,
        evalIsTail: true,
      };
    }
    return {
      train: text,
      eval: await readTextFile(evalPath, 'evaluation data'),
      trainLabel: dataPath,
      evalLabel: evalPath,
      evalIsTail: false,
    };
  }
  const own = evalPath ?? (needTrain ? undefined : dataPath);
  const evalText = own === undefined ? undefined : await readTextFile(own, 'evaluation data');
  const sotu = needTrain || evalText === undefined ? loadCorpus('sotu') : null;
  return {
    train: needTrain ? sotu!.train : '',
    trainLabel: needTrain ? `State of the Union addresses, train split (${sotu!.trainDocuments.length} speeches)` : '',
    eval: evalText ?? sotu!.heldOut,
    evalLabel: own ?? `State of the Union addresses, held-out split (${sotu!.heldOutDocuments.length} speeches)`,
    evalIsTail: false,
  };
}

/** Training and held-out sequences. */
export interface LoadedData {
  train: TokenExample[];
  eval: TokenExample[];
  /** Where they came from, for messages. */
  trainLabel: string;
  evalLabel: string;
  seqLen: number;
}

/** Cut the text of {@link readData} into sequences with the model's tokenizer (--seq-len, --eval-sequences). */
export function tokenizeData(values: Parsed['values'], text: DataText, base: BaseModel): LoadedData {
  const seqLen = num(values, 'seq-len', DEFAULT_SEQ_LEN, { int: true, min: 2 });
  const maxEval = num(values, 'eval-sequences', DEFAULT_EVAL_SEQUENCES, { int: true, min: 1 });
  const train = text.train
    ? textToSequences(base.tokenizer, text.train, { seqLen, what: `training data (${text.trainLabel})` })
    : [];
  const evalSet = textToSequences(base.tokenizer, text.eval, {
    seqLen,
    max: maxEval,
    what: `evaluation data (${text.evalLabel})${text.evalIsTail ? ' — give more text or a separate --eval-data' : ''}`,
  });
  return { train, eval: evalSet, trainLabel: text.trainLabel, evalLabel: text.evalLabel, seqLen };
}

/** Check the numeric data options early (before loading anything). */
export function checkDataOptions(values: Parsed['values']): void {
  num(values, 'seq-len', DEFAULT_SEQ_LEN, { int: true, min: 2 });
  num(values, 'eval-sequences', DEFAULT_EVAL_SEQUENCES, { int: true, min: 1 });
}
