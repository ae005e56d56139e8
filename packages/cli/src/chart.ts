import type { ComparisonResult } from '@peftjs/trainer/node';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Vega-Lite spec of the comparison chart: loss curves per method, and quality vs trainable parameters. */
export function comparisonChartSpec(result: ComparisonResult): TopLevelSpec {
  const curves = result.methods.flatMap((m) =>
    m.lossCurve.filter((p) => Number.isFinite(p.loss)).map((p) => ({ method: m.name, step: p.step, loss: p.loss })),
  );
  const points = result.methods
    .filter((m) => Number.isFinite(m.final.perplexity))
    .map((m) => ({
      method: m.name,
      trainable: Math.max(1, m.trainableParams),
      perplexity: m.final.perplexity,
      label: `${m.name} (${m.trainableParams.toLocaleString('en-US')})`,
    }));
  const methodNames = result.methods.map((m) => m.name);
  const longest = Math.max(1, ...result.methods.map((m) => m.lossCurve.length));
  const smooth = Math.max(1, Math.round(longest / 8));
  const color = { field: 'method', type: 'nominal' as const, scale: { domain: methodNames }, title: 'method' };
  const xScale = { type: 'log' as const, nice: false, padding: 40 };
  const yScale = { zero: false, padding: 24 };
  const baseline = result.baseline && Number.isFinite(result.baseline.perplexity) ? result.baseline.perplexity : null;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, legend: { symbolOpacity: 1 } },
    title: { text: 'peftjs compare', subtitle: `same budget for every method: ${budgetLine(result.budget)}` },
    hconcat: [
      {
        title: {
          text: 'training loss',
          subtitle: `thin: per step; thick: mean of the last ${smooth} steps`,
          fontSize: 13,
        },
        width: 360,
        height: 240,
        data: { values: curves },
        layer: [
          {
            name: 'loss_raw',
            mark: { type: 'line', strokeWidth: 1, opacity: 0.3 },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
              y: { field: 'loss', type: 'quantitative', title: 'loss (nats/token)', scale: { zero: false } },
              color,
            },
          },
          {
            name: 'loss_curves',
            transform: [
              {
                window: [{ op: 'mean', field: 'loss', as: 'smoothed' }],
                frame: [-(smooth - 1), 0],
                groupby: ['method'],
                sort: [{ field: 'step' }],
              },
            ],
            mark: { type: 'line', strokeWidth: 2 },
            encoding: {
              x: { field: 'step', type: 'quantitative' },
              y: { field: 'smoothed', type: 'quantitative', scale: { zero: false } },
              color,
            },
          },
        ],
      },
      {
        title: 'held-out perplexity vs trainable parameters',
        width: 300,
        height: 240,
        layer: [
          {
            name: 'quality_points',
            data: { values: points },
            mark: { type: 'point', filled: true, size: 90 },
            encoding: {
              x: { field: 'trainable', type: 'quantitative', scale: xScale, title: 'trainable parameters (log)' },
              y: { field: 'perplexity', type: 'quantitative', scale: yScale, title: 'perplexity (lower is better)' },
              color,
            },
          },
          {
            data: { values: points },
            mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10 },
            encoding: {
              x: { field: 'trainable', type: 'quantitative', scale: xScale },
              y: { field: 'perplexity', type: 'quantitative', scale: yScale },
              text: { field: 'label' },
            },
          },
          ...(baseline === null
            ? []
            : [
                {
                  data: { values: [{ perplexity: baseline, label: `base model ${baseline.toFixed(2)}` }] },
                  layer: [
                    {
                      mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#888' },
                      encoding: { y: { field: 'perplexity', type: 'quantitative' as const } },
                    },
                    {
                      mark: {
                        type: 'text' as const,
                        align: 'right' as const,
                        x: 'width' as const,
                        dy: -5,
                        fontSize: 10,
                        color: '#666',
                      },
                      encoding: { y: { field: 'perplexity', type: 'quantitative' as const }, text: { field: 'label' } },
                    },
                  ],
                },
              ]),
        ],
        resolve: { scale: { color: 'shared' } },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

function budgetLine(budget: Record<string, unknown>): string {
  const keys = ['optimizer', 'lr', 'schedule', 'batchSize', 'maxSteps', 'epochs', 'seed'];
  return keys
    .filter((k) => budget[k] !== undefined && budget[k] !== null)
    .map((k) => `${k} ${budget[k]}`)
    .join(', ');
}

/**
 * Render the comparison chart to an SVG string with Vega-Lite + Vega, headless (no browser, no canvas): the loss
 * curve of each method (one line per method) and held-out perplexity against trainable parameters.
 */
export async function comparisonChartSVG(result: ComparisonResult): Promise<string> {
  const spec = compile(comparisonChartSpec(result)).spec;
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
