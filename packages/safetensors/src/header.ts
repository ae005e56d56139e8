import type { SafetensorsDType } from './dtypes.js';
import { DTYPES, isSafetensorsDType, UNSUPPORTED_DTYPES } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import type { JsonObject, JsonValue } from './json.js';
import { parseJson } from './json.js';

/** The reference implementation's header limit (100 MB), the default for {@link ParseOptions.maxHeaderSize}. */
export const DEFAULT_MAX_HEADER_SIZE = 100_000_000;

/** Options for parsing a safetensors file. */
export interface ParseOptions {
  /** Largest accepted header, in bytes. Default {@link DEFAULT_MAX_HEADER_SIZE} (100 MB). */
  maxHeaderSize?: number;
  /**
   * Reject unused bytes between tensors (`GAP`) or after the last one (`TRAILING_DATA`), as the reference Rust
   * implementation does. Default `false`: such gaps are harmless and are reported in {@link SafetensorsHeader.gaps}.
   */
  strict?: boolean;
}

/** Where one tensor lives in a safetensors file, validated. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** `[begin, end)` in bytes, relative to the start of the data buffer (i.e. to {@link SafetensorsHeader.dataOffset}). */
  readonly dataOffsets: readonly [number, number];
  /** `end − begin`, equal to `size · itemsize(dtype)`. */
  readonly byteLength: number;
  /** Number of elements: the product of `shape` (1 for a scalar). */
  readonly size: number;
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** The header's JSON length N in bytes (from the 8-byte prefix). */
  readonly headerLength: number;
  /** Absolute byte position of the data buffer in the file: `8 + N`. */
  readonly dataOffset: number;
  /** Length of the data buffer: file size − 8 − N. */
  readonly dataLength: number;
  /** Tensors by name. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Tensor names in file order (by data offset, then name). */
  readonly names: readonly string[];
  /** The `__metadata__` string map, or `null` when the file has none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** Unused byte ranges `[begin, end)` of the data buffer (relative offsets), including any after the last tensor. */
  readonly gaps: readonly (readonly [number, number])[];
}

/** True when the first bytes look like a pickle stream or a zip archive (`torch.save`'s formats). */
export function looksLikePickle(prefix: Uint8Array): boolean {
  if (prefix.length >= 2 && prefix[0] === 0x80 && prefix[1]! >= 2 && prefix[1]! <= 5) return true; // PROTO opcode
  if (prefix.length >= 4 && prefix[0] === 0x50 && prefix[1] === 0x4b && prefix[2] === 0x03 && prefix[3] === 0x04) {
    return true; // PK\x03\x04: torch zip checkpoint
  }
  return false;
}

function pickleRefused(what: string): SafetensorsError {
  return new SafetensorsError(
    'PICKLE_REFUSED',
    `${what} looks like a pickle/torch.save checkpoint, not safetensors; pickle checkpoints can run arbitrary code ` +
      'when loaded and are not supported. Convert it to safetensors with Python first.',
  );
}

/**
 * Read the header length N from the first 8 bytes of a file of `fileSize` bytes, and check it: N must be at most
 * `maxHeaderSize` and fit in the file. Nothing is allocated from N before this check passes.
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, options: ParseOptions = {}): number {
  const max = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new SafetensorsError('BAD_ARGUMENT', `invalid file size ${fileSize}`);
  }
  if (fileSize < 8 || prefix.length < 8) {
    if (looksLikePickle(prefix)) throw pickleRefused('the file');
    throw new SafetensorsError('TRUNCATED', `file of ${fileSize} bytes is too short for the 8-byte header length`);
  }
  const lo = (prefix[0]! | (prefix[1]! << 8) | (prefix[2]! << 16) | (prefix[3]! << 24)) >>> 0;
  const hi = (prefix[4]! | (prefix[5]! << 8) | (prefix[6]! << 16) | (prefix[7]! << 24)) >>> 0;
  // hi ≥ 2^21 means N ≥ 2^53: report without computing an inexact number.
  const n = hi >= 0x200000 ? Number.POSITIVE_INFINITY : hi * 0x100000000 + lo;
  if (n > max) {
    if (looksLikePickle(prefix)) throw pickleRefused('the file');
    throw new SafetensorsError(
      'HEADER_TOO_LARGE',
      `header length ${hi >= 0x200000 ? `${BigInt(hi) * 0x100000000n + BigInt(lo)}` : n} exceeds the limit of ${max} bytes`,
    );
  }
  if (n > fileSize - 8) {
    if (looksLikePickle(prefix)) throw pickleRefused('the file');
    throw new SafetensorsError('TRUNCATED', `header length ${n} exceeds the ${fileSize - 8} bytes after the prefix`);
  }
  if (n === 0) throw new SafetensorsError('BAD_JSON', 'empty header');
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parse and validate the JSON header (the N bytes after the 8-byte prefix) of a file of `fileSize` bytes.
 * Checks every entry (known dtype; shape of non-negative safe integers; integer offsets with begin ≤ end ≤ data
 * length; byte length = elements · itemsize), unique names, no overlapping tensors, and `__metadata__` being a string
 * map. Throws {@link SafetensorsError} on the first problem.
 */
export function parseHeader(json: Uint8Array, fileSize: number, options: ParseOptions = {}): SafetensorsHeader {
  const n = json.length;
  const dataLength = fileSize - 8 - n;
  if (!Number.isSafeInteger(dataLength) || dataLength < 0) {
    throw new SafetensorsError('TRUNCATED', `header of ${n} bytes does not fit in a file of ${fileSize} bytes`);
  }
  let text: string;
  try {
    text = utf8.decode(json);
  } catch (e) {
    throw new SafetensorsError('BAD_UTF8', 'header is not valid UTF-8', { cause: e });
  }
  const root = parseJson(text);
  if (!(root instanceof Map)) throw new SafetensorsError('BAD_HEADER', 'header JSON is not an object');

  let metadata: Record<string, string> | null = null;
  const entries: TensorInfo[] = [];
  const tensors = new Map<string, TensorInfo>();
  for (const [name, value] of root) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value);
      continue;
    }
    const info = parseEntry(name, value, dataLength);
    entries.push(info);
    tensors.set(name, info);
  }

  // Overlaps and gaps: sort by (begin, end, name), sweep.
  entries.sort(
    (a, b) =>
      a.dataOffsets[0] - b.dataOffsets[0] ||
      a.dataOffsets[1] - b.dataOffsets[1] ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const gaps: [number, number][] = [];
  let cursor = 0;
  let last: TensorInfo | null = null;
  for (const t of entries) {
    const [b, e] = t.dataOffsets;
    if (b === e) continue; // empty tensors occupy no bytes
    if (b < cursor) {
      throw new SafetensorsError(
        'OVERLAP',
        `tensor ${JSON.stringify(t.name)} [${b}, ${e}) overlaps tensor ${JSON.stringify(last!.name)} [${last!.dataOffsets[0]}, ${last!.dataOffsets[1]})`,
        { tensor: t.name },
      );
    }
    if (b > cursor) {
      if (options.strict) {
        throw new SafetensorsError('GAP', `unused bytes [${cursor}, ${b}) before tensor ${JSON.stringify(t.name)}`, {
          tensor: t.name,
        });
      }
      gaps.push([cursor, b]);
    }
    cursor = e;
    last = t;
  }
  if (cursor < dataLength) {
    if (options.strict) {
      throw new SafetensorsError('TRAILING_DATA', `${dataLength - cursor} unused bytes after the last tensor`);
    }
    gaps.push([cursor, dataLength]);
  }
  return {
    headerLength: n,
    dataOffset: 8 + n,
    dataLength,
    tensors,
    names: entries.map((t) => t.name),
    metadata,
    gaps,
  };
}

function parseMetadata(value: JsonValue): Record<string, string> | null {
  if (value === null) return null;
  if (!(value instanceof Map)) throw new SafetensorsError('BAD_METADATA', '__metadata__ is not an object');
  const out: Record<string, string> = {};
  for (const [k, v] of value) {
    if (typeof v !== 'string') {
      throw new SafetensorsError('BAD_METADATA', `__metadata__[${JSON.stringify(k)}] is not a string`);
    }
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function isUnsignedInt(v: JsonValue): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && !Object.is(v, -0);
}

function parseEntry(name: string, value: JsonValue, dataLength: number): TensorInfo {
  const q = JSON.stringify(name);
  if (!(value instanceof Map)) {
    throw new SafetensorsError('BAD_HEADER', `entry ${q} is not an object`, { tensor: name });
  }
  const obj: JsonObject = value;
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!obj.has(field)) throw new SafetensorsError('BAD_HEADER', `entry ${q} has no ${field}`, { tensor: name });
  }
  const dtype = obj.get('dtype')!;
  if (!isSafetensorsDType(dtype)) {
    if (typeof dtype === 'string' && UNSUPPORTED_DTYPES.includes(dtype)) {
      throw new SafetensorsError('UNSUPPORTED_DTYPE', `tensor ${q} has dtype ${dtype}, which is not supported`, {
        tensor: name,
      });
    }
    throw new SafetensorsError(
      'BAD_DTYPE',
      `tensor ${q} has unknown dtype ${typeof dtype === 'string' ? JSON.stringify(dtype) : `of type ${typeof dtype}`}`,
      { tensor: name },
    );
  }
  const shapeV = obj.get('shape')!;
  if (!Array.isArray(shapeV) || !shapeV.every(isUnsignedInt)) {
    throw new SafetensorsError('BAD_SHAPE', `tensor ${q}: shape must be an array of non-negative integers`, {
      tensor: name,
    });
  }
  const shape = shapeV as number[];
  let size = 1;
  if (shape.includes(0)) size = 0;
  else {
    for (const d of shape) {
      size *= d;
      if (size > Number.MAX_SAFE_INTEGER) {
        throw new SafetensorsError('BAD_SHAPE', `tensor ${q}: element count of shape [${shape}] overflows`, {
          tensor: name,
        });
      }
    }
  }
  const offs = obj.get('data_offsets')!;
  if (!Array.isArray(offs) || offs.length !== 2 || !isUnsignedInt(offs[0]!) || !isUnsignedInt(offs[1]!)) {
    throw new SafetensorsError('BAD_OFFSETS', `tensor ${q}: data_offsets must be [begin, end] non-negative integers`, {
      tensor: name,
    });
  }
  const begin = offs[0] as number;
  const end = offs[1] as number;
  if (begin > end) {
    throw new SafetensorsError('BAD_OFFSETS', `tensor ${q}: data_offsets [${begin}, ${end}] has begin > end`, {
      tensor: name,
    });
  }
  const nbytes = size * DTYPES[dtype].itemsize;
  if (end - begin !== nbytes) {
    throw new SafetensorsError(
      'SIZE_MISMATCH',
      `tensor ${q}: ${dtype}[${shape}] needs ${nbytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      { tensor: name },
    );
  }
  if (end > dataLength) {
    throw new SafetensorsError(
      'TRUNCATED',
      `tensor ${q} ends at byte ${end} of the data buffer, which holds only ${dataLength} bytes`,
      { tensor: name },
    );
  }
  return { name, dtype, shape, dataOffsets: [begin, end], byteLength: nbytes, size };
}
