import { resolve } from 'node:path';
import './installed.js';
import { destroyBackend, initBackend, setBackend } from '@peftjs/tensor';
import { compareCommand } from './commands/compare.js';
import { evalCommand } from './commands/eval.js';
import { generateCommand } from './commands/generate.js';
import { mergeCommand } from './commands/merge.js';
import { qrAdaptorCommand } from './commands/qr-adaptor.js';
import { recommendCommand } from './commands/recommend.js';
import { trainCommand } from './commands/train.js';
import type { CliIO } from './common.js';
import { CliError } from './errors.js';
import { findGoldenCases, formatCheck, runGoldenCase } from './golden/index.js';

const HELP = `peftjs — parameter-efficient fine-tuning for TypeScript

Usage: peftjs <command> [options]        (peftjs <command> --help for a command's options)

Commands:
  train       Fine-tune with an adapter (default: LoRA r 8 on the embedded tiny LLaMA, State of the Union text),
              print held-out perplexity before and after, save the adapter in PEFT format.
  eval        Held-out loss / perplexity / accuracy of the base model or of a saved adapter.
  generate    Continue a prompt with the base model or a saved adapter (greedy or sampled, KV cache).
  merge       Fold an adapter into the base weights and save the merged model (Hugging Face checkpoint).
  compare     Train several methods with the same budget; table, compare.json and compare.svg.
  recommend   Suggest a method and starting hyperparameters for a model size, memory, task and data size.
  qr-adaptor  Search per-layer bit widths and LoRA ranks under a memory budget (QR-Adaptor); train the chosen plan.
  golden      Check against Hugging Face PEFT reference vectors:
                peftjs golden <dir> [--backend cpu|webgpu]   <dir> is one case folder or a golden root holding
                many. Prints one line per check, then "N passed, N failed"; exits 1 if any check failed.

Examples:
  peftjs train
  peftjs eval --adapter peftjs-adapter
  peftjs generate --adapter peftjs-adapter --prompt "The State of the Union"
  peftjs merge --adapter peftjs-adapter --out merged
  peftjs compare --methods lora,dora --out results
  peftjs recommend --model-params 7B --memory 16GB --examples 2000
`;

const COMMANDS: Record<string, (argv: string[], io: CliIO) => Promise<number>> = {
  train: trainCommand,
  eval: evalCommand,
  generate: generateCommand,
  merge: mergeCommand,
  compare: compareCommand,
  recommend: recommendCommand,
  'qr-adaptor': qrAdaptorCommand,
};

/** Parse `--name value` / `--flag` options after the positional arguments. */
export function parseArgs(argv: string[]): { positional: string[]; options: Record<string, string | true> } {
  const positional: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split('=', 2);
      if (v !== undefined) options[k] = v;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) options[k] = argv[++i];
      else options[k] = true;
    } else positional.push(a);
  }
  return { positional, options };
}

async function useBackend(name: string) {
  if (name === 'webgpu') {
    const { registerWebGPUBackend } = await import('@peftjs/kernels-webgpu');
    registerWebGPUBackend();
  } else if (name !== 'cpu') {
    throw new Error(`unknown backend '${name}' (cpu or webgpu)`);
  }
  await initBackend(name);
  return setBackend(name);
}

/**
 * Run the CLI; resolves to the process exit code. Results go to `log` (stdout), progress and user errors to `err`
 * (stderr): a user error (bad option, path, config or data) prints `peftjs <command>: <message>` and exits 2.
 */
export async function runCli(
  argv: string[],
  log: (s: string) => void = console.log,
  err: (s: string) => void = console.error,
): Promise<number> {
  const sub = COMMANDS[argv[0] ?? ''];
  if (sub) {
    try {
      return await sub(argv.slice(1), { out: log, err });
    } catch (e) {
      if (e instanceof CliError) {
        err(`peftjs ${argv[0]}: ${e.message}`);
        return e.exitCode;
      }
      throw e;
    }
  }
  const { positional, options } = parseArgs(argv);
  const [command, ...rest] = positional;
  if (!command || options.help || command === 'help') {
    log(HELP);
    return command || options.help ? 0 : 2;
  }
  if (command === 'golden') {
    if (rest.length !== 1) {
      log('usage: peftjs golden <dir> [--backend cpu|webgpu]');
      return 2;
    }
    const backendName = typeof options.backend === 'string' ? options.backend : 'cpu';
    const backend = await useBackend(backendName);
    const report = (backend as { report?: { description?: string; architecture?: string; vendor?: string } }).report;
    log(
      `backend ${backendName}${report ? `: ${[report.vendor, report.architecture, report.description].filter(Boolean).join(' / ')}` : ''}`,
    );
    try {
      const cases = await findGoldenCases(resolve(rest[0]));
      let passed = 0;
      let failed = 0;
      for (const dir of cases) {
        for (const c of await runGoldenCase(dir, backend)) {
          log(formatCheck(c));
          if (c.passed) passed++;
          else failed++;
        }
      }
      log(`${passed} passed, ${failed} failed`);
      return failed === 0 ? 0 : 1;
    } finally {
      if (backendName !== 'cpu') await destroyBackend(backendName);
    }
  }
  log(`peftjs: unknown command '${command}'\n`);
  log(HELP);
  return 2;
}
