import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import { savePretrained } from '@peftjs/models/node';
import type { PeftModel } from '@peftjs/registry';
import { formatHelp, parseCommandArgs, str } from '../args.js';
import { BACKEND_OPTION, type CliIO, MODEL_OPTION, startBackend } from '../common.js';
import { CliError } from '../errors.js';
import { loadBaseModel } from '../model.js';
import { checkAdapterDir } from './eval.js';
import { loadPeftModel } from '@peftjs/registry/node';

const OPTIONS = {
  adapter: { type: 'string', value: 'DIR', help: 'Adapter directory to merge (required).' },
  out: {
    type: 'string',
    value: 'DIR',
    help: 'Output checkpoint directory (required): config.json, model.safetensors, tokenizer.',
  },
  ...MODEL_OPTION,
  ...BACKEND_OPTION,
} as const;

export const MERGE_HELP = formatHelp(
  'peftjs merge --adapter DIR --out DIR [options]',
  'Fold an adapter into the base weights (PEFT merge_and_unload) and save the merged model as a Hugging Face\ncheckpoint that loads without peftjs or PEFT.',
  OPTIONS,
  ['peftjs merge --adapter peftjs-adapter --out merged-model'],
);

export async function mergeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('merge', argv, OPTIONS);
  if (values.help) {
    io.out(MERGE_HELP);
    return 0;
  }
  const adapterDir = str(values, 'adapter');
  const out = str(values, 'out');
  if (adapterDir === undefined) throw new CliError("--adapter DIR is required (see 'peftjs merge --help')");
  if (out === undefined) throw new CliError("--out DIR is required (see 'peftjs merge --help')");
  await checkAdapterDir(adapterDir);
  const outSt = await stat(out).catch(() => null);
  if (outSt && !outSt.isDirectory()) throw new CliError(`--out '${out}' exists and is not a directory`);
  const { backend, close } = await startBackend(values);
  try {
    const base = await loadBaseModel(str(values, 'model'), backend);
    let peft: PeftModel<PreTrainedModel>;
    try {
      peft = await loadPeftModel(base.model, adapterDir);
    } catch (e) {
      throw new CliError(`cannot load adapter '${adapterDir}': ${(e as Error).message}`);
    }
    const config = peft.peftConfig() as { peft_type?: string; r?: number; use_dora?: boolean };
    let merged: PreTrainedModel;
    try {
      merged = peft.mergeAndUnload();
    } catch (e) {
      // e.g. prompt and prefix adapters, which change the inputs and have no weights to fold in
      peft.dispose();
      throw new CliError(`cannot merge adapter '${adapterDir}': ${(e as Error).message}`);
    }
    await savePretrained(merged, out);
    const bytes = (await stat(join(out, 'model.safetensors'))).size;
    io.err(`merged ${config.use_dora ? 'DoRA' : config.peft_type} adapter '${adapterDir}' into ${base.label}`);
    io.out(
      `wrote ${join(out, 'model.safetensors')} (${(bytes / 2 ** 20).toFixed(2)} MiB), config.json${merged.tokenizer ? ', tokenizer.json' : ''}`,
    );
    merged.dispose();
    return 0;
  } finally {
    await close();
  }
}
