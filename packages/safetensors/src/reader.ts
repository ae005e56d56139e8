import type { TypedArrayFor } from '@peftjs/tensor';
import { allocBytes } from './alloc.js';
import { decodeBytes } from './convert.js';
import type { SafetensorsDType, TargetDType } from './dtypes.js';
import { defaultTargetDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import type { ParseOptions, SafetensorsHeader, TensorInfo } from './header.js';
import { parseHeader, readHeaderLength } from './header.js';
import type { BlobLike, ByteSource } from './source.js';
import { blobSource, bytesSource } from './source.js';

/** A tensor's bytes exactly as stored (little-endian, C order), with its safetensors dtype and shape. */
export interface RawTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /**
   * `size · itemsize(dtype)` bytes. For in-memory sources this is a view of the caller's buffer (do not write to it);
   * for file and Blob sources it is a fresh copy.
   */
  readonly bytes: Uint8Array;
}

/** A tensor converted to a `@peftjs/tensor` element type. `data` is always a new array the caller owns. */
export interface DecodedTensor<T extends TargetDType = TargetDType> {
  readonly name: string;
  /** The element type of `data`. */
  readonly dtype: T;
  /** The dtype the tensor was stored as. */
  readonly storedDType: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<T>;
}

/** Options for {@link TensorReader.read}. */
export interface ReadOptions<T extends TargetDType = TargetDType> {
  /**
   * Convert to this element type. Default: by stored dtype — floats (F64, F32, F16, BF16, FP8) → `f32`, integers
   * (I64, I32, I16, I8, U64, U32, U16, U8) → `i32` (range-checked), BOOL → `bool`.
   */
  dtype?: T;
}

/**
 * Lazy, random access to the tensors of a checkpoint: one safetensors file ({@link SafetensorsReader}) or a sharded
 * checkpoint ({@link ShardedReader}). Only headers are read up front; each `raw`/`read` reads that tensor's bytes.
 */
export interface TensorReader {
  /** The checkpoint's string metadata (`__metadata__` of a file), or `null` when there is none. */
  readonly metadata: Readonly<Record<string, string>> | null;
  /** All tensor names, in file order (sharded: in the index's order). */
  names(): string[];
  has(name: string): boolean;
  /** Dtype, shape and location of a tensor; throws `NOT_FOUND` for an unknown name. */
  info(name: string): TensorInfo;
  /** A tensor's stored bytes, without conversion. */
  raw(name: string): Promise<RawTensor>;
  /** A tensor converted to f32 / i32 / bool (see {@link ReadOptions.dtype}). */
  read<T extends TargetDType = TargetDType>(name: string, options?: ReadOptions<T>): Promise<DecodedTensor<T>>;
  /** Release file handles. Reading after `close()` is an error. */
  close(): Promise<void>;
}

/** Anything {@link SafetensorsReader.open} accepts: a byte source, bytes in memory, or a `Blob`/`File`. */
export type SafetensorsInput = ByteSource | Uint8Array | ArrayBuffer | BlobLike;

function isByteSource(x: SafetensorsInput): x is ByteSource {
  return typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).freshReads === 'boolean';
}

/** Turn any {@link SafetensorsInput} into a {@link ByteSource}. */
export function toByteSource(input: SafetensorsInput): ByteSource {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return bytesSource(input);
  if (isByteSource(input)) return input;
  if (typeof (input as BlobLike).slice === 'function') return blobSource(input as BlobLike);
  throw new SafetensorsError('BAD_ARGUMENT', 'expected a Uint8Array, ArrayBuffer, Blob or ByteSource');
}

function wrapIo(e: unknown, source: ByteSource): SafetensorsError {
  if (e instanceof SafetensorsError) return e;
  return new SafetensorsError('IO_ERROR', `reading ${source.name ?? 'the source'} failed: ${String(e)}`, {
    cause: e,
    file: source.name,
  });
}

function checkLength(got: Uint8Array, length: number, what: string, source: ByteSource): Uint8Array {
  if (!(got instanceof Uint8Array) || got.length !== length) {
    throw new SafetensorsError(
      'TRUNCATED',
      `${what}: read ${got instanceof Uint8Array ? got.length : 0} of ${length} bytes (did the file change?)`,
      { file: source.name },
    );
  }
  return got;
}

/**
 * One safetensors file, opened lazily: `open` reads and validates only the 8-byte prefix and the header; tensors are
 * read on demand, one at a time, at their offsets.
 *
 * ```ts
 * const r = await SafetensorsReader.open(bytes);        // or a Blob, or fileSource(path) from '@peftjs/safetensors/node'
 * r.names();                                            // ['lm_head.weight', …]
 * const { data, shape } = await r.read('lm_head.weight'); // Float32Array
 * ```
 */
export class SafetensorsReader implements TensorReader {
  /** The validated header. */
  readonly header: SafetensorsHeader;
  /** Where the bytes come from. */
  readonly source: ByteSource;
  #closed = false;

  private constructor(source: ByteSource, header: SafetensorsHeader) {
    this.source = source;
    this.header = header;
  }

  /** Open `input` and validate its header. Only `8 + N` bytes are read. */
  static async open(input: SafetensorsInput, options: ParseOptions = {}): Promise<SafetensorsReader> {
    const source = toByteSource(input);
    try {
      const size = source.size;
      const prefix = checkLength(await source.read(0, Math.min(8, size)), Math.min(8, size), 'prefix', source);
      const n = readHeaderLength(prefix, size, options);
      const json = checkLength(await source.read(8, n), n, 'header', source);
      return new SafetensorsReader(source, parseHeader(json, size, options));
    } catch (e) {
      const err = wrapIo(e, source);
      throw source.name !== undefined ? err.withFile(source.name) : err;
    }
  }

  /**
   * Synchronous {@link SafetensorsReader.open} for sources with `readSync` (in-memory bytes, Node files).
   * `SafetensorsReader.fromBytes(bytes)` is the browser-friendly entry point.
   */
  static openSync(input: ByteSource | Uint8Array | ArrayBuffer, options: ParseOptions = {}): SafetensorsReader {
    const source = toByteSource(input);
    const readSync = source.readSync;
    if (!readSync) throw new SafetensorsError('BAD_ARGUMENT', 'this source has no synchronous read');
    try {
      const size = source.size;
      const prefix = checkLength(readSync.call(source, 0, Math.min(8, size)), Math.min(8, size), 'prefix', source);
      const n = readHeaderLength(prefix, size, options);
      const json = checkLength(readSync.call(source, 8, n), n, 'header', source);
      return new SafetensorsReader(source, parseHeader(json, size, options));
    } catch (e) {
      const err = wrapIo(e, source);
      throw source.name !== undefined ? err.withFile(source.name) : err;
    }
  }

  /** Parse safetensors bytes held in memory (synchronous; zero-copy for raw access). */
  static fromBytes(data: Uint8Array | ArrayBuffer, options: ParseOptions = {}): SafetensorsReader {
    return SafetensorsReader.openSync(bytesSource(data), options);
  }

  get metadata(): Readonly<Record<string, string>> | null {
    return this.header.metadata;
  }

  names(): string[] {
    return [...this.header.names];
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.header.tensors.get(name);
    if (!info) {
      throw new SafetensorsError('NOT_FOUND', `no tensor named ${JSON.stringify(name)}`, {
        tensor: name,
        file: this.source.name,
      });
    }
    return info;
  }

  #check(): void {
    if (this.#closed) throw new SafetensorsError('BAD_ARGUMENT', 'reader is closed', { file: this.source.name });
  }

  async raw(name: string): Promise<RawTensor> {
    this.#check();
    const info = this.info(name);
    let bytes: Uint8Array;
    if (info.byteLength === 0) bytes = allocBytes(0);
    else {
      try {
        bytes = await this.source.read(this.header.dataOffset + info.dataOffsets[0], info.byteLength);
      } catch (e) {
        throw wrapIo(e, this.source);
      }
      checkLength(bytes, info.byteLength, `tensor ${JSON.stringify(name)}`, this.source);
    }
    return { name, dtype: info.dtype, shape: info.shape, bytes };
  }

  /** Synchronous {@link SafetensorsReader.raw} (sources with `readSync`). */
  rawSync(name: string): RawTensor {
    this.#check();
    const info = this.info(name);
    const readSync = this.source.readSync;
    if (!readSync) throw new SafetensorsError('BAD_ARGUMENT', 'this source has no synchronous read');
    let bytes: Uint8Array;
    if (info.byteLength === 0) bytes = allocBytes(0);
    else {
      try {
        bytes = readSync.call(this.source, this.header.dataOffset + info.dataOffsets[0], info.byteLength);
      } catch (e) {
        throw wrapIo(e, this.source);
      }
      checkLength(bytes, info.byteLength, `tensor ${JSON.stringify(name)}`, this.source);
    }
    return { name, dtype: info.dtype, shape: info.shape, bytes };
  }

  #decode<T extends TargetDType>(raw: RawTensor, options: ReadOptions<T>): DecodedTensor<T> {
    const info = this.info(raw.name);
    const target = (options.dtype ?? defaultTargetDType(info.dtype)) as T | undefined;
    if (target === undefined) {
      throw new SafetensorsError(
        'BAD_CONVERSION',
        `tensor ${JSON.stringify(raw.name)} is ${info.dtype}, which has no tensor dtype: use raw()`,
        { tensor: raw.name },
      );
    }
    const data = decodeBytes(info, raw.bytes, target, this.source.freshReads);
    return { name: raw.name, dtype: target, storedDType: info.dtype, shape: [...info.shape], data };
  }

  async read<T extends TargetDType = TargetDType>(
    name: string,
    options: ReadOptions<T> = {},
  ): Promise<DecodedTensor<T>> {
    return this.#decode(await this.raw(name), options);
  }

  /** Synchronous {@link SafetensorsReader.read} (sources with `readSync`). */
  readSync<T extends TargetDType = TargetDType>(name: string, options: ReadOptions<T> = {}): DecodedTensor<T> {
    return this.#decode(this.rawSync(name), options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.source.close?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
