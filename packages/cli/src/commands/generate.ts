import { generate, type GenerationModel } from '@peftjs/models';
import { loadPeftModel } from '@peftjs/registry/node';
import { formatHelp, num, parseCommandArgs, str } from '../args.js';
import { BACKEND_OPTION, type CliIO, MODEL_OPTION, startBackend } from '../common.js';
import { CliError } from '../errors.js';
import { loadBaseModel } from '../model.js';
import { checkAdapterDir } from './eval.js';

const OPTIONS = {
  prompt: { type: 'string', value: 'TEXT', help: 'The text to continue (required).' },
  adapter: {
    type: 'string',
    value: 'DIR',
    help: 'Adapter directory (any method, prompt and prefix tuning included). Without it: the base model.',
  },
  ...MODEL_OPTION,
  'max-new-tokens': { type: 'string', value: 'N', help: 'Tokens to generate.', default: '100' },
  temperature: {
    type: 'string',
    value: 'T',
    help: '0: greedy; above 0: sample from softmax(logits / T).',
    default: '0',
  },
  'top-k': { type: 'string', value: 'K', help: 'Sampling: only the K most likely tokens (0: all).', default: '0' },
  'top-p': {
    type: 'string',
    value: 'P',
    help: 'Sampling: the smallest set of tokens reaching probability P.',
    default: '1',
  },
  seed: { type: 'string', value: 'N', help: 'Seed of the sampling stream.', default: '0' },
  'no-cache': { type: 'boolean', help: 'Recompute the whole sequence at every step instead of using the KV cache.' },
  json: { type: 'boolean', help: 'Print { prompt, completion, tokens } as JSON.' },
  ...BACKEND_OPTION,
} as const;

export const GENERATE_HELP = formatHelp(
  'peftjs generate --prompt TEXT [--adapter DIR] [options]',
  'Continue a text with the base model, or with the base model and a saved adapter (greedy or sampled, with a KV\n' +
    "cache). Stops at the tokenizer's end-of-sequence token or after --max-new-tokens.",
  OPTIONS,
  [
    'peftjs generate --prompt "Call me"',
    'peftjs generate --adapter peftjs-adapter --prompt "The State of the Union is" --temperature 0.8 --top-p 0.9',
  ],
);

export async function generateCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('generate', argv, OPTIONS);
  if (values.help) {
    io.out(GENERATE_HELP);
    return 0;
  }
  const prompt = str(values, 'prompt');
  if (prompt === undefined || prompt === '') throw new CliError('--prompt TEXT is required');
  const adapterDir = str(values, 'adapter');
  if (adapterDir !== undefined) await checkAdapterDir(adapterDir);
  const opts = {
    maxNewTokens: num(values, 'max-new-tokens', 100, { int: true, min: 0 }),
    temperature: num(values, 'temperature', 0, { min: 0 }),
    topK: num(values, 'top-k', 0, { int: true, min: 0 }),
    topP: num(values, 'top-p', 1, { min: 0, exclusiveMin: true, max: 1 }),
    seed: num(values, 'seed', 0, { int: true, min: 0 }),
    useCache: values['no-cache'] !== true,
  };
  const { backend, close } = await startBackend(values);
  try {
    const base = await loadBaseModel(str(values, 'model'), backend);
    let model: GenerationModel & { dispose(): void } = base.model;
    if (adapterDir !== undefined) {
      try {
        model = await loadPeftModel(base.model, adapterDir);
      } catch (e) {
        base.model.dispose();
        throw new CliError(`cannot load adapter '${adapterDir}': ${(e as Error).message}`);
      }
    }
    try {
      const { tokenizer } = base;
      const ids = tokenizer.encode(prompt);
      const eos = tokenizer.eosTokenId ?? undefined;
      const [tokens] = await generate(model, ids, { ...opts, eos });
      const completionIds = tokens.slice(ids.length);
      const completion = tokenizer.decode(completionIds, { skipSpecialTokens: true });
      if (values.json) io.out(JSON.stringify({ prompt, completion, tokens: completionIds }));
      else io.out(`${prompt}${completion}`);
    } finally {
      model.dispose();
    }
  } finally {
    await close();
  }
  return 0;
}
