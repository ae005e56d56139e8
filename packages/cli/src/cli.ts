import { resolve } from 'node:path';
import { destroyBackend, initBackend, setBackend } from '@peftjs/tensor';
import { findGoldenCases, formatCheck, runGoldenCase } from './golden.js';

const HELP = `peftjs — parameter-efficient fine-tuning for TypeScript

Usage:
  peftjs golden <dir> [--backend cpu|webgpu]   Check against Hugging Face PEFT reference vectors. <dir> is one
                                               case folder or a golden root holding many. Prints one line per
                                               check, then "N passed, N failed"; exits 1 if any check failed.
  peftjs --help                                This text.
`;

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

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: string[], log: (s: string) => void = console.log): Promise<number> {
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
    log(`backend ${backendName}${report ? `: ${[report.vendor, report.architecture, report.description].filter(Boolean).join(' / ')}` : ''}`);
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
