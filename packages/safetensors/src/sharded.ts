import type { TargetDType } from './dtypes.js';
import { SafetensorsError } from './errors.js';
import type { TensorInfo } from './header.js';
import type { JsonValue } from './json.js';
import { JsonFloat, parseJson } from './json.js';
import type { DecodedTensor, RawTensor, ReadOptions, SafetensorsReader, TensorReader } from './reader.js';

/** A parsed `*.safetensors.index.json` (Hugging Face sharded checkpoint index). */
export interface ShardIndex {
  /** The index's `metadata` object as plain JSON (e.g. `{ total_size: 123 }`), or `null`. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** Tensor name → shard file name (relative to the index's directory). */
  readonly weightMap: ReadonlyMap<string, string>;
  /** The distinct shard files, in order of first appearance. */
  readonly files: readonly string[];
}

const PICKLE_EXTENSIONS = ['.bin', '.pt', '.pth', '.ckpt', '.pkl', '.pickle'];

/**
 * True for file names of pickle-based checkpoints (`pytorch_model.bin`, `*.pt`, `*.pth`, `*.ckpt`, `*.pkl`,
 * `*.pickle`, and their `.index.json` files), which this package refuses to read.
 */
export function isPickleCheckpointName(path: string): boolean {
  const p = path.toLowerCase().replace(/\.index\.json$/, '');
  return PICKLE_EXTENSIONS.some((ext) => p.endsWith(ext));
}

/** The `PICKLE_REFUSED` error for a pickle checkpoint file name. */
export function pickleRefusedError(path: string): SafetensorsError {
  return new SafetensorsError(
    'PICKLE_REFUSED',
    `${JSON.stringify(path)} is a pickle-based PyTorch checkpoint; pickle files can run arbitrary code when loaded and ` +
      'are not supported. Convert it to safetensors (e.g. `safetensors.torch.save_file(torch.load(path, ' +
      'weights_only=True), "model.safetensors")` in Python) or ask for the model\'s safetensors files.',
  );
}

function toPlain(v: JsonValue): unknown {
  if (v instanceof JsonFloat) return v.value;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) Object.defineProperty(o, k, { value: toPlain(x), enumerable: true, writable: true });
    return o;
  }
  return v;
}

/** Check that a shard file name is a plain file name in the index's own directory. */
function checkShardFile(file: string, tensor: string): void {
  if (isPickleCheckpointName(file)) throw pickleRefusedError(file);
  if (
    file.length === 0 ||
    file === '.' ||
    file === '..' ||
    /[/\\\0]/.test(file) ||
    /^[a-zA-Z]:/.test(file) ||
    !file.endsWith('.safetensors')
  ) {
    throw new SafetensorsError(
      'BAD_INDEX',
      `weight_map[${JSON.stringify(tensor)}] = ${JSON.stringify(file)} is not a .safetensors file name in the index's directory`,
      { tensor },
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parse and validate a sharded checkpoint index (`model.safetensors.index.json`):
 * `{"metadata": {...}, "weight_map": {tensor: "model-00001-of-00002.safetensors", ...}}`. Shard names must be plain
 * `.safetensors` file names (no directories, no `..`); pickle shards are refused (`PICKLE_REFUSED`).
 */
export function parseShardIndex(json: string | Uint8Array): ShardIndex {
  let text: string;
  if (typeof json === 'string') text = json;
  else {
    try {
      text = utf8.decode(json);
    } catch (e) {
      throw new SafetensorsError('BAD_UTF8', 'index file is not valid UTF-8', { cause: e });
    }
  }
  let root: JsonValue;
  try {
    root = parseJson(text);
  } catch (e) {
    if (e instanceof SafetensorsError && e.code === 'DUPLICATE_NAME') throw e;
    throw new SafetensorsError('BAD_INDEX', `index is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!(root instanceof Map)) throw new SafetensorsError('BAD_INDEX', 'index is not a JSON object');
  const meta = root.get('metadata');
  if (meta !== undefined && meta !== null && !(meta instanceof Map)) {
    throw new SafetensorsError('BAD_INDEX', 'index "metadata" is not an object');
  }
  const wm = root.get('weight_map');
  if (!(wm instanceof Map)) throw new SafetensorsError('BAD_INDEX', 'index has no "weight_map" object');
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  const seen = new Set<string>();
  for (const [name, file] of wm) {
    if (typeof file !== 'string') {
      throw new SafetensorsError('BAD_INDEX', `weight_map[${JSON.stringify(name)}] is not a string`, { tensor: name });
    }
    checkShardFile(file, name);
    weightMap.set(name, file);
    if (!seen.has(file)) {
      seen.add(file);
      files.push(file);
    }
  }
  return {
    metadata: meta instanceof Map ? (toPlain(meta) as Record<string, unknown>) : null,
    weightMap,
    files,
  };
}

/**
 * A sharded checkpoint: tensors spread over several safetensors files, located through the index's `weight_map`.
 * Every shard's header is opened and validated up front (only headers are read), and every name in the weight map
 * must exist in its shard (`BAD_INDEX` otherwise); tensor data is read on demand from the right shard.
 *
 * The node subpath's `openCheckpoint(dir)` builds one from a directory; elsewhere use {@link ShardedReader.open} with
 * a function that opens a shard by file name (e.g. over HTTP).
 */
export class ShardedReader implements TensorReader {
  readonly index: ShardIndex;
  /** Open readers by shard file name. */
  readonly shards: ReadonlyMap<string, SafetensorsReader>;
  /**
   * The index's metadata as strings: string values as they are, numbers and booleans converted with `String`
   * (e.g. `total_size`), other values left out. The full JSON is in `index.metadata`.
   */
  readonly metadata: Readonly<Record<string, string>> | null;

  private constructor(index: ShardIndex, shards: Map<string, SafetensorsReader>) {
    this.index = index;
    this.shards = shards;
    if (index.metadata === null) this.metadata = null;
    else {
      const m: Record<string, string> = {};
      for (const [k, v] of Object.entries(index.metadata)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
          Object.defineProperty(m, k, { value: String(v), enumerable: true, writable: true });
        }
      }
      this.metadata = m;
    }
  }

  /** Open every shard named by `index` with `openShard` (closing them all again if one fails). */
  static async open(
    index: ShardIndex,
    openShard: (file: string) => Promise<SafetensorsReader>,
  ): Promise<ShardedReader> {
    const shards = new Map<string, SafetensorsReader>();
    try {
      for (const file of index.files) shards.set(file, await openShard(file));
      for (const [name, file] of index.weightMap) {
        if (!shards.get(file)!.has(name)) {
          throw new SafetensorsError('BAD_INDEX', `tensor ${JSON.stringify(name)} is not in its shard ${file}`, {
            tensor: name,
            file,
          });
        }
      }
    } catch (e) {
      await Promise.allSettled([...shards.values()].map((s) => s.close()));
      throw e;
    }
    return new ShardedReader(index, shards);
  }

  names(): string[] {
    return [...this.index.weightMap.keys()];
  }

  has(name: string): boolean {
    return this.index.weightMap.has(name);
  }

  /** The shard file that holds `name`. */
  shardOf(name: string): string {
    const file = this.index.weightMap.get(name);
    if (file === undefined)
      throw new SafetensorsError('NOT_FOUND', `no tensor named ${JSON.stringify(name)}`, { tensor: name });
    return file;
  }

  /** The reader of the shard that holds `name`. */
  shardReader(name: string): SafetensorsReader {
    return this.shards.get(this.shardOf(name))!;
  }

  info(name: string): TensorInfo {
    return this.shardReader(name).info(name);
  }

  raw(name: string): Promise<RawTensor> {
    return this.shardReader(name).raw(name);
  }

  read<T extends TargetDType = TargetDType>(name: string, options?: ReadOptions<T>): Promise<DecodedTensor<T>> {
    return this.shardReader(name).read(name, options);
  }

  async close(): Promise<void> {
    await Promise.all([...this.shards.values()].map((s) => s.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
