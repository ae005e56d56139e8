import type { LayerChoice, ModuleSpec, Plan } from './space.js';

/** A QR-Adaptor plan on disk: per module bits and rank, and what the search measured. */
export interface PlanFile {
  format: 'peftjs-qr-adaptor-plan';
  version: 1;
  modules: { path: string; bits: number; rank: number }[];
  /** Memory model's bytes for the plan, and the budget it was searched under. */
  memoryBytes: number;
  budgetBytes: number;
  /** Calibration held-out loss the search measured for it. */
  calibrationLoss: number;
}

export class PlanFileError extends Error {
  override name = 'PlanFileError';
}

export function makePlanFile(
  modules: readonly ModuleSpec[],
  plan: Plan,
  m: { memoryBytes: number; budgetBytes: number; calibrationLoss: number },
): PlanFile {
  if (plan.length !== modules.length) throw new PlanFileError(`${plan.length} choices for ${modules.length} modules`);
  return {
    format: 'peftjs-qr-adaptor-plan',
    version: 1,
    modules: modules.map((mod, i) => ({ path: mod.path, bits: plan[i]!.bits, rank: plan[i]!.rank })),
    ...m,
  };
}

/** Validate a parsed plan file. */
export function parsePlanFile(v: unknown): PlanFile {
  const f = v as Partial<PlanFile>;
  if (f?.format !== 'peftjs-qr-adaptor-plan' || f.version !== 1)
    throw new PlanFileError('not a QR-Adaptor plan file (format peftjs-qr-adaptor-plan, version 1)');
  if (!Array.isArray(f.modules) || f.modules.length === 0) throw new PlanFileError('plan has no modules');
  for (const [i, m] of f.modules.entries()) {
    if (typeof m?.path !== 'string' || !Number.isInteger(m.bits) || !Number.isInteger(m.rank) || m.rank < 0)
      throw new PlanFileError(`modules[${i}] must have a path, integer bits and a rank >= 0`);
  }
  return f as PlanFile;
}

/** The plan's choices in module order. */
export function planChoices(f: PlanFile): LayerChoice[] {
  return f.modules.map((m) => ({ bits: m.bits, rank: m.rank }));
}

/**
 * The LoRA config that realises a plan (as the official code does with PEFT): `r` = the most common nonzero rank,
 * `lora_alpha` = alphaPerRank·r, `rank_pattern` / `alpha_pattern` for modules that differ, rank-0 modules not
 * targeted. Loadable by PEFT.
 */
export function planToLoraConfig(
  f: PlanFile,
  opts: { alphaPerRank?: number; dropout?: number; taskType?: string } = {},
): Record<string, unknown> {
  const k = opts.alphaPerRank ?? 2;
  const adapted = f.modules.filter((m) => m.rank > 0);
  if (adapted.length === 0) throw new PlanFileError('the plan adapts no module (every rank is 0)');
  const counts = new Map<number, number>();
  for (const m of adapted) counts.set(m.rank, (counts.get(m.rank) ?? 0) + 1);
  const r = [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0];
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  for (const m of adapted) {
    if (m.rank === r) continue;
    rankPattern[m.path] = m.rank;
    alphaPattern[m.path] = k * m.rank;
  }
  return {
    peft_type: 'LORA',
    ...(opts.taskType ? { task_type: opts.taskType } : {}),
    r,
    lora_alpha: k * r,
    lora_dropout: opts.dropout ?? 0,
    target_modules: adapted.map((m) => m.path),
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
  };
}

/** Bits per module path (what the quantizer applies before the adapter is added). */
export function planBits(f: PlanFile): Record<string, number> {
  return Object.fromEntries(f.modules.map((m) => [m.path, m.bits]));
}
