import { SafetensorsError } from './errors.js';

/**
 * Random access to the bytes of one safetensors file. The reader asks only for the 8-byte prefix, the header, and
 * each tensor's bytes when that tensor is read, so a source backed by a file or a `Blob` never holds the whole file.
 *
 * Implement this to read from anything else (HTTP range requests, IndexedDB, …).
 */
export interface ByteSource {
  /** Total size in bytes. */
  readonly size: number;
  /**
   * `length` bytes starting at `offset` (the reader only asks for ranges inside `[0, size)`). May return fewer bytes
   * only when the underlying data shrank; the reader reports that as `TRUNCATED`.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Synchronous variant, when the source can offer one (in-memory bytes and Node files do). */
  readSync?(offset: number, length: number): Uint8Array;
  /**
   * True when every `read` returns a new buffer that nobody else holds, so the reader may hand it out without a copy.
   * False (e.g. in-memory bytes, where reads are views of the caller's buffer): converted arrays are copies.
   */
  readonly freshReads: boolean;
  /** A name for error messages (a file path, a URL). */
  readonly name?: string;
  /** Release resources (a file handle). Called by `SafetensorsReader.close()`. */
  close?(): Promise<void> | void;
}

/**
 * A {@link ByteSource} over bytes in memory. Reads are zero-copy views of `data`; the reader never writes to them.
 * Works everywhere (browsers, workers, Node).
 */
export function bytesSource(data: Uint8Array | ArrayBuffer, name?: string): ByteSource {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  const readSync = (offset: number, length: number): Uint8Array => bytes.subarray(offset, offset + length);
  return {
    size: bytes.length,
    freshReads: false,
    name,
    readSync,
    read: async (offset, length) => readSync(offset, length),
  };
}

/** The subset of the DOM `Blob` this package uses (so that Node's and browsers' `Blob`/`File` both fit). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
  readonly name?: string;
}

/**
 * A {@link ByteSource} over a `Blob` or `File` (e.g. from an `<input type=file>` or a fetch response's `.blob()`):
 * only the header and the tensors actually read are loaded into memory.
 */
export function blobSource(blob: BlobLike, name?: string): ByteSource {
  return {
    size: blob.size,
    freshReads: true,
    name: name ?? blob.name,
    read: async (offset, length) => {
      const ab = await blob.slice(offset, offset + length).arrayBuffer();
      if (ab.byteLength > length) {
        throw new SafetensorsError('IO_ERROR', `Blob.slice returned ${ab.byteLength} bytes for ${length} asked`);
      }
      return new Uint8Array(ab);
    },
  };
}
