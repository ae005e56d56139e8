import type { Backend, DType, Tensor } from '@peftjs/tensor';
import { getBackend, Tensor as TensorClass } from '@peftjs/tensor';
import { encodeValues } from './convert.js';
import type { SafetensorsDType, TargetDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import type { ParseOptions, TensorInfo } from './header.js';
import type { SafetensorsInput, TensorReader } from './reader.js';
import { SafetensorsReader } from './reader.js';
import type { SafetensorsPlan, TensorSpec } from './writer.js';
import { planSafetensors } from './writer.js';

/** Options for {@link loadTensors}. */
export interface LoadTensorsOptions extends ParseOptions {
  /** Load only these tensors (a missing name is `NOT_FOUND`), or those the predicate accepts. Default: all. */
  names?: readonly string[] | ((name: string, info: TensorInfo) => boolean);
  /**
   * The tensor dtype to convert to: one for all tensors, or chosen per tensor (return `undefined` for the default).
   * Default: floats → f32, integers → i32 (range-checked: an I64 value beyond int32 is `OUT_OF_RANGE`), BOOL → bool.
   */
  dtype?: TargetDType | ((info: TensorInfo) => TargetDType | undefined);
  /** Backend to create the tensors on. Default: the active backend. */
  backend?: Backend;
}

function isTensorReader(x: unknown): x is TensorReader {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as TensorReader).names === 'function' &&
    typeof (x as TensorReader).read === 'function' &&
    typeof (x as TensorReader).info === 'function'
  );
}

function selectNames(reader: TensorReader, names: LoadTensorsOptions['names']): string[] {
  if (names === undefined) return reader.names();
  if (typeof names === 'function') return reader.names().filter((n) => names(n, reader.info(n)));
  for (const n of names) reader.info(n); // NOT_FOUND early, before reading anything
  return [...new Set(names)];
}

/**
 * Load tensors from safetensors into `@peftjs/tensor` tensors, one at a time (each tensor's bytes are read,
 * converted and uploaded before the next is read, so peak memory is the result plus one tensor).
 *
 * `source`: bytes in memory, a `Blob`/`File`, a {@link ByteSource}, or an open {@link TensorReader} (e.g. from
 * `openCheckpoint` in `@peftjs/safetensors/node`, which also handles sharded checkpoints). A reader passed in is
 * left open; one opened here is closed. On error, tensors already created are disposed.
 *
 * ```ts
 * const weights = await loadTensors(bytes, { names: ['lm_head.weight'] });
 * weights['lm_head.weight'].shape; // [128, 64]
 * ```
 */
export async function loadTensors(
  source: SafetensorsInput | TensorReader,
  options: LoadTensorsOptions = {},
): Promise<Record<string, Tensor>> {
  const own = !isTensorReader(source);
  const reader: TensorReader = own ? await SafetensorsReader.open(source as SafetensorsInput, options) : source;
  const out: Record<string, Tensor> = {};
  const created: Tensor[] = [];
  try {
    const backend = options.backend ?? getBackend();
    for (const name of selectNames(reader, options.names)) {
      const info = reader.info(name);
      const dtype = typeof options.dtype === 'function' ? options.dtype(info) : options.dtype;
      const d = await reader.read(name, { dtype });
      const t = TensorClass.fromValues(backend, d.data, [...d.shape], d.dtype);
      created.push(t);
      Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (e) {
    for (const t of created) t.dispose();
    throw e;
  } finally {
    if (own) await reader.close();
  }
  return out;
}

/** Tensors to save, by name. */
export type TensorRecord = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

/** Options for {@link saveTensors}. */
export interface SaveTensorsOptions {
  /**
   * Stored dtype, for all tensors or per tensor (`undefined`: the default). Default: f32 → F32, i32 → I32,
   * bool → BOOL, u8 → U8, i8 → I8. Any safetensors dtype the values fit in is allowed, e.g. `'F16'`/`'BF16'` for half-precision
   * storage (rounded to nearest-even) or `'I64'` for token ids as PyTorch stores them.
   */
  dtype?: SafetensorsDType | ((name: string, tensor: Tensor) => SafetensorsDType | undefined);
}

const STORED: Record<DType, SafetensorsDType> = { f32: 'F32', i32: 'I32', bool: 'BOOL', u8: 'U8', i8: 'I8' };

/** One {@link TensorSpec} per tensor (bytes produced by reading the tensor back when written). */
export function tensorRecordSpecs(tensors: TensorRecord, options: SaveTensorsOptions = {}): TensorSpec[] {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Record<string, Tensor>);
  return entries.map(([name, t]) => {
    if (!(t instanceof TensorClass)) {
      throw new SafetensorsError('BAD_ARGUMENT', `${JSON.stringify(name)} is not a Tensor`, { tensor: name });
    }
    if (t.isDisposed) {
      throw new SafetensorsError('BAD_ARGUMENT', `tensor ${JSON.stringify(name)} is disposed`, { tensor: name });
    }
    const chosen = typeof options.dtype === 'function' ? options.dtype(name, t) : options.dtype;
    const dtype = chosen ?? STORED[t.dtype];
    if (dtype === undefined) {
      throw new SafetensorsError('BAD_DTYPE', `tensor ${JSON.stringify(name)} has dtype ${t.dtype}`, { tensor: name });
    }
    return { name, dtype, shape: [...t.shape], bytes: async () => encodeValues(name, dtype, await t.data()) };
  });
}

/** The plan for writing `tensors` (used by {@link saveTensors} and the Node `saveFile`). */
export function planTensorRecord(
  tensors: TensorRecord,
  metadata?: Readonly<Record<string, string>> | null,
  options: SaveTensorsOptions = {},
): SafetensorsPlan {
  return planSafetensors(tensorRecordSpecs(tensors, options), metadata);
}

/**
 * Serialize `@peftjs/tensor` tensors to safetensors bytes (the reference layout; see `planSafetensors`). Async
 * because tensor data is read back from its backend.
 *
 * ```ts
 * const bytes = await saveTensors({ 'lora_A.weight': a, 'lora_B.weight': b }, { format: 'pt' });
 * ```
 */
export async function saveTensors(
  tensors: TensorRecord,
  metadata?: Readonly<Record<string, string>> | null,
  options: SaveTensorsOptions = {},
): Promise<Uint8Array> {
  const plan = planTensorRecord(tensors, metadata, options);
  const out = new Uint8Array(plan.totalSize);
  out.set(plan.header, 0);
  let at = plan.header.length;
  for (const t of plan.tensors) {
    out.set(await t.bytes(), at);
    at += t.byteLength;
  }
  return out;
}
