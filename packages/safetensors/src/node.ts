/**
 * `@peftjs/safetensors/node`: safetensors files and checkpoint directories on a Node file system.
 *
 * Opening reads only the header (`fs.open` + a read of `8 + N` bytes); each tensor is read at its offset when asked
 * for, so a checkpoint never has to fit in memory twice. Sharded checkpoints (`model.safetensors.index.json`) are
 * opened as one {@link TensorReader}. Writes stream one tensor at a time to a temporary file that is renamed into
 * place. Pickle checkpoints (`*.bin`, `*.pt`, `*.pth`, `*.ckpt`, …) are refused with `PICKLE_REFUSED`.
 *
 * ```ts
 * import { loadFile, openCheckpoint, saveFile } from '@peftjs/safetensors/node';
 * const base = await loadFile('models/llama');                      // dir, file, or *.index.json → Record<string, Tensor>
 * await using ckpt = await openCheckpoint('models/llama');          // lazy: TensorReader
 * const q = await ckpt.read('model.layers.0.self_attn.q_proj.weight');
 * await saveFile('out/adapter_model.safetensors', adapterTensors, { format: 'pt' });
 * ```
 * @packageDocumentation
 */
import { readSync as fsReadSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@peftjs/tensor';
import { allocBytes } from './alloc.js';
import { SafetensorsError } from './errors.js';
import type { ParseOptions } from './header.js';
import { DEFAULT_MAX_HEADER_SIZE } from './header.js';
import type { TensorReader } from './reader.js';
import { SafetensorsReader } from './reader.js';
import { isPickleCheckpointName, parseShardIndex, pickleRefusedError, ShardedReader } from './sharded.js';
import type { ByteSource } from './source.js';
import type { LoadTensorsOptions, SaveTensorsOptions, TensorRecord } from './tensors.js';
import { loadTensors, planTensorRecord, tensorRecordSpecs } from './tensors.js';
import type { SafetensorsPlan, TensorSpec, WritableTensors } from './writer.js';
import { planSafetensors, planTensors, toTensorSpec } from './writer.js';

function fsError(e: unknown, path: string, what: string): SafetensorsError {
  if (e instanceof SafetensorsError) return e.withFile(path);
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SafetensorsError('NOT_FOUND', `${what}: no such file or directory`, { file: path, cause: e });
  }
  return new SafetensorsError('IO_ERROR', `${what}: ${(e as Error)?.message ?? String(e)}`, { file: path, cause: e });
}

/** A {@link ByteSource} over an open file handle. */
export interface FileSource extends ByteSource {
  readonly name: string;
  close(): Promise<void>;
}

/**
 * Open `path` for random-access reads (read-only). Reads allocate exactly the bytes asked for; `readSync` is
 * available too. Pickle checkpoint names are refused before the file is opened.
 */
export async function fileSource(path: string): Promise<FileSource> {
  if (isPickleCheckpointName(path)) throw pickleRefusedError(path).withFile(path);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fsError(e, path, 'cannot open');
  }
  let size: number;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SafetensorsError('BAD_ARGUMENT', 'not a regular file', { file: path });
    size = st.size;
  } catch (e) {
    await fh.close().catch(() => {});
    throw fsError(e, path, 'cannot stat');
  }
  const fd = fh.fd;
  let closed = false;
  return {
    name: path,
    size,
    freshReads: true,
    async read(offset: number, length: number): Promise<Uint8Array> {
      const buf = allocBytes(length);
      let done = 0;
      try {
        while (done < length) {
          const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
      } catch (e) {
        throw fsError(e, path, 'read failed');
      }
      return done === length ? buf : buf.subarray(0, done);
    },
    readSync(offset: number, length: number): Uint8Array {
      const buf = allocBytes(length);
      let done = 0;
      try {
        while (done < length) {
          const n = fsReadSync(fd, buf, done, length - done, offset + done);
          if (n === 0) break;
          done += n;
        }
      } catch (e) {
        throw fsError(e, path, 'read failed');
      }
      return done === length ? buf : buf.subarray(0, done);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

/** Open one safetensors file lazily: reads and validates its header only. Close it when done (or `await using`). */
export async function openFile(path: string, options: ParseOptions = {}): Promise<SafetensorsReader> {
  const source = await fileSource(path);
  try {
    return await SafetensorsReader.open(source, options);
  } catch (e) {
    await source.close();
    throw e;
  }
}

/** Options for {@link openCheckpoint} and {@link loadFile}. */
export interface OpenCheckpointOptions extends ParseOptions {
  /** In a directory, open this file (a `.safetensors` file or a `.safetensors.index.json`) instead of searching. */
  filename?: string;
}

/** File names tried first in a checkpoint directory, in order. */
export const CHECKPOINT_FILE_NAMES: readonly string[] = [
  'model.safetensors.index.json',
  'model.safetensors',
  'adapter_model.safetensors',
];

/** Read and validate a sharded checkpoint index, then open every shard it names (from the index's directory). */
export async function openShardIndex(indexPath: string, options: ParseOptions = {}): Promise<ShardedReader> {
  if (isPickleCheckpointName(indexPath)) throw pickleRefusedError(indexPath).withFile(indexPath);
  const source = await fileSource(indexPath);
  let text: Uint8Array;
  try {
    const max = options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE;
    if (source.size > max) {
      throw new SafetensorsError('BAD_INDEX', `index of ${source.size} bytes is larger than ${max} bytes`);
    }
    text = await source.read(0, source.size);
    if (text.length !== source.size) throw new SafetensorsError('TRUNCATED', 'index changed while reading');
  } catch (e) {
    throw fsError(e, indexPath, 'cannot read index');
  } finally {
    await source.close();
  }
  let index: ReturnType<typeof parseShardIndex>;
  try {
    index = parseShardIndex(text);
  } catch (e) {
    throw fsError(e, indexPath, 'invalid index');
  }
  const dir = dirname(indexPath);
  return ShardedReader.open(index, (file) => openFile(join(dir, file), options));
}

/**
 * Open a checkpoint lazily, whatever its layout:
 * - a `.safetensors` file → a {@link SafetensorsReader};
 * - a `*.safetensors.index.json` → a {@link ShardedReader} over its shards;
 * - a directory → `options.filename` if given, else the first of `model.safetensors.index.json`,
 *   `model.safetensors`, `adapter_model.safetensors`, else its only `*.safetensors.index.json` or only
 *   `*.safetensors` file. A directory holding only pickle checkpoints (`pytorch_model.bin`, …) is `PICKLE_REFUSED`;
 *   one holding nothing usable is `NOT_FOUND`; several candidates without a preferred name is `BAD_ARGUMENT`.
 *
 * Only headers are read. Close the reader when done (or use `await using`).
 */
export async function openCheckpoint(path: string, options: OpenCheckpointOptions = {}): Promise<TensorReader> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    throw fsError(e, path, 'cannot open checkpoint');
  }
  if (!st.isDirectory()) {
    if (isPickleCheckpointName(path)) throw pickleRefusedError(path).withFile(path);
    if (path.endsWith('.index.json')) return openShardIndex(path, options);
    return openFile(path, options);
  }
  if (options.filename !== undefined) {
    if (basename(options.filename) !== options.filename) {
      throw new SafetensorsError(
        'BAD_ARGUMENT',
        `filename ${JSON.stringify(options.filename)} must be a plain file name`,
      );
    }
    return openCheckpoint(join(path, options.filename), { ...options, filename: undefined });
  }
  let entries: string[];
  try {
    entries = (await readdir(path)).sort();
  } catch (e) {
    throw fsError(e, path, 'cannot list checkpoint directory');
  }
  const names = new Set(entries);
  for (const f of CHECKPOINT_FILE_NAMES) if (names.has(f)) return openCheckpoint(join(path, f), options);
  const indexes = entries.filter((f) => f.endsWith('.safetensors.index.json'));
  if (indexes.length === 1) return openShardIndex(join(path, indexes[0]!), options);
  const files = entries.filter((f) => f.endsWith('.safetensors'));
  if (indexes.length === 0 && files.length === 1) return openFile(join(path, files[0]!), options);
  if (indexes.length > 1 || files.length > 1) {
    throw new SafetensorsError(
      'BAD_ARGUMENT',
      `several checkpoints in the directory (${[...indexes, ...files].join(', ')}): pass options.filename`,
      { file: path },
    );
  }
  const pickles = entries.filter(isPickleCheckpointName);
  if (pickles.length > 0) throw pickleRefusedError(join(path, pickles[0]!)).withFile(path);
  throw new SafetensorsError('NOT_FOUND', 'no .safetensors checkpoint in the directory', { file: path });
}

/**
 * Load a checkpoint (file, sharded index, or directory: see {@link openCheckpoint}) into `@peftjs/tensor` tensors,
 * one tensor at a time.
 */
export async function loadFile(
  path: string,
  options: LoadTensorsOptions & OpenCheckpointOptions = {},
): Promise<Record<string, Tensor>> {
  const reader = await openCheckpoint(path, options);
  try {
    return await loadTensors(reader, options);
  } finally {
    await reader.close();
  }
}

/**
 * Write a planned file: the header, then each tensor's bytes as it is produced, into a temporary file in the same
 * directory that is renamed over `path` when complete (readers never see a partial file).
 */
export async function writePlan(path: string, plan: SafetensorsPlan): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await fh.write(plan.header, 0, plan.header.length, 0);
    let at = plan.header.length;
    for (const t of plan.tensors) {
      const bytes = await t.bytes();
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, at + done);
        done += bytesWritten;
      }
      at += bytes.length;
    }
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw fsError(e, path, 'write failed');
  }
}

/** Write tensors given as values or raw bytes (see `WritableTensor`) to a safetensors file, streaming. */
export async function writeSafetensors(
  path: string,
  tensors: WritableTensors,
  metadata?: Readonly<Record<string, string>> | null,
): Promise<void> {
  if (isPickleCheckpointName(path)) {
    throw new SafetensorsError('BAD_ARGUMENT', `refusing to write safetensors data to a pickle file name`, {
      file: path,
    });
  }
  await writePlan(path, planTensors(tensors, metadata));
}

/** Save `@peftjs/tensor` tensors to a safetensors file, reading each back from its backend as it is written. */
export async function saveFile(
  path: string,
  tensors: TensorRecord,
  metadata?: Readonly<Record<string, string>> | null,
  options: SaveTensorsOptions = {},
): Promise<void> {
  if (isPickleCheckpointName(path)) {
    throw new SafetensorsError('BAD_ARGUMENT', `refusing to write safetensors data to a pickle file name`, {
      file: path,
    });
  }
  await writePlan(path, planTensorRecord(tensors, metadata, options));
}

/** Options for {@link writeSharded} and {@link saveSharded}. */
export interface ShardOptions {
  /** Largest total tensor bytes per shard (a single larger tensor gets a shard of its own). */
  maxShardSize: number;
  /** File name prefix: shards are `<prefix>-00001-of-0000N.safetensors`, the index `<prefix>.safetensors.index.json`. Default `model`. */
  prefix?: string;
  /** `__metadata__` written into every shard (transformers writes `{ format: 'pt' }`). */
  metadata?: Readonly<Record<string, string>> | null;
  /** Extra entries for the index's `metadata` (next to `total_size`). */
  indexMetadata?: Readonly<Record<string, unknown>>;
}

/** What {@link writeSharded} wrote. */
export interface ShardedWriteResult {
  /** Path of the index file. */
  indexPath: string;
  /** Shard file names, in order. */
  files: string[];
  /** Tensor name → shard file name. */
  weightMap: Record<string, string>;
  /** Sum of all tensor byte lengths (the index's `metadata.total_size`). */
  totalSize: number;
}

async function writeShardedSpecs(dir: string, specs: TensorSpec[], options: ShardOptions): Promise<ShardedWriteResult> {
  const max = options.maxShardSize;
  if (!(max > 0)) throw new SafetensorsError('BAD_ARGUMENT', 'maxShardSize must be positive');
  const prefix = options.prefix ?? 'model';
  if (basename(prefix) !== prefix || prefix.length === 0) {
    throw new SafetensorsError('BAD_ARGUMENT', 'prefix must be a plain file name');
  }
  // Group in the given order, greedily (like transformers' shard splitting).
  const groups: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let currentSize = 0;
  let totalSize = 0;
  for (const s of specs) {
    const bytes = planSafetensors([s]).tensors[0]!.byteLength; // validates name/dtype/shape
    if (current.length > 0 && currentSize + bytes > max) {
      groups.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(s);
    currentSize += bytes;
    totalSize += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  const n = groups.length;
  const pad = (i: number): string => String(i).padStart(5, '0');
  const files = groups.map((_, i) => `${prefix}-${pad(i + 1)}-of-${pad(n)}.safetensors`);
  const plans = groups.map((g) => planSafetensors(g, options.metadata)); // validates duplicates within a shard
  const weightMap: Record<string, string> = {};
  const seen = new Set<string>();
  for (const g of groups) {
    for (const s of g) {
      if (seen.has(s.name)) {
        throw new SafetensorsError('DUPLICATE_NAME', `tensor ${JSON.stringify(s.name)} given twice`, {
          tensor: s.name,
        });
      }
      seen.add(s.name);
    }
  }
  const sortedNames = [...seen].sort();
  groups.forEach((g, i) => {
    for (const s of g) weightMap[s.name] = files[i]!;
  });
  for (let i = 0; i < n; i++) await writePlan(join(dir, files[i]!), plans[i]!);
  const index = {
    metadata: { ...(options.indexMetadata ?? {}), total_size: totalSize },
    weight_map: Object.fromEntries(sortedNames.map((k) => [k, weightMap[k]!])),
  };
  const indexPath = join(dir, `${prefix}.safetensors.index.json`);
  const body = new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`);
  const tmp = `${indexPath}.${process.pid}.tmp`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'w');
    await fh.write(body, 0, body.length, 0);
    await fh.close();
    fh = undefined;
    await rename(tmp, indexPath);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw fsError(e, indexPath, 'write failed');
  }
  return { indexPath, files, weightMap, totalSize };
}

/**
 * Write a sharded checkpoint into `dir` (which must exist): shards of at most `maxShardSize` tensor bytes, in the
 * given tensor order, plus a Hugging Face index (`{"metadata": {"total_size": …}, "weight_map": {…}}`, names sorted).
 */
export async function writeSharded(
  dir: string,
  tensors: WritableTensors,
  options: ShardOptions,
): Promise<ShardedWriteResult> {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  return writeShardedSpecs(
    dir,
    entries.map(([name, t]) => toTensorSpec(name, t)),
    options,
  );
}

/** {@link writeSharded} for `@peftjs/tensor` tensors. */
export async function saveSharded(
  dir: string,
  tensors: TensorRecord,
  options: ShardOptions & SaveTensorsOptions,
): Promise<ShardedWriteResult> {
  return writeShardedSpecs(dir, tensorRecordSpecs(tensors, options), options);
}

export type { TensorReader };
export { SafetensorsReader, ShardedReader };
