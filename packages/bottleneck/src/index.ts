/**
 * `@peftjs/bottleneck`: bottleneck adapters — Houlsby (`double_seq_bn`), Pfeiffer (`seq_bn`) and parallel
 * (`par_bn`) — numerically identical to AdapterHub's `adapters` 1.2, reading and writing its files. Importing the
 * package registers the method (registry peft_type `"BOTTLENECK"`) and the presets "bottleneck" (Pfeiffer) and
 * "houlsby".
 *
 * ```ts
 * import { bottleneckConfig, getPeftModel, toAdapterHubFiles } from '@peftjs/bottleneck';
 * const peft = getPeftModel(model, bottleneckConfig('seq_bn', { reduction_factor: 8 }), { adapterName: 'task' });
 * const files = await toAdapterHubFiles(peft); // adapter_config.json, adapter.safetensors (+ head files)
 * ```
 * @packageDocumentation
 */
import { registerBottleneck } from './method.js';

registerBottleneck();

export {
  BOTTLENECK_PEFT_TYPE,
  BOTTLENECK_PRESETS,
  bottleneckConfig,
  bottleneckConfigBlock,
  bottleneckConfigToJSON,
  bottleneckSize,
  FLOAT_FIELDS,
  normalizeBottleneckConfig,
} from './config.js';
export type { BottleneckConfig, BottleneckPresetName, ResolvedBottleneckConfig } from './config.js';
export {
  ADAPTERS_VERSION,
  adapterHubJSON,
  adapterHubKeys,
  adapterHubParameters,
  fromAdapterHubFiles,
  loadAdapterHubFiles,
  toAdapterHubFiles,
} from './hub.js';
export type { AdapterHubFiles, FromAdapterHubOptions, HubKey, ToAdapterHubOptions } from './hub.js';
export { BottleneckAdapter, BottleneckHeadLayer, BottleneckLayer } from './layer.js';
export type { BottleneckLocation, BottleneckPlan } from './layer.js';
export {
  bottleneckMethod,
  bottleneckPreset,
  houlsbyPreset,
  isResidualConnection,
  registerBottleneck,
} from './method.js';
export { locate, PLACEMENTS, placementFor, TRAINED_HEADS, targetRegex } from './placements.js';
export type { ArchitecturePlacement } from './placements.js';
// The user-facing API, so that installing @peftjs/bottleneck alone is enough to use it.
export { getPeftModel, PeftModel } from '@peftjs/registry';
