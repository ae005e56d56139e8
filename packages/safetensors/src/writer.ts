import type { TensorValues } from './convert.js';
import { encodeValues, inferDType } from './convert.js';
import type { SafetensorsDType } from './dtypes.js';
import { DTYPES, isSafetensorsDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import { DEFAULT_MAX_HEADER_SIZE } from './header.js';

/** A tensor to write, given as element values (encoded to `dtype`, rounding floats to nearest-even). */
export interface TensorData {
  /** Stored dtype. Default: from the typed array (Float32Array → F32, Int32Array → I32, BigInt64Array → I64, …;
   * a plain number[] → F32, boolean[] → BOOL, bigint[] → I64). */
  dtype?: SafetensorsDType;
  shape: readonly number[];
  /** `product(shape)` values in C order. */
  data: TensorValues;
}

/** A tensor to write, given as its stored bytes (little-endian, C order); a {@link RawTensor} is one. */
export interface RawTensorData {
  dtype: SafetensorsDType;
  shape: readonly number[];
  /** Exactly `product(shape) · itemsize(dtype)` bytes. */
  bytes: Uint8Array;
}

/** What the writers accept per tensor. */
export type WritableTensor = TensorData | RawTensorData;

/** Tensors to write, by name. */
export type WritableTensors = Readonly<Record<string, WritableTensor>> | ReadonlyMap<string, WritableTensor>;

/**
 * One tensor in a {@link SafetensorsPlan}: its place in the file, and how to produce its bytes (possibly
 * asynchronously, e.g. reading back a GPU tensor), so that files can be written one tensor at a time.
 */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** `[begin, end)` relative to the data buffer. */
  readonly dataOffsets: readonly [number, number];
  readonly byteLength: number;
  /** Produce exactly `byteLength` bytes. */
  bytes(): Uint8Array | Promise<Uint8Array>;
}

/** The layout of a file to write: its 8-byte prefix + header, then the tensors in order. */
export interface SafetensorsPlan {
  /** The first `8 + N` bytes of the file: the little-endian u64 N and the space-padded JSON header. */
  readonly header: Uint8Array;
  /** Tensors in file order; their bytes follow the header contiguously. */
  readonly tensors: readonly PlannedTensor[];
  /** Total file size in bytes. */
  readonly totalSize: number;
}

/** A tensor to plan: name, dtype, shape and a byte producer (its length is checked when produced). */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  bytes(): Uint8Array | Promise<Uint8Array>;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Compare strings by Unicode code point (= UTF-8 byte order, which is how Rust orders `String`s). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (code points ≥ U+10000) sort after every BMP code unit
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function checkName(name: string): void {
  if (typeof name !== 'string') throw new SafetensorsError('BAD_ARGUMENT', 'tensor names must be strings');
  if (name === '__metadata__') {
    throw new SafetensorsError('BAD_ARGUMENT', '"__metadata__" is reserved and cannot name a tensor', { tensor: name });
  }
  if (LONE_SURROGATE.test(name)) {
    throw new SafetensorsError('BAD_ARGUMENT', `tensor name ${JSON.stringify(name)} is not valid Unicode`, {
      tensor: name,
    });
  }
}

function elementCount(name: string, shape: readonly number[]): number {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SafetensorsError('BAD_SHAPE', `tensor ${JSON.stringify(name)}: shape must be non-negative integers`, {
      tensor: name,
    });
  }
  let size = 1;
  for (const d of shape) size *= d;
  if (!Number.isSafeInteger(size)) {
    throw new SafetensorsError('BAD_SHAPE', `tensor ${JSON.stringify(name)}: shape [${shape}] is too large`, {
      tensor: name,
    });
  }
  return size;
}

function checkMetadata(metadata: Readonly<Record<string, string>> | null | undefined): [string, string][] | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object') throw new SafetensorsError('BAD_METADATA', 'metadata must be an object');
  const entries = Object.entries(metadata);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') {
      throw new SafetensorsError('BAD_METADATA', `metadata[${JSON.stringify(k)}] must be a string, got ${typeof v}`);
    }
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v)) {
      throw new SafetensorsError('BAD_METADATA', `metadata[${JSON.stringify(k)}] is not valid Unicode`);
    }
  }
  return entries.sort((a, b) => compareCodePoints(a[0], b[0]));
}

/**
 * Lay out a safetensors file the way the reference implementation (`safetensors.torch.save_file`) does: tensors
 * sorted by dtype alignment, largest first (U64, I64, F64, C64, F32, U32, I32, BF16, F16, U16, I16, FP8, I8, U8,
 * BOOL), then by name (code point order); data offsets contiguous from 0; compact JSON with `__metadata__` first (its
 * keys sorted, an addition: the reference writes a hash map in arbitrary order) and the tensors in file order; the
 * header padded with spaces to a multiple of 8 bytes. For the same tensors this gives byte-identical files.
 */
export function planSafetensors(
  specs: Iterable<TensorSpec>,
  metadata?: Readonly<Record<string, string>> | null,
): SafetensorsPlan {
  const list = [...specs];
  const names = new Set<string>();
  for (const s of list) {
    checkName(s.name);
    if (names.has(s.name)) {
      throw new SafetensorsError('DUPLICATE_NAME', `tensor ${JSON.stringify(s.name)} given twice`, { tensor: s.name });
    }
    names.add(s.name);
    if (!isSafetensorsDType(s.dtype)) {
      throw new SafetensorsError('BAD_DTYPE', `tensor ${JSON.stringify(s.name)}: unknown dtype ${String(s.dtype)}`, {
        tensor: s.name,
      });
    }
  }
  list.sort((a, b) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || compareCodePoints(a.name, b.name));
  const meta = checkMetadata(metadata);

  let offset = 0;
  const tensors: PlannedTensor[] = [];
  const parts: string[] = [];
  if (meta)
    parts.push(`"__metadata__":{${meta.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  for (const s of list) {
    const size = elementCount(s.name, s.shape);
    const byteLength = size * DTYPES[s.dtype].itemsize;
    if (!Number.isSafeInteger(offset + byteLength)) {
      throw new SafetensorsError('BAD_ARGUMENT', 'total tensor size is too large', { tensor: s.name });
    }
    const dataOffsets = [offset, offset + byteLength] as const;
    offset += byteLength;
    const shape = [...s.shape];
    parts.push(
      `${JSON.stringify(s.name)}:{"dtype":"${s.dtype}","shape":[${shape.join(',')}],"data_offsets":[${dataOffsets[0]},${dataOffsets[1]}]}`,
    );
    const produce = s.bytes;
    const checked = (b: Uint8Array): Uint8Array => {
      if (!(b instanceof Uint8Array) || b.length !== byteLength) {
        throw new SafetensorsError(
          'BAD_ARGUMENT',
          `tensor ${JSON.stringify(s.name)}: ${s.dtype}[${shape}] needs ${byteLength} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`,
          { tensor: s.name },
        );
      }
      return b;
    };
    tensors.push({
      name: s.name,
      dtype: s.dtype,
      shape,
      dataOffsets,
      byteLength,
      bytes: () => {
        const b = produce.call(s);
        return b instanceof Promise ? b.then(checked) : checked(b);
      },
    });
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const n = Math.ceil(json.length / 8) * 8;
  if (n > DEFAULT_MAX_HEADER_SIZE) {
    throw new SafetensorsError('HEADER_TOO_LARGE', `header of ${n} bytes exceeds ${DEFAULT_MAX_HEADER_SIZE}`);
  }
  const header = new Uint8Array(8 + n);
  new DataView(header.buffer).setBigUint64(0, BigInt(n), true);
  header.set(json, 8);
  header.fill(0x20, 8 + json.length);
  return { header, tensors, totalSize: header.length + offset };
}

/** Turn one {@link WritableTensor} into a {@link TensorSpec}, checking its size against its shape. */
export function toTensorSpec(name: string, t: WritableTensor): TensorSpec {
  if (t === null || typeof t !== 'object') {
    throw new SafetensorsError('BAD_ARGUMENT', `tensor ${JSON.stringify(name)}: expected {dtype, shape, data|bytes}`, {
      tensor: name,
    });
  }
  const size = elementCount(name, t.shape);
  if ('bytes' in t && t.bytes !== undefined) {
    if (!isSafetensorsDType(t.dtype)) {
      throw new SafetensorsError('BAD_DTYPE', `tensor ${JSON.stringify(name)}: unknown dtype ${String(t.dtype)}`, {
        tensor: name,
      });
    }
    const bytes = t.bytes;
    if (!(bytes instanceof Uint8Array) || bytes.length !== size * DTYPES[t.dtype].itemsize) {
      throw new SafetensorsError(
        'BAD_ARGUMENT',
        `tensor ${JSON.stringify(name)}: ${t.dtype}[${t.shape}] needs ${size * DTYPES[t.dtype].itemsize} bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
        { tensor: name },
      );
    }
    return { name, dtype: t.dtype, shape: t.shape, bytes: () => bytes };
  }
  const data = (t as TensorData).data;
  if (data === null || typeof data !== 'object' || typeof data.length !== 'number') {
    throw new SafetensorsError('BAD_ARGUMENT', `tensor ${JSON.stringify(name)}: data must be an array of values`, {
      tensor: name,
    });
  }
  const dtype = t.dtype ?? inferDType(data);
  if (!isSafetensorsDType(dtype)) {
    throw new SafetensorsError('BAD_DTYPE', `tensor ${JSON.stringify(name)}: unknown dtype ${String(dtype)}`, {
      tensor: name,
    });
  }
  if (data.length !== size) {
    throw new SafetensorsError(
      'BAD_ARGUMENT',
      `tensor ${JSON.stringify(name)}: ${data.length} values do not fill shape [${t.shape}]`,
      { tensor: name },
    );
  }
  if (dtype === 'F8_E8M0' || dtype === 'C64') encodeValues(name, dtype, data); // throws: raw bytes only
  return { name, dtype, shape: t.shape, bytes: () => encodeValues(name, dtype, data) };
}

function entriesOf(tensors: WritableTensors): [string, WritableTensor][] {
  if (tensors instanceof Map) return [...tensors.entries()];
  if (tensors === null || typeof tensors !== 'object') {
    throw new SafetensorsError('BAD_ARGUMENT', 'expected a record or Map of tensors');
  }
  return Object.entries(tensors as Record<string, WritableTensor>);
}

/** {@link planSafetensors} for a record (or Map) of {@link WritableTensor}s. */
export function planTensors(
  tensors: WritableTensors,
  metadata?: Readonly<Record<string, string>> | null,
): SafetensorsPlan {
  return planSafetensors(
    entriesOf(tensors).map(([name, t]) => toTensorSpec(name, t)),
    metadata,
  );
}

/**
 * Serialize tensors to safetensors bytes in memory, in the reference layout (see {@link planSafetensors}).
 *
 * ```ts
 * const bytes = serialize({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 *                           h: { dtype: 'F16', shape: [2], data: [0.5, -1] } }, { format: 'pt' });
 * ```
 */
export function serialize(tensors: WritableTensors, metadata?: Readonly<Record<string, string>> | null): Uint8Array {
  const plan = planTensors(tensors, metadata);
  const out = new Uint8Array(plan.totalSize);
  out.set(plan.header, 0);
  let at = plan.header.length;
  for (const t of plan.tensors) {
    out.set(t.bytes() as Uint8Array, at);
    at += t.byteLength;
  }
  return out;
}
