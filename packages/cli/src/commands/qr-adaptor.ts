import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module } from '@peftjs/nn';
import {
  type EvaluatedPlan,
  linearModules,
  makePlanFile,
  MemoryModel,
  measureSensitivity,
  type ModuleSpec,
  type Plan,
  planFitness,
  planToLoraConfig,
  quantizedCopy,
  type Sensitivity,
  bnbQuantizer,
  type LayerQuantizer,
  searchPlans,
  simulatedQuantizer,
} from '@peftjs/qr-adaptor';
import { FilePlanCache, writePlanFile } from '@peftjs/qr-adaptor/node';
import { getPeftModel } from '@peftjs/registry';
import { manualSeed } from '@peftjs/tensor';
import { evaluate, formatBytes, type TokenExample, Trainer } from '@peftjs/trainer';
import { choice, formatHelp, num, parseBytes, parseCommandArgs, str } from '../args.js';
import {
  BACKEND_OPTION,
  type CliIO,
  DATA_OPTIONS,
  MODEL_OPTION,
  readData,
  startBackend,
  tokenizeData,
} from '../common.js';
import { CliError } from '../errors.js';
import { loadBaseModel } from '../model.js';
import { TRAIN_DEFAULTS } from '../training.js';

const OPTIONS = {
  budget: {
    type: 'string',
    value: 'SIZE',
    help: 'Memory budget for base weights + adapter training state (bytes, MiB, …).',
  },
  calibration: {
    type: 'string',
    value: 'N',
    help: 'Calibration sequences (3/4 to fine-tune, 1/4 held out).',
    default: '32',
  },
  generations: { type: 'string', value: 'G', help: 'NSGA-II generations.', default: '3' },
  population: { type: 'string', value: 'P', help: 'NSGA-II population.', default: '8' },
  'fitness-steps': { type: 'string', value: 'N', help: 'Fine-tune steps per measured plan.', default: '10' },
  steps: {
    type: 'string',
    value: 'N',
    help: 'Training steps of the chosen and uniform plans.',
    default: String(TRAIN_DEFAULTS.steps),
  },
  'target-modules': {
    type: 'string',
    value: 'LIST',
    help: 'Module names to search over (default: every linear layer).',
  },
  uniform: { type: 'string', value: 'N', help: 'Best uniform plans to train for comparison.', default: '2' },
  out: { type: 'string', value: 'DIR', help: 'Plan, cache and chart go here.', default: 'peftjs-qr-adaptor' },
  chart: { type: 'boolean', help: 'Write the Pareto front as pareto.svg.' },
  seed: { type: 'string', value: 'N', help: 'Seed of the search and of every fine-tune.', default: '42' },
  quantizer: {
    type: 'string',
    value: 'Q',
    help: 'bnb (NF4 / int8 layers of @peftjs/quant-nf4) or simulated (their values, dense float32).',
    default: 'bnb',
  },
  ...MODEL_OPTION,
  ...DATA_OPTIONS,
  ...BACKEND_OPTION,
} as const;

export const QR_ADAPTOR_HELP = formatHelp(
  'peftjs qr-adaptor --budget SIZE [options]',
  "QR-Adaptor: search each linear layer's base bit width (4, 8, 16) and LoRA rank (0–16) under a memory budget\n" +
    '(sensitivity warm start, NSGA-II, Bayesian refinement; every measured plan cached in --out), print the Pareto\n' +
    'front, write plan.json, then train the chosen plan and the best uniform plans that fit the same budget (same\n' +
    'steps and seed) and print their held-out perplexity.',
  OPTIONS,
  ['peftjs qr-adaptor --budget 2MiB', 'peftjs qr-adaptor --budget 1.5MiB --calibration 16 --generations 2 --chart'],
);

const mib = (b: number) => `${(b / 2 ** 20).toFixed(3)} MiB`;

async function trainAndScore(
  model: Module,
  modules: readonly ModuleSpec[],
  plan: Plan,
  train: TokenExample[],
  heldOut: TokenExample[],
  steps: number,
  seed: number,
  quantizer: LayerQuantizer,
): Promise<number> {
  const q = quantizedCopy({ model, modules, quantizer }, plan);
  try {
    if (plan.every((c) => c.rank === 0)) return (await evaluate(q, heldOut)).perplexity;
    manualSeed(seed);
    const file = makePlanFile(modules, plan, { memoryBytes: 0, budgetBytes: 0, calibrationLoss: 0 });
    const peft = getPeftModel(q, planToLoraConfig(file));
    await new Trainer({
      model: peft,
      train,
      maxSteps: steps,
      lr: TRAIN_DEFAULTS.lr,
      batchSize: TRAIN_DEFAULTS.batchSize,
      seed,
      progress: false,
    }).train();
    return (await evaluate(peft, heldOut)).perplexity;
  } finally {
    q.dispose();
  }
}

function paretoSvg(front: readonly EvaluatedPlan[], all: readonly EvaluatedPlan[], budget: number): string {
  const W = 640;
  const H = 400;
  const P = 56;
  const xs = all.map((e) => e.memoryBytes);
  const ys = all.map((e) => e.loss);
  const [x0, x1] = [Math.min(...xs, budget), Math.max(...xs, budget)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => P + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  const sy = (y: number) => H - P - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * P);
  const dots = all
    .map((e) => `<circle cx="${sx(e.memoryBytes).toFixed(1)}" cy="${sy(e.loss).toFixed(1)}" r="3" fill="#bbb"/>`)
    .join('');
  const line = front.map((e) => `${sx(e.memoryBytes).toFixed(1)},${sy(e.loss).toFixed(1)}`).join(' ');
  const pts = front
    .map((e) => `<circle cx="${sx(e.memoryBytes).toFixed(1)}" cy="${sy(e.loss).toFixed(1)}" r="4" fill="#d62728"/>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="black"/><line x1="${P}" y1="${P}" x2="${P}" y2="${H - P}" stroke="black"/>
<line x1="${sx(budget).toFixed(1)}" y1="${P}" x2="${sx(budget).toFixed(1)}" y2="${H - P}" stroke="#1f77b4" stroke-dasharray="4 3"/>
<text x="${sx(budget) + 4}" y="${P + 12}" fill="#1f77b4">budget</text>
${dots}<polyline points="${line}" fill="none" stroke="#d62728"/>${pts}
<text x="${W / 2}" y="${H - 16}" text-anchor="middle">memory (${mib(x0)} – ${mib(x1)})</text>
<text x="16" y="${H / 2}" transform="rotate(-90 16 ${H / 2})" text-anchor="middle">calibration loss (${y0.toFixed(3)} – ${y1.toFixed(3)})</text>
<text x="${W / 2}" y="24" text-anchor="middle" font-size="14">QR-Adaptor Pareto front (red), every measured plan (grey)</text>
</svg>
`;
}

export async function qrAdaptorCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs('qr-adaptor', argv, OPTIONS);
  if (values.help) {
    io.out(QR_ADAPTOR_HELP);
    return 0;
  }
  const budgetText = str(values, 'budget');
  if (budgetText === undefined) throw new CliError('--budget is required (e.g. --budget 2MiB)');
  const budget = parseBytes('budget', budgetText);
  const nCal = num(values, 'calibration', 32, { int: true, min: 4 });
  const generations = num(values, 'generations', 3, { int: true, min: 0 });
  const population = num(values, 'population', 8, { int: true, min: 2 });
  const fitnessSteps = num(values, 'fitness-steps', 10, { int: true, min: 1 });
  const steps = num(values, 'steps', TRAIN_DEFAULTS.steps, { int: true, min: 1 });
  const nUniform = num(values, 'uniform', 2, { int: true, min: 0 });
  const seed = num(values, 'seed', 42, { int: true, min: 0 });
  const out = str(values, 'out', 'peftjs-qr-adaptor');
  const targets = str(values, 'target-modules')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const quantizer =
    choice(values, 'quantizer', ['bnb', 'simulated'] as const, 'bnb') === 'bnb' ? bnbQuantizer : simulatedQuantizer;
  const text = await readData(values);
  const { backend, close } = await startBackend(values);
  try {
    const base = await loadBaseModel(str(values, 'model'), backend);
    try {
      const data = tokenizeData(values, text, base);
      if (data.train.length < nCal)
        throw new CliError(`--calibration ${nCal}: only ${data.train.length} training sequences`);
      const calibration = data.train.slice(0, nCal);
      const cut = Math.floor((3 * nCal) / 4);
      const modules = linearModules(
        base.model,
        (p) => !/lm_head$/.test(p) && (!targets || targets.some((t) => p === t || p.endsWith(`.${t}`))),
      );
      if (!modules.length) throw new CliError(`no linear module matches --target-modules ${targets?.join(',')}`);
      const memory = new MemoryModel(modules, { baseBytes: quantizer.baseBytes });
      const lo = memory.total(modules.map(() => ({ bits: 4, rank: 0 })));
      const all4 = memory.total(modules.map(() => ({ bits: 4, rank: 8 })));
      const all16 = memory.total(modules.map(() => ({ bits: 16, rank: 8 })));
      io.err(`model:   ${base.label}; ${modules.length} linear modules searched`);
      io.err(
        `memory:  all 4-bit r8 ${mib(all4)}, all 16-bit r8 ${mib(all16)}, smallest plan ${mib(lo)}; budget ${mib(budget)}`,
      );
      io.err(`quantizer: ${quantizer.name}`);
      if (budget < lo) throw new CliError(`--budget ${budgetText} is below the smallest plan (${mib(lo)})`);
      const fit = {
        model: base.model,
        modules,
        quantizer,
        calibration: calibration.slice(0, cut),
        heldOut: calibration.slice(cut),
        steps: fitnessSteps,
        seed,
      };
      await mkdir(out, { recursive: true });
      const context = JSON.stringify({
        model: base.dir,
        seqLen: data.seqLen,
        nCal,
        fitnessSteps,
        seed,
        quantizer: quantizer.name,
        modules: modules.map((m) => m.path),
      });
      // the sensitivity profile is kept beside the plan cache, for the same context
      const sensPath = join(out, 'sensitivity.json');
      const saved = JSON.parse(await readFile(sensPath, 'utf8').catch(() => 'null')) as {
        context: string;
        sensitivity: Sensitivity;
      } | null;
      let sensitivity: Sensitivity;
      if (saved?.context === context) {
        sensitivity = saved.sensitivity;
        io.err(`sensitivity: from ${sensPath}`);
      } else {
        io.err('sensitivity: measuring each module (hard quantization, rank gain)…');
        sensitivity = await measureSensitivity(fit);
        await writeFile(sensPath, JSON.stringify({ context, sensitivity }));
      }
      const result = await searchPlans({
        modules,
        budgetBytes: budget,
        sensitivity,
        memory,
        evaluate: planFitness(fit),
        cache: new FilePlanCache(join(out, 'cache.json'), context),
        populationSize: population,
        generations,
        seed,
        onProgress: (p) =>
          io.err(
            `  [${p.phase}] ${p.done}/${p.total} plans${p.etaSeconds === null ? '' : `, ETA ${Math.round(p.etaSeconds)} s`}`,
          ),
      });
      io.err(
        `measured ${result.evaluated.length} plans (${result.freshEvaluations} new, ${result.cachedEvaluations} from the cache)`,
      );
      io.out('Pareto front (memory, calibration loss):');
      io.out('  memory        loss     mean bits  mean rank');
      for (const e of result.pareto) {
        const mb = e.plan.reduce((s, c) => s + c.bits, 0) / e.plan.length;
        const mr = e.plan.reduce((s, c) => s + c.rank, 0) / e.plan.length;
        io.out(
          `  ${mib(e.memoryBytes).padEnd(12)}  ${e.loss.toFixed(4)}   ${mb.toFixed(2).padStart(6)}    ${mr.toFixed(2).padStart(6)}${e === result.best ? '   ← chosen' : ''}`,
        );
      }
      const planFile = makePlanFile(modules, result.best.plan, {
        memoryBytes: result.best.memoryBytes,
        budgetBytes: budget,
        calibrationLoss: result.best.loss,
      });
      await writePlanFile(join(out, 'plan.json'), planFile);
      io.out(
        `plan written to ${join(out, 'plan.json')} (${mib(result.best.memoryBytes)}, calibration loss ${result.best.loss.toFixed(4)})`,
      );
      if (values.chart) {
        await writeFile(join(out, 'pareto.svg'), paretoSvg(result.pareto, result.evaluated, budget));
        io.out(`chart written to ${join(out, 'pareto.svg')}`);
      }
      const uniform = [...result.uniform].sort((a, b) => a.loss - b.loss).slice(0, nUniform);
      io.out(`held-out perplexity after ${steps} steps (seed ${seed}):`);
      const rows: [string, EvaluatedPlan][] = [
        ['QR-Adaptor plan', result.best],
        ...uniform.map((u) => [`uniform ${u.plan[0]!.bits}-bit r${u.plan[0]!.rank}`, u] as [string, EvaluatedPlan]),
      ];
      for (const [label, e] of rows) {
        const ppl = await trainAndScore(base.model, modules, e.plan, data.train, data.eval, steps, seed, quantizer);
        io.out(`  ${label.padEnd(20)} ${mib(e.memoryBytes).padEnd(12)} perplexity ${ppl.toFixed(3)}`);
      }
      io.err(`budget ${formatBytes(budget)}`);
      return 0;
    } finally {
      base.model.dispose();
    }
  } finally {
    await close();
  }
}
