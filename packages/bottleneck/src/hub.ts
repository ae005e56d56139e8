import type { Module } from '@peftjs/nn';
import {
  type AdapterSlot,
  decodeAdapterFiles,
  type FromPretrainedOptions,
  getPeftModel,
  modelInfo,
  PeftConfigError,
  PeftError,
  type PeftModel,
} from '@peftjs/registry';
import { saveTensors } from '@peftjs/safetensors';
import type { Tensor } from '@peftjs/tensor';
import { BOTTLENECK_PEFT_TYPE, bottleneckConfigBlock, FLOAT_FIELDS, type ResolvedBottleneckConfig } from './config.js';
import { BottleneckHeadLayer, BottleneckLayer } from './layer.js';
import { placementFor } from './placements.js';

/** The `adapters` release whose file format this package reads and writes. */
export const ADAPTERS_VERSION = 'adapters.1.2.0';

/**
 * An adapter as AdapterHub's `save_adapter(dir, name, use_safetensors=True)` writes it: `adapter_config.json`,
 * `adapter.safetensors`, and — when the model has a prediction head — `head_config.json` and
 * `model_head.safetensors`.
 */
export interface AdapterHubFiles {
  /** adapter_config.json: `{ config, hidden_size, model_class, model_name, model_type, name, version }`. */
  config: Record<string, unknown>;
  /** adapter.safetensors. */
  weights: Uint8Array;
  /** head_config.json, when the adapter comes with a head. */
  headConfig?: Record<string, unknown> | null;
  /** model_head.safetensors, when the adapter comes with a head. */
  headWeights?: Uint8Array | null;
}

/** Options of {@link toAdapterHubFiles}. */
export interface ToAdapterHubOptions {
  /** `model_name` to record (default: the one of the files the adapter was loaded from, else the config's `_name_or_path`, else null). */
  modelName?: string | null;
  /** Write the head files (default true, as `save_adapter(with_head=True)`). */
  withHead?: boolean;
}

/** Options of {@link fromAdapterHubFiles} / {@link loadAdapterHubFiles}. */
export interface FromAdapterHubOptions extends Pick<FromPretrainedOptions, 'isTrainable'> {
  /** Name to load the adapter under (default: the `name` in adapter_config.json). */
  adapterName?: string;
  /** Load the head files too (default true, when present). */
  withHead?: boolean;
}

/** Where a registry slot key of a bottleneck adapter is stored in AdapterHub's files. */
export interface HubKey {
  file: 'adapter' | 'head';
  key: string;
  /** Extra keys holding the same tensor (`adapter_norm_before.*`, an alias of `adapter_down.0.*` in the state dict). */
  aliases: string[];
}

/** `model_name` recorded by the files each adapter was loaded from, for writing it back. */
const loadedMeta = new WeakMap<PeftModel, Map<string, { modelName: unknown }>>();

function modelOf(peft: PeftModel): Module & { basePrefix?: string; architecture?: string; config?: unknown } {
  return peft.model as Module & { basePrefix?: string; architecture?: string };
}

/**
 * The AdapterHub file and key of every saved tensor of adapter `name`, by its registry slot key — e.g.
 * `base_model.model.model.layers.0.mlp_residual.adapter_up.weight` →
 * `{ file: 'adapter', key: 'model.layers.0.output_adapters.adapters.<name>.adapter_up.weight' }`.
 */
export function adapterHubKeys(peft: PeftModel, name = peft.activeAdapter): Map<string, HubKey> {
  assertBottleneck(peft, name);
  const placement = placementFor(modelInfo(peft.model).modelType);
  const config = peft.peftConfig(name) as ResolvedBottleneckConfig;
  const out = new Map<string, HubKey>();
  for (const [path, layer] of peft.adapterLayers()) {
    if (!layer.adapterNames.includes(name)) continue;
    for (const s of layer.adapterSlots(name)) {
      const slotKey = `${peft.keyPrefix}${path}.${s.key}`;
      if (layer instanceof BottleneckLayer) {
        const prefix = `${placement.hubPath(path)}.adapters.${name}.`;
        const aliases =
          config.ln_before && s.key.startsWith('adapter_down.0.')
            ? [`${prefix}adapter_norm_before.${s.key.slice('adapter_down.0.'.length)}`]
            : [];
        out.set(slotKey, { file: 'adapter', key: prefix + s.key, aliases });
      } else if (layer instanceof BottleneckHeadLayer) {
        out.set(slotKey, { file: 'head', key: `${path}.${s.key}`, aliases: [] });
      }
    }
  }
  return out;
}

/**
 * Every trainable parameter of the model by its AdapterHub key (`…adapters.<name>.adapter_down.0.weight`,
 * `classifier.weight`), as torch's `named_parameters()` names them in `adapters` (`adapter_norm_before.*` for the
 * `ln_before` LayerNorm, which the state dict also holds as `adapter_down.0.*`). A trainable parameter without a key is an
 * error (it would be trained but never saved).
 */
export function adapterHubParameters(peft: PeftModel, name = peft.activeAdapter): Map<string, Tensor> {
  const keys = adapterHubKeys(peft, name);
  const byTensor = new Map<Tensor, string>();
  for (const [slotKey, slot] of peft.adapterSlots(name)) {
    const k = keys.get(slotKey);
    // With ln_before, torch's named_parameters() reports the LayerNorm under its first name, adapter_norm_before.
    if (k) byTensor.set(slot.owner.param(slot.param), k.aliases[0] ?? k.key);
  }
  const out = new Map<string, Tensor>();
  for (const [pname, t] of peft.namedParameters()) {
    if (!t.requiresGrad) continue;
    const key = byTensor.get(t);
    if (!key) throw new PeftError(`trainable parameter '${pname}' has no place in AdapterHub's files`);
    out.set(key, t);
  }
  return out;
}

function assertBottleneck(peft: PeftModel, name: string): void {
  if (peft.method(name).peftType !== BOTTLENECK_PEFT_TYPE)
    throw new PeftError(`adapter '${name}' is ${peft.method(name).peftType}, not a bottleneck adapter`);
}

/** Python's `json.dump(obj, f, indent=2, sort_keys=True)`, with AdapterHub's float fields written as floats. */
export function adapterHubJSON(value: unknown): string {
  const render = (v: unknown, indent: string, key: string | null): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new PeftError(`adapter_config.json: ${key} is not a finite number`);
      return key !== null && FLOAT_FIELDS.has(key) && Number.isInteger(v) ? v.toFixed(1) : JSON.stringify(v);
    }
    if (typeof v !== 'object') return JSON.stringify(v);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (!v.length) return '[]';
      return `[\n${v.map((x) => inner + render(x, inner, null)).join(',\n')}\n${indent}]`;
    }
    const keys = Object.keys(v).sort();
    if (!keys.length) return '{}';
    const o = v as Record<string, unknown>;
    return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${render(o[k], inner, k)}`).join(',\n')}\n${indent}}`;
  };
  return render(value, '', null);
}

function labels(raw: Record<string, unknown>): { label2id: Record<string, number>; numLabels: number } {
  const l2i = raw.label2id;
  if (l2i && typeof l2i === 'object' && !Array.isArray(l2i)) {
    const label2id = l2i as Record<string, number>;
    return { label2id, numLabels: Object.keys(label2id).length };
  }
  const i2l = raw.id2label;
  if (i2l && typeof i2l === 'object' && !Array.isArray(i2l)) {
    const label2id = Object.fromEntries(Object.entries(i2l as Record<string, string>).map(([i, l]) => [l, Number(i)]));
    return { label2id, numLabels: Object.keys(label2id).length };
  }
  const n = typeof raw.num_labels === 'number' ? raw.num_labels : 2; // transformers' PretrainedConfig default
  return { label2id: Object.fromEntries(Array.from({ length: n }, (_, i) => [`LABEL_${i}`, i])), numLabels: n };
}

/** The model's head parameters: everything outside its base model (AdapterHub's static-head save), by key. */
function headParameters(model: Module & { basePrefix?: string }): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const base = model.basePrefix;
  if (!base) return out;
  for (const [childName, child] of model.namedChildren()) {
    if (childName === base) continue;
    // Separately per child: a head tied to the input embeddings (lm_head) is still the head's own key.
    for (const [pname, t] of child.namedParameters())
      out.set(`${childName}.${pname.replace(/(^|\.)base_layer\./g, '$1')}`, t);
  }
  return out;
}

function rawConfig(model: Module): Record<string, unknown> {
  const c = (model as unknown as { config?: { raw?: Record<string, unknown> } & Record<string, unknown> }).config;
  return (c?.raw as Record<string, unknown> | undefined) ?? (c as Record<string, unknown> | undefined) ?? {};
}

/** AdapterHub's files for bottleneck adapter `name` of `peft` (bytes: store them anywhere). */
export async function toAdapterHubFiles(
  peft: PeftModel,
  name = peft.activeAdapter,
  opts: ToAdapterHubOptions = {},
): Promise<AdapterHubFiles> {
  const keys = adapterHubKeys(peft, name);
  const model = modelOf(peft);
  const info = modelInfo(model);
  const raw = rawConfig(model);
  const adapterTensors: Record<string, Tensor> = {};
  const headTensors: Record<string, Tensor> = {};
  for (const [slotKey, slot] of peft.adapterSlots(name)) {
    const k = keys.get(slotKey);
    if (!k) throw new PeftError(`'${slotKey}' has no place in AdapterHub's files`);
    const t = (slot as AdapterSlot).owner.param(slot.param);
    const into = k.file === 'adapter' ? adapterTensors : headTensors;
    for (const key of [k.key, ...k.aliases]) into[key] = t;
  }
  const withHead = opts.withHead ?? true;
  if (withHead) for (const [k, t] of headParameters(model)) headTensors[k] ??= t;
  const modelName =
    opts.modelName !== undefined
      ? opts.modelName
      : (loadedMeta.get(peft)?.get(name)?.modelName ??
        (typeof raw._name_or_path === 'string' ? raw._name_or_path : null));
  const meta = {
    hidden_size: info.config.hidden_size ?? info.config.n_embd ?? null,
    model_class: model.architecture ?? model.typeName,
    model_name: modelName,
    model_type: info.modelType ?? null,
  };
  const files: AdapterHubFiles = {
    config: {
      config: bottleneckConfigBlock(peft.peftConfig(name) as ResolvedBottleneckConfig),
      ...meta,
      name,
      version: ADAPTERS_VERSION,
    },
    weights: await saveTensors(adapterTensors),
  };
  if (withHead && Object.keys(headTensors).length) {
    const { label2id, numLabels } = labels(raw);
    files.headConfig = {
      config: null,
      ...meta,
      label2id,
      name: null,
      num_labels: numLabels,
      version: ADAPTERS_VERSION,
    };
    files.headWeights = await saveTensors(headTensors);
  }
  return files;
}

/** Decode `bytes` of `file`, with errors naming it. */
async function decode(bytes: Uint8Array, file: string, backend: Parameters<typeof decodeAdapterFiles>[1]) {
  try {
    return (await decodeAdapterFiles({ config: {}, weights: bytes }, backend)).tensors;
  } catch (e) {
    throw new PeftError((e as Error).message.replace('adapter_model.safetensors', file));
  }
}

/** The bottleneck block and adapter name of AdapterHub's adapter_config.json, checked against the model. */
function readHubConfig(
  config: Record<string, unknown>,
  model: Module,
): { block: Record<string, unknown>; savedName: string } {
  if (!config || typeof config !== 'object') throw new PeftError('adapter_config.json must hold a JSON object');
  const block = config.config;
  if (!block || typeof block !== 'object' || Array.isArray(block))
    throw new PeftConfigError('config', 'adapter_config.json has no "config" block: it is not AdapterHub\'s format');
  const savedName = config.name;
  if (typeof savedName !== 'string' || !savedName)
    throw new PeftConfigError('name', 'adapter_config.json names no adapter');
  const info = modelInfo(model);
  if (typeof config.model_type === 'string' && info.modelType && config.model_type !== info.modelType)
    throw new PeftConfigError(
      'model_type',
      `the adapter was trained for '${config.model_type}', the model is '${info.modelType}'`,
    );
  const hidden = info.config.hidden_size ?? info.config.n_embd;
  if (typeof config.hidden_size === 'number' && typeof hidden === 'number' && config.hidden_size !== hidden)
    throw new PeftConfigError(
      'hidden_size',
      `the adapter was trained for hidden size ${config.hidden_size}, the model has ${hidden}`,
    );
  return { block: block as Record<string, unknown>, savedName };
}

/** Decode AdapterHub's tensors and load them into adapter `name` (just added); on error it throws, leaving the caller to remove it. */
async function applyHubFiles(
  peft: PeftModel,
  name: string,
  savedName: string,
  files: AdapterHubFiles,
  withHeadOpt: boolean | undefined,
): Promise<void> {
  const model = modelOf(peft);
  const backend = model.parameters()[0]?.backend;
  const withHead = (withHeadOpt ?? true) && !!files.headWeights;
  const adapterTensors = await decode(files.weights, 'adapter.safetensors', backend);
  let headTensors: Record<string, Tensor> = {};
  try {
    headTensors = withHead ? await decode(files.headWeights!, 'model_head.safetensors', backend) : {};
    const state: Record<string, Tensor> = {};
    const byHubKey = new Map<string, string>();
    for (const [slotKey, k] of adapterHubKeys(peft, name)) byHubKey.set(`${k.file}:${k.key}`, slotKey);
    // The file's keys carry the name it was saved under.
    const renamed = (k: string) => k.replace(`.adapters.${savedName}.`, `.adapters.${name}.`);
    for (const [key, t] of Object.entries(adapterTensors)) {
      const k = renamed(key);
      const slotKey =
        byHubKey.get(`adapter:${k}`) ??
        byHubKey.get(`adapter:${k.replace('.adapter_norm_before.', '.adapter_down.0.')}`);
      if (!slotKey) {
        const example = [...byHubKey.keys()].find((x) => x.startsWith('adapter:'))?.slice(8);
        throw new PeftError(
          `adapter.safetensors: '${key}' matches nothing in the model (expected keys like ${example})`,
        );
      }
      state[slotKey] = t;
    }
    for (const [key, t] of Object.entries(headTensors)) {
      const slotKey = byHubKey.get(`head:${key}`);
      if (slotKey) state[slotKey] = t;
      else await checkFrozenHead(model, key, t);
    }
    const missing = [...byHubKey.entries()]
      .filter(([k, slotKey]) => !(slotKey in state) && (withHead || k.startsWith('adapter:')))
      .map(([k]) => k.slice(k.indexOf(':') + 1));
    if (missing.length) throw new PeftError(`AdapterHub files lack keys: ${missing.slice(0, 6).join(', ')}`);
    // Without the head files, a trained head keeps the model's values (load_adapter(with_head=False)).
    peft.loadAdapterState(state, name, { strict: false });
  } finally {
    for (const t of [...Object.values(adapterTensors), ...Object.values(headTensors)]) t.dispose();
  }
  const meta = loadedMeta.get(peft) ?? new Map<string, { modelName: unknown }>();
  loadedMeta.set(peft, meta);
  meta.set(name, { modelName: files.config.model_name ?? null });
}

/**
 * Add the AdapterHub adapter in `files` to `peft` (`model.load_adapter(dir)`); returns its name. Keys are checked
 * both ways (nothing missing, nothing unexpected); a head the adapter does not train (a language-model head) must
 * equal the model's. On error nothing is added. The adapter is not made active (`peft.setAdapter(name)`).
 */
export async function loadAdapterHubFiles(
  peft: PeftModel,
  files: AdapterHubFiles,
  opts: FromAdapterHubOptions = {},
): Promise<string> {
  const { block, savedName } = readHubConfig(files?.config, peft.model);
  const name = opts.adapterName ?? savedName;
  peft.addAdapter(name, { ...block, peft_type: BOTTLENECK_PEFT_TYPE });
  try {
    await applyHubFiles(peft, name, savedName, files, opts.withHead);
  } catch (e) {
    peft.deleteAdapter(name);
    throw e;
  }
  if (!opts.isTrainable) {
    peft.freezeAll();
    peft.eval();
  }
  return name;
}

/** A head tensor the adapter does not train (an LM head) must be the model's own: the files come from this base. */
async function checkFrozenHead(model: Module & { basePrefix?: string }, key: string, t: Tensor): Promise<void> {
  const own = headParameters(model).get(key);
  if (!own) throw new PeftError(`model_head.safetensors: '${key}' matches no head parameter of the model`);
  if (own.shape.join(',') !== t.shape.join(','))
    throw new PeftError(
      `model_head.safetensors: '${key}' has shape [${t.shape.join(', ')}], the model's [${own.shape.join(', ')}]`,
    );
  const [a, b] = [await own.data(), await t.data()];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i])
      throw new PeftError(
        `model_head.safetensors: '${key}' differs from the model's head (index ${i}: ${b[i]} vs ${a[i]}); the adapter was saved with another base model`,
      );
  }
}

/**
 * Wrap `model` with the AdapterHub adapter in `files` (`adapters.init(model); model.load_adapter(dir)`), active.
 * Frozen and in eval mode unless `isTrainable`. On error the model is left unwrapped.
 */
export async function fromAdapterHubFiles<M extends Module>(
  model: M,
  files: AdapterHubFiles,
  opts: FromAdapterHubOptions = {},
): Promise<PeftModel<M>> {
  const { block, savedName } = readHubConfig(files?.config, model);
  const name = opts.adapterName ?? savedName;
  const peft = getPeftModel(model, { ...block, peft_type: BOTTLENECK_PEFT_TYPE }, { adapterName: name });
  try {
    await applyHubFiles(peft, name, savedName, files, opts.withHead);
  } catch (e) {
    peft.unload();
    throw e;
  }
  if (!opts.isTrainable) {
    peft.freezeAll();
    peft.eval();
  }
  return peft;
}
