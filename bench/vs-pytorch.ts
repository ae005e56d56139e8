/**
 * peftjs against PyTorch + PEFT on the same CPU, same configurations: `pnpm bench:vs-pytorch`.
 *
 *   tsx bench/vs-pytorch.ts [--rows tiny-lora,tiny-dora,llama23m-lora,llama23m-dora] [--rounds 2] [--steps 6]
 *       [--warmup 2] [--threads 2] [--python PATH] [--before DIR] [--json FILE]
 *
 * `--before DIR`: a built checkout of an older peftjs (with this bench/train-step.ts copied into it) whose rows
 * are measured in the same rotation, for a before/after column under the same load.
 *
 * For each row it alternates the two sides (peftjs, PyTorch, peftjs, PyTorch, … `--rounds` times each), so that
 * both see the same background load, and reports each side's best median tokens/s and the ratio peftjs/PyTorch.
 * Both sides train on the same token chunks (the State of the Union train split as bytes, written to a temporary
 * JSON file). The peftjs side is `bench/train-step.ts` on the CPU backend; the PyTorch side is
 * `bench/pytorch/train_step.py`.
 *
 * Python: `--python PATH`, else `$PEFTJS_PYTHON`, else `bench/pytorch/.venv` (created on first use with
 * `python3 -m venv` and `pip install -r bench/pytorch/requirements.txt` from the package index pip is configured
 * with). When no working interpreter with torch, peft and transformers can be had, the script says which package is
 * missing and prints the peftjs rows alone.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCorpus } from '@peftjs/tiny-llama';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const rows = arg('rows', 'tiny-lora,tiny-dora,llama23m-lora,llama23m-dora').split(',');
const rounds = Number(arg('rounds', '2'));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, got ${rounds}`);
const steps = arg('steps', '6');
const warmup = arg('warmup', '2');
const threads = arg('threads', '2');

const REQUIRED = ['torch', 'peft', 'transformers'];

/** A Python interpreter that imports torch, peft and transformers, or the reason there is none. */
function findPython(): { python: string } | { missing: string } {
  const probe = (py: string): string | null => {
    const r = spawnSync(py, ['-c', `import ${REQUIRED.join(', ')}`], { encoding: 'utf8' });
    if (r.error) return `${py}: ${r.error.message}`;
    if (r.status !== 0) {
      const m = /No module named '([^']+)'/.exec(r.stderr);
      return m ? `${py} lacks the Python package '${m[1]}'` : `${py}: ${r.stderr.trim().split('\n').pop()}`;
    }
    return null;
  };
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: a bench script run by tsx, not a turbo task
  const given = process.argv.includes('--python') ? arg('python', '') : process.env.PEFTJS_PYTHON;
  if (given) {
    const why = probe(given);
    return why ? { missing: why } : { python: given };
  }
  const venv = join(here, 'pytorch', '.venv');
  const py = join(venv, 'bin', 'python');
  if (!existsSync(py)) {
    console.error(`making ${venv} (python3 -m venv; pip install -r bench/pytorch/requirements.txt) …`);
    const mk = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    if (mk.status !== 0) return { missing: 'python3 with the venv module (apt: python3-venv)' };
  }
  if (probe(py)) {
    const pip = spawnSync(py, ['-m', 'pip', 'install', '-r', join(here, 'pytorch', 'requirements.txt')], {
      stdio: 'inherit',
    });
    if (pip.status !== 0)
      return {
        missing: `pip could not install bench/pytorch/requirements.txt (torch==2.13.0+cpu, peft 0.21, transformers 5.17) from this machine's package index`,
      };
  }
  const why = probe(py);
  return why ? { missing: why } : { python: py };
}

interface SideResult {
  tokPerSec: number;
  [k: string]: unknown;
}

function runJson(cmd: string, args: string[]): SideResult {
  const out = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as SideResult;
}

const tokensDir = mkdtempSync(join(tmpdir(), 'peftjs-vs-pytorch-'));
const tokensFile = join(tokensDir, 'tokens.json');
const bytes = new TextEncoder().encode(loadCorpus('sotu').train);
const chunks: number[][] = [];
for (let at = 0; at + 128 <= bytes.length && chunks.length < 512; at += 128)
  chunks.push([...bytes.subarray(at, at + 128)]);
writeFileSync(tokensFile, JSON.stringify(chunks));

const py = findPython();
if ('missing' in py) console.error(`PyTorch side skipped: ${py.missing}`);
const tsx = join(root, 'node_modules', '.bin', 'tsx');

const beforeDir = process.argv.includes('--before') ? arg('before', '') : null;
const table: { row: string; peftjs: SideResult; pytorch: SideResult | null; before: SideResult | null }[] = [];
for (const row of rows) {
  const [model, method] = row.split('-');
  const common = ['--model', model, '--method', method, '--steps', steps, '--warmup', warmup, '--tokens', tokensFile];
  let bestJs: SideResult | null = null;
  let bestPy: SideResult | null = null;
  let bestBefore: SideResult | null = null;
  for (let r = 0; r < rounds; r++) {
    if (beforeDir) {
      const b = runJson(join(beforeDir, 'node_modules', '.bin', 'tsx'), [
        join(beforeDir, 'bench', 'train-step.ts'),
        '--backend',
        'cpu',
        ...common,
      ]);
      console.error(`${row} before  ${b.tokPerSec.toFixed(1)} tok/s (load ${loadavg()[0].toFixed(2)})`);
      if (!bestBefore || b.tokPerSec > bestBefore.tokPerSec) bestBefore = b;
    }
    const js = runJson(tsx, [join(here, 'train-step.ts'), '--backend', 'cpu', ...common]);
    console.error(`${row} peftjs  ${js.tokPerSec.toFixed(1)} tok/s (load ${loadavg()[0].toFixed(2)})`);
    if (!bestJs || js.tokPerSec > bestJs.tokPerSec) bestJs = js;
    if ('python' in py) {
      const p = runJson(py.python, [join(here, 'pytorch', 'train_step.py'), ...common, '--threads', threads]);
      console.error(`${row} pytorch ${p.tokPerSec.toFixed(1)} tok/s (load ${loadavg()[0].toFixed(2)})`);
      if (!bestPy || p.tokPerSec > bestPy.tokPerSec) bestPy = p;
    }
  }
  table.push({ row, peftjs: bestJs!, pytorch: bestPy, before: bestBefore });
}

const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: x < 100 ? 1 : 0 });
const label: Record<string, string> = { tiny: 'embedded tiny LLaMA (0.76M)', llama23m: 'LLaMA 23.5M' };
console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; best of ${rounds} alternated runs per side, median tok/s over ${steps} steps after ${warmup}`,
);
const beforeCols = beforeDir ? ' before tok/s | before ratio | before peak |' : '';
console.log(
  `\n| model | batch × seq | method |${beforeCols} peftjs CPU tok/s | PyTorch CPU tok/s | ratio | peak tensors (peftjs) |`,
);
console.log(`|---|---|---|${beforeDir ? '---:|---:|---:|' : ''}---:|---:|---:|---:|`);
const mib = (r: SideResult) => `${((r.peakTensorBytes as number) / 2 ** 20).toFixed(0)} MiB`;
for (const { row, peftjs, pytorch, before } of table) {
  const [model, method] = row.split('-');
  const ratio = (r: SideResult) => (pytorch ? (r.tokPerSec / pytorch.tokPerSec).toFixed(3) : 'n/a');
  const b = before
    ? ` ${fmt(before.tokPerSec)} | ${ratio(before)} | ${mib(before)} |`
    : beforeDir
      ? ' – | – | – |'
      : '';
  console.log(
    `| ${label[model] ?? model} | ${peftjs.batch} × ${peftjs.seq} | ${method === 'dora' ? 'DoRA' : 'LoRA'} |${b} ${fmt(peftjs.tokPerSec)} | ${pytorch ? fmt(pytorch.tokPerSec) : 'not run'} | ${ratio(peftjs)} | ${mib(peftjs)} |`,
  );
}
const jsonOut = process.argv.includes('--json') ? arg('json', '') : null;
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ python: py, table }, null, 2)}\n`);
