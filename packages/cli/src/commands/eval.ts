import { stat } from 'node:fs/promises';
import type { Module } from '@peftjs/nn';
import { evaluate } from '@peftjs/trainer/node';
import { formatHelp, num, parseCommandArgs, str } from '../args.js';
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
import { loadBaseModel } from '../model.js';
import { loadPeftModel } from '@peftjs/registry/node';

const OPTIONS = {
  adapter: {
    type: 'string',
    value: 'DIR',
    help: 'Adapter directory (adapter_config.json + adapter_model.safetensors). Without it: the base model.',
  },
  ...MODEL_OPTION,
  data: { type: 'string', value: 'FILE', help: 'Text to evaluate on (UTF-8).', default: 'SOTU held-out split' },
  'seq-len': DATA_OPTIONS['seq-len'],
  'eval-sequences': DATA_OPTIONS['eval-sequences'],
  'batch-size': { type: 'string', value: 'N', help: 'Sequences per forward pass.', default: '8' },
  json: { type: 'boolean', help: 'Print the metrics as JSON.' },
  ...BACKEND_OPTION,
} as const;

export const EVAL_HELP = formatHelp(
  'peftjs eval [--adapter DIR] [options]',
  'Held-out loss, perplexity and next-token accuracy of the base model, or of the base model with a saved adapter.',
  OPTIONS,
  ['peftjs eval', 'peftjs eval --adapter peftjs-adapter', 'peftjs eval --adapter out/lora --data notes.txt'],
);

/** Check an adapter directory exists and holds PEFT's files. */
export async function checkAdapterDir(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st) throw new CliError(`adapter directory '${dir}' does not exist`);
  if (!st.isDirectory()) throw new CliError(`--adapter must be a directory, '${dir}' is a file`);
  if (!(await stat(`${dir}/adapter_config.json`).catch(() => null))) {
    throw new CliError(`'${dir}' is not an adapter directory: it has no adapter_config.json`);
  }
}

export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('eval', argv, OPTIONS);
  if (values.help) {
    io.out(EVAL_HELP);
    return 0;
  }
  const adapterDir = str(values, 'adapter');
  const batchSize = num(values, 'batch-size', 8, { int: true, min: 1 });
  if (adapterDir !== undefined) await checkAdapterDir(adapterDir);
  checkDataOptions(values);
  const text = await readData(values, false);
  const { backend, close } = await startBackend(values);
  try {
    const base = await loadBaseModel(str(values, 'model'), backend);
    const data = tokenizeData(values, text, base);
    let model: Module = base.model;
    if (adapterDir !== undefined) {
      try {
        model = await loadPeftModel(base.model, adapterDir);
      } catch (e) {
        throw new CliError(`cannot load adapter '${adapterDir}': ${(e as Error).message}`);
      }
    }
    const t0 = performance.now();
    const m = await evaluate(model, data.eval, { batchSize });
    const seconds = (performance.now() - t0) / 1000;
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            model: base.label,
            adapter: adapterDir ?? null,
            data: data.evalLabel,
            sequences: data.eval.length,
            seqLen: data.seqLen,
            ...m,
            seconds,
          },
          null,
          2,
        ),
      );
    } else {
      io.err(`model:   ${base.label}${adapterDir ? `\nadapter: ${adapterDir}` : ''}`);
      io.err(`data:    ${data.evalLabel}: ${data.eval.length} sequences × ${data.seqLen} tokens`);
      io.out(
        `loss ${m.loss.toFixed(4)}  perplexity ${m.perplexity.toFixed(3)}  accuracy ${(100 * m.accuracy).toFixed(1)}%  (${m.tokens} tokens, ${seconds.toFixed(1)} s)`,
      );
    }
    model.dispose();
    return 0;
  } finally {
    await close();
  }
}
