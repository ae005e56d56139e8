import type { ComparisonResult, EvalMetrics, MethodResult } from './types.js';

/** Human-readable byte count (KiB, MiB, GiB). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

const num = (v: number | null | undefined, digits: number) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');

/** The table's columns: header, alignment, and cell text. */
const COLUMNS: [header: string, align: 'l' | 'r', cell: (m: MethodResult) => string][] = [
  ['method', 'l', (m) => m.name],
  ['peft_type', 'l', (m) => m.peftType],
  ['trainable', 'r', (m) => int(m.trainableParams)],
  ['total', 'r', (m) => int(m.totalParams)],
  ['trainable%', 'r', (m) => num(m.trainablePercent, 3)],
  ['adapter file', 'r', (m) => (m.adapterFileBytes === undefined ? '-' : formatBytes(m.adapterFileBytes))],
  ['base weights', 'r', (m) => (m.baseWeightBytes === undefined ? '-' : formatBytes(m.baseWeightBytes))],
  ['steps', 'r', (m) => int(m.steps)],
  ['train s', 'r', (m) => num(m.trainSeconds, 1)],
  ['tok/s', 'r', (m) => int(m.tokensPerSecond)],
  ['peak tensors', 'r', (m) => formatBytes(m.peakTensorBytes)],
  ['peak RSS', 'r', (m) => formatBytes(m.peakRssBytes)],
  ['eval loss', 'r', (m) => num(m.final.loss, 4)],
  ['ppl', 'r', (m) => num(m.final.perplexity, 3)],
  ['acc', 'r', (m) => (m.final.accuracy === null ? '-' : `${(100 * m.final.accuracy).toFixed(1)}%`)],
];

function renderTable(headers: string[], aligns: ('l' | 'r')[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (aligns[i] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

/**
 * The comparison as an aligned plain-text table (one row per method, numbers right-aligned), preceded by the
 * baseline (base model) metrics when known.
 */
export function formatComparisonTable(result: ComparisonResult): string {
  const rows = result.methods.map((m) => COLUMNS.map(([, , cell]) => cell(m)));
  const table = renderTable(
    COLUMNS.map(([h]) => h),
    COLUMNS.map(([, a]) => a),
    rows,
  );
  const lines: string[] = [];
  if (result.baseline) lines.push(`base model (no adapter): ${formatMetrics(result.baseline)}`);
  lines.push(table);
  return lines.join('\n');
}

/** "loss 1.2345, perplexity 3.437, accuracy 61.2%". */
export function formatMetrics(m: EvalMetrics): string {
  return `loss ${num(m.loss, 4)}, perplexity ${num(m.perplexity, 3)}${m.accuracy === null ? '' : `, accuracy ${(100 * m.accuracy).toFixed(1)}%`}`;
}

/** Replace non-finite numbers (NaN, ±Infinity) by null, so the JSON is valid and says "not measured". */
function finite(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

/** The comparison as pretty-printed JSON (what `compare.json` holds). Non-finite numbers become null. */
export function comparisonToJSON(result: ComparisonResult): string {
  return `${JSON.stringify({ format: 'peftjs-comparison', version: 1, ...result }, finite, 2)}\n`;
}

/** Read back {@link comparisonToJSON}'s output (null numbers in metrics become NaN). */
export function comparisonFromJSON(text: string): ComparisonResult {
  const raw = JSON.parse(text) as Record<string, unknown> & ComparisonResult;
  if (raw.format !== 'peftjs-comparison' || !Array.isArray(raw.methods)) {
    throw new Error(
      'comparisonFromJSON: not a peftjs comparison (expected format "peftjs-comparison" and a methods list)',
    );
  }
  const metrics = (m: EvalMetrics | null): EvalMetrics | null =>
    m && { loss: m.loss ?? Number.NaN, perplexity: m.perplexity ?? Number.NaN, accuracy: m.accuracy ?? null };
  return {
    baseline: metrics(raw.baseline ?? null),
    methods: raw.methods.map((m) => ({
      ...m,
      final: metrics(m.final) as EvalMetrics,
      lossCurve: m.lossCurve.map((p) => ({ step: p.step, loss: p.loss ?? Number.NaN })),
      evalCurve: m.evalCurve.map((p) => ({ step: p.step, loss: p.loss ?? Number.NaN })),
    })),
    budget: raw.budget ?? {},
    createdAt: raw.createdAt,
  };
}
