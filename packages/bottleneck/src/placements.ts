import { PeftConfigError } from '@peftjs/registry';
import type { BottleneckLocation } from './layer.js';

/**
 * Where AdapterHub puts bottleneck adapters in one architecture, in terms of the model's residual connections
 * (`@peftjs/models` exposes each as a `ResidualAdd` module), and the module path AdapterHub's files name for each.
 */
export interface ArchitecturePlacement {
  /** Full-match regex sources for the residual connection of each location; `(\d+)` captures the layer index. */
  readonly connections: Readonly<Record<BottleneckLocation, string>>;
  /** AdapterHub's path of the module holding the adapters of the connection at `path` (before `.adapters.<name>`). */
  hubPath(path: string): string;
}

/** LLaMA and GPT-2 blocks carry `attention_adapters` and `output_adapters` (pre-LN: no LayerNorm is passed). */
const preLnBlock = (layers: string): ArchitecturePlacement => ({
  connections: {
    mh_adapter: `(?:.*\\.)?${layers}\\.(\\d+)\\.attention_residual`,
    output_adapter: `(?:.*\\.)?${layers}\\.(\\d+)\\.mlp_residual`,
  },
  hubPath: (path) =>
    path.replace(/attention_residual$/, 'attention_adapters').replace(/mlp_residual$/, 'output_adapters'),
});

/** AdapterHub's bottleneck placement by Hugging Face `model_type`. */
export const PLACEMENTS: Readonly<Record<string, ArchitecturePlacement>> = {
  llama: preLnBlock('layers'),
  gpt2: preLnBlock('h'),
  // BertSelfOutput / BertOutput are themselves AdapterHub's BottleneckLayers (post-LN: their LayerNorm is passed).
  bert: {
    connections: {
      mh_adapter: '(?:.*\\.)?layer\\.(\\d+)\\.attention\\.output\\.residual',
      output_adapter: '(?:.*\\.)?layer\\.(\\d+)\\.output\\.residual',
    },
    hubPath: (path) => path.replace(/\.residual$/, ''),
  },
};

/** Prediction heads trained with the adapter (top-level modules; AdapterHub trains everything outside the base model but output embeddings). */
export const TRAINED_HEADS = ['classifier', 'score'] as const;

export function placementFor(modelType: string | undefined): ArchitecturePlacement {
  const p = modelType ? PLACEMENTS[modelType] : undefined;
  if (!p)
    throw new PeftConfigError(
      'model_type',
      `bottleneck adapters know the placements of ${Object.keys(PLACEMENTS).join(', ')}, not '${modelType ?? 'unknown'}'`,
    );
  return p;
}

/** The location and layer index of the residual connection at `path`, or null when it holds no adapter. */
export function locate(
  placement: ArchitecturePlacement,
  path: string,
): { location: BottleneckLocation; layerIndex: number } | null {
  for (const location of ['mh_adapter', 'output_adapter'] as const) {
    const m = new RegExp(`^(?:${placement.connections[location]})$`).exec(path);
    if (m) return { location, layerIndex: Number(m[1]) };
  }
  return null;
}

/** The registry's `target_modules` regex: the enabled locations in every layer but `leaveOut`, and the heads. */
export function targetRegex(
  placement: ArchitecturePlacement,
  locations: readonly BottleneckLocation[],
  leaveOut: readonly number[],
): string {
  const skip = leaveOut.length ? `(?!(?:${leaveOut.join('|')})\\.)` : '';
  const parts = locations.map((l) => placement.connections[l].replace('(\\d+)', `${skip}(\\d+)`));
  return [...parts, ...TRAINED_HEADS].map((p) => `(?:${p})`).join('|');
}
