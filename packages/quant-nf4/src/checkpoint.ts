import { isLinearLike, type LinearLike, type Module, StateDictError, withoutInit } from '@peftjs/nn';
import { createModel, type PreTrainedModel, type RawConfig } from '@peftjs/models';
import { loadTensors, type RawTensor, type TensorReader, type WritableTensor } from '@peftjs/safetensors';
import { type Backend, getBackend, type Tensor } from '@peftjs/tensor';
import { blockCount, type Quantized4bit } from './blockwise.js';
import { code4bit } from './codes.js';
import {
  type BitsAndBytesConfig,
  isSkipped,
  quantizationConfigJson,
  type ResolvedQuantConfig,
  resolveQuantConfig,
} from './config.js';
import { QuantizationError } from './errors.js';
import { Linear4bit, Linear8bit } from './linear.js';
import { packQuantState, parseQuantState } from './quant-state.js';

const configs = new WeakMap<Module, ResolvedQuantConfig>();

/** The quantization a model was loaded or quantized with (null for a float model). */
export function quantizationOf(model: Module): ResolvedQuantConfig | null {
  return configs.get(model) ?? null;
}

/** The output head transformers keeps in float32 by default (`get_keys_to_not_convert`): the last Linear. */
function defaultSkips(model: Module): string[] {
  const linears = model.namedModules().filter(([, m]) => isLinearLike(m));
  return linears.length ? [linears[linears.length - 1][0]] : [];
}

function parentAndLinears(model: Module): [string, LinearLike][] {
  return model.namedModules().filter(([n, m]) => n !== '' && isLinearLike(m) && !(m as LinearLike).quantized) as [
    string,
    LinearLike,
  ][];
}

/**
 * Quantize the Linear layers of a float model in place, as transformers does when loading with a
 * `BitsAndBytesConfig`: every Linear (GPT-2 `Conv1D` too, transposed to [out, in]) becomes a {@link Linear4bit} or
 * {@link Linear8bit} on the same backend, except the skipped modules (default: the output head). Returns the paths
 * quantized.
 */
export async function quantizeModel(model: Module, options: BitsAndBytesConfig): Promise<string[]> {
  const cfg = resolveQuantConfig(options);
  const skips = cfg.skipModules ?? defaultSkips(model);
  const done: string[] = [];
  for (const [path, lin] of parentAndLinears(model)) {
    if (isSkipped(path, skips)) continue;
    const dense = lin.denseWeight();
    const backend = dense.backend;
    const values = (await dense.data()) as Float32Array;
    dense.dispose();
    const bias = lin.bias ? ((await lin.bias.data()) as Float32Array) : null;
    const q =
      cfg.bits === 4
        ? Linear4bit.quantize(values, lin.outFeatures, lin.inFeatures, {
            quantType: cfg.quantType,
            blocksize: 64,
            doubleQuant: cfg.doubleQuant,
            backend,
            bias,
          })
        : Linear8bit.quantize(values, lin.outFeatures, lin.inFeatures, { backend, bias });
    q.training = lin.training;
    model.setSubmodule(path, q)?.dispose();
    done.push(path);
  }
  configs.set(model, cfg);
  return done;
}

async function rawOf(reader: TensorReader, name: string): Promise<RawTensor> {
  return reader.raw(name);
}

function f32Of(raw: RawTensor, name: string, length?: number): Float32Array {
  if (raw.dtype !== 'F32') throw new QuantizationError('BAD_DTYPE', `expected F32, got ${raw.dtype}`, name);
  const out = new Float32Array(raw.bytes.length / 4);
  new Uint8Array(out.buffer).set(raw.bytes);
  if (length !== undefined && out.length !== length) {
    throw new QuantizationError('BAD_LENGTH', `has ${out.length} values, expected ${length}`, name);
  }
  return out;
}

function need(reader: TensorReader, name: string): void {
  if (!reader.has(name)) throw new QuantizationError('MISSING_TENSOR', 'missing from the checkpoint', name);
}

/** Read one 4-bit weight (`P.weight` and its `P.weight.*` state) and check it against the layer it replaces. */
async function read4bit(
  reader: TensorReader,
  p: string,
  lin: LinearLike,
  qsKey: string,
): Promise<{ q: Quantized4bit; dtype: string }> {
  const w = `${p}.weight`;
  const nested = reader.has(`${w}.nested_absmax`);
  const qs = parseQuantState((await rawOf(reader, qsKey)).bytes, qsKey, nested);
  if (qs.shape[0] !== lin.outFeatures || qs.shape[1] !== lin.inFeatures) {
    throw new QuantizationError(
      'BAD_SHAPE',
      `quant state shape [${qs.shape}] does not match the layer's [${lin.outFeatures}, ${lin.inFeatures}]`,
      qsKey,
    );
  }
  const n = qs.shape[0] * qs.shape[1];
  const blocks = blockCount(n, qs.blocksize);
  const packedRaw = await rawOf(reader, w);
  if (packedRaw.bytes.length !== Math.ceil(n / 2)) {
    throw new QuantizationError(
      'BAD_LENGTH',
      `${packedRaw.bytes.length} packed bytes do not hold [${qs.shape}] (${Math.ceil(n / 2)} bytes)`,
      w,
    );
  }
  const packed = new Uint8Array(packedRaw.bytes);
  need(reader, `${w}.quant_map`);
  const code = f32Of(await rawOf(reader, `${w}.quant_map`), `${w}.quant_map`, 16);
  need(reader, `${w}.absmax`);
  const absRaw = await rawOf(reader, `${w}.absmax`);
  let q: Quantized4bit;
  if (nested) {
    if (absRaw.dtype !== 'U8')
      throw new QuantizationError(
        'BAD_DTYPE',
        `double-quantized absmax must be U8, got ${absRaw.dtype}`,
        `${w}.absmax`,
      );
    if (absRaw.bytes.length !== blocks) {
      throw new QuantizationError(
        'BAD_LENGTH',
        `${absRaw.bytes.length} absmax codes for ${blocks} blocks`,
        `${w}.absmax`,
      );
    }
    const nbs = qs.nested_blocksize as number;
    const nestedAbsmax = f32Of(
      await rawOf(reader, `${w}.nested_absmax`),
      `${w}.nested_absmax`,
      blockCount(blocks, nbs),
    );
    need(reader, `${w}.nested_quant_map`);
    const nestedCode = f32Of(await rawOf(reader, `${w}.nested_quant_map`), `${w}.nested_quant_map`, 256);
    q = {
      quantType: qs.quant_type,
      blocksize: qs.blocksize,
      shape: qs.shape,
      packed,
      code,
      absmax: null,
      nested: {
        codes: new Uint8Array(absRaw.bytes),
        absmax: nestedAbsmax,
        code: nestedCode,
        blocksize: nbs,
        offset: qs.nested_offset as number,
      },
    };
  } else {
    const absmax = f32Of(absRaw, `${w}.absmax`, blocks);
    q = { quantType: qs.quant_type, blocksize: qs.blocksize, shape: qs.shape, packed, code, absmax, nested: null };
  }
  return { q, dtype: qs.dtype };
}

async function read8bit(reader: TensorReader, p: string, lin: LinearLike) {
  const w = `${p}.weight`;
  const raw = await rawOf(reader, w);
  if (raw.dtype !== 'I8') throw new QuantizationError('BAD_DTYPE', `an 8-bit weight must be I8, got ${raw.dtype}`, w);
  if (raw.shape.length !== 2 || raw.shape[0] !== lin.outFeatures || raw.shape[1] !== lin.inFeatures) {
    throw new QuantizationError(
      'BAD_SHAPE',
      `shape [${raw.shape}] does not match the layer's [${lin.outFeatures}, ${lin.inFeatures}]`,
      w,
    );
  }
  const scb = f32Of(await rawOf(reader, `${p}.SCB`), `${p}.SCB`, lin.outFeatures);
  const fmt = `${p}.weight_format`;
  if (reader.has(fmt)) {
    const f = await rawOf(reader, fmt);
    if (f.bytes.length !== 1 || f.bytes[0] !== 0) {
      throw new QuantizationError('BAD_QUANT_STATE', 'only weight_format 0 (row-major) is supported', fmt);
    }
  }
  return {
    shape: [lin.outFeatures, lin.inFeatures] as [number, number],
    weight: new Int8Array(new Uint8Array(raw.bytes).buffer),
    scb,
  };
}

/** Options of {@link loadQuantizedModel}. */
export interface LoadQuantizedOptions {
  backend?: Backend;
  /** Build this architecture instead of config.json's `architectures[0]`. */
  architecture?: string;
  /** Refuse missing or unexpected keys (default false). */
  strict?: boolean;
}

/**
 * Build the model of a transformers config.json that has a bitsandbytes `quantization_config`, and load a
 * checkpoint that transformers saved from the quantized model: every layer with a
 * `<path>.weight.quant_state.bitsandbytes__nf4|fp4` becomes a {@link Linear4bit}, every layer with `<path>.SCB` a
 * {@link Linear8bit}; the other tensors load as usual. Each quantized tensor is checked (dtypes, lengths against
 * the quant state and the layer's shape, the quant state JSON) and refused with a {@link QuantizationError} that
 * names it.
 */
export async function loadQuantizedModel(
  config: RawConfig,
  reader: TensorReader,
  opts: LoadQuantizedOptions = {},
): Promise<PreTrainedModel> {
  const qc = (config as Record<string, unknown>).quantization_config as BitsAndBytesConfig | undefined;
  if (!qc) throw new QuantizationError('BAD_CONFIG', 'config.json has no quantization_config');
  const cfg = resolveQuantConfig(qc);
  const backend = opts.backend ?? getBackend();
  const model = withoutInit(() => createModel(config, { architecture: opts.architecture, backend }));
  try {
    const consumed = new Set<string>();
    const names = new Set(reader.names());
    for (const [path, lin] of parentAndLinears(model)) {
      const qsKey = [...names].find((n) => n.startsWith(`${path}.weight.quant_state.`));
      const bias = lin.bias ? new Float32Array(lin.outFeatures) : null;
      let q: Linear4bit | Linear8bit | null = null;
      if (qsKey !== undefined) {
        if (!/\.weight\.quant_state\.bitsandbytes__[a-z0-9]+$/.test(qsKey)) {
          throw new QuantizationError('BAD_QUANT_STATE', 'not a bitsandbytes quant state key', qsKey);
        }
        if (cfg.bits !== 4) throw new QuantizationError('BAD_CONFIG', 'a 4-bit weight in an 8-bit checkpoint', qsKey);
        need(reader, `${path}.weight`);
        const { q: q4, dtype } = await read4bit(reader, path, lin, qsKey);
        q = Linear4bit.fromQuantized(q4, { backend, bias, dtype });
        for (const k of ['', '.absmax', '.quant_map', '.nested_absmax', '.nested_quant_map'])
          consumed.add(`${path}.weight${k}`);
        consumed.add(qsKey);
      } else if (names.has(`${path}.SCB`)) {
        if (cfg.bits !== 8)
          throw new QuantizationError('BAD_CONFIG', 'an 8-bit weight in a 4-bit checkpoint', `${path}.SCB`);
        need(reader, `${path}.weight`);
        q = Linear8bit.fromQuantized(await read8bit(reader, path, lin), { backend, bias });
        for (const k of ['.weight', '.SCB', '.weight_format']) consumed.add(`${path}${k}`);
      }
      if (!q) {
        // quantized bytes without the state that describes them
        const w = `${path}.weight`;
        const stored = names.has(w) ? reader.info(w).dtype : null;
        if (names.has(`${w}.absmax`) || names.has(`${w}.quant_map`) || stored === 'U8') {
          throw new QuantizationError(
            'MISSING_TENSOR',
            'missing from the checkpoint',
            `${w}.quant_state.bitsandbytes__nf4|fp4`,
          );
        }
        if (names.has(`${path}.weight_format`) || stored === 'I8') {
          throw new QuantizationError('MISSING_TENSOR', 'missing from the checkpoint', `${path}.SCB`);
        }
      }
      if (q) model.setSubmodule(path, q)?.dispose();
    }
    const stray = [...names].filter(
      (n) => !consumed.has(n) && /\.(quant_state\.|absmax$|quant_map$|SCB$|weight_format$)/.test(n),
    );
    if (stray.length) {
      throw new QuantizationError(
        'BAD_ARGUMENT',
        'quantization state for a layer that is not a Linear of this model',
        stray[0],
      );
    }
    const rest = [...names].filter((n) => !consumed.has(n));
    const loaded = await loadTensors(reader, { names: rest, backend });
    try {
      const report = model.loadStateDict(loaded, { strict: false });
      const quantKeys = new Set(Object.keys(model.stateDict()).filter((k) => consumed.has(k)));
      report.missingKeys = report.missingKeys.filter((k) => !quantKeys.has(k));
      if (opts.strict && (report.missingKeys.length || report.unexpectedKeys.length)) throw new StateDictError(report);
    } finally {
      for (const t of Object.values(loaded)) t.dispose();
    }
    configs.set(model, cfg);
    model.eval();
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

const STORED: Record<string, 'F32' | 'I32' | 'BOOL' | 'U8' | 'I8'> = {
  f32: 'F32',
  i32: 'I32',
  bool: 'BOOL',
  u8: 'U8',
  i8: 'I8',
};

/**
 * The checkpoint transformers writes for a bitsandbytes-quantized model (`save_pretrained`): float tensors as they
 * are, 4-bit layers as `weight` (U8 [ceil(n/2), 1]), `weight.absmax`, `weight.quant_map`, `weight.nested_absmax`,
 * `weight.nested_quant_map`, `weight.quant_state.bitsandbytes__<type>`, 8-bit layers as `weight` (I8), `SCB`,
 * `weight_format`. Tied tensors are written once, under their first name.
 */
export async function quantizedStateDict(model: Module): Promise<Record<string, WritableTensor>> {
  const quant = new Map<string, Linear4bit>();
  for (const [path, m] of model.namedModules()) if (m instanceof Linear4bit) quant.set(`${path}.weight`, m);
  const out: Record<string, WritableTensor> = {};
  const seen = new Set<Tensor>();
  for (const [key, t] of Object.entries(model.stateDict())) {
    if (seen.has(t)) continue;
    seen.add(t);
    const q4 = quant.get(key);
    if (q4) {
      Object.assign(out, await linear4bitEntries(key, q4));
      continue;
    }
    const data = await t.data();
    out[key] = {
      dtype: STORED[t.dtype],
      shape: [...t.shape],
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }
  return out;
}

const f32Bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function linear4bitEntries(w: string, layer: Linear4bit): Promise<Record<string, WritableTensor>> {
  const q = await layer.toQuantized();
  const out: Record<string, WritableTensor> = {
    [w]: { dtype: 'U8', shape: [q.packed.length, 1], bytes: q.packed },
    [`${w}.quant_map`]: { dtype: 'F32', shape: [16], bytes: f32Bytes(q.code) },
  };
  if (q.nested) {
    out[`${w}.absmax`] = { dtype: 'U8', shape: [q.nested.codes.length], bytes: q.nested.codes };
    out[`${w}.nested_absmax`] = { dtype: 'F32', shape: [q.nested.absmax.length], bytes: f32Bytes(q.nested.absmax) };
    out[`${w}.nested_quant_map`] = { dtype: 'F32', shape: [256], bytes: f32Bytes(q.nested.code) };
  } else {
    const a = q.absmax as Float32Array;
    out[`${w}.absmax`] = { dtype: 'F32', shape: [a.length], bytes: f32Bytes(a) };
  }
  const state = packQuantState({
    quant_type: q.quantType,
    blocksize: q.blocksize,
    dtype: layer.dtype,
    shape: [q.shape[0], q.shape[1]],
    ...(q.nested
      ? { nested_blocksize: q.nested.blocksize, nested_dtype: 'float32', nested_offset: q.nested.offset }
      : {}),
  });
  out[`${w}.quant_state.bitsandbytes__${q.quantType}`] = { dtype: 'U8', shape: [state.length], bytes: state };
  return out;
}

/** config.json of a quantized model: the model's config plus its `quantization_config`. */
export function quantizedConfigJson(model: PreTrainedModel): Record<string, unknown> {
  const cfg = quantizationOf(model);
  if (!cfg)
    throw new QuantizationError('BAD_CONFIG', 'the model is not quantized (use quantizeModel or loadQuantizedModel)');
  return { ...model.configJson(), quantization_config: quantizationConfigJson(cfg) };
}

/** The code book a 4-bit type uses (re-exported for checks against a checkpoint's `quant_map`). */
export { code4bit };
