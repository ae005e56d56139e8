/**
 * Where the trainer keeps checkpoints, as an interface: the Node entry (`@peftjs/trainer/node`) has a directory store,
 * this module an IndexedDB one for pages. Both publish a checkpoint atomically, with a manifest of sizes and SHA-256
 * digests that `verify` checks, so a resume never reads a half-written or corrupted checkpoint.
 */

/** Name of the manifest written into every checkpoint (file sizes and SHA-256 digests). */
export const MANIFEST = 'checkpoint.json';
const NAME = /^checkpoint-(\d+)$/;

/** The name of the checkpoint after `step` steps (`checkpoint-000012`). */
export function checkpointName(step: number): string {
  return `checkpoint-${String(step).padStart(6, '0')}`;
}

/** The step of a checkpoint name (`checkpoint-000012` → 12), or null for any other name. */
export function checkpointStep(name: string): number | null {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : null;
}

/** A checkpoint of a store: its step and its id in the store (a directory path, a key). */
export interface CheckpointRef {
  step: number;
  path: string;
}

/** The manifest (`checkpoint.json`) of a checkpoint. */
export interface CheckpointManifest {
  format: 'peftjs-checkpoint';
  version: 1;
  step: number;
  files: Record<string, { bytes: number; sha256: string }>;
}

/**
 * A place the trainer writes checkpoints to and resumes from. Checkpoint ids (`path`) are opaque strings the store
 * hands out; `read` and `verify` accept any id the store gave.
 */
export interface CheckpointStore {
  /** Where the store is, for messages (a directory, `indexeddb:<name>`). */
  readonly location: string;
  /**
   * Publish the checkpoint of `step` atomically (a crash leaves no partial checkpoint under a checkpoint name) and
   * replace an existing one of the same step. Returns its id.
   */
  write(step: number, files: Record<string, Uint8Array | string>): Promise<string>;
  /** The checkpoints in the store (complete or not), oldest first. */
  list(): Promise<CheckpointRef[]>;
  /** Whether `path` is a complete checkpoint: its manifest's every file present with its size and digest. */
  verify(path: string): Promise<boolean>;
  /** The bytes of `file` in checkpoint `path`. */
  read(path: string, file: string): Promise<Uint8Array>;
  /** Delete all but the newest `keep` checkpoints; returns the ids removed. */
  prune(keep: number): Promise<string[]>;
  /** Remove what a crashed writer left behind (never a published checkpoint). */
  clean(): Promise<void>;
}

/** The newest complete checkpoint of `store`, or null. */
export async function latestStoredCheckpoint(store: CheckpointStore): Promise<CheckpointRef | null> {
  const all = await store.list();
  for (let i = all.length - 1; i >= 0; i--) if (await store.verify(all[i].path)) return all[i];
  return null;
}

/** Check a checkpoint file's name: relative, no `..` or empty parts, not the manifest. */
export function checkFileName(rel: string): void {
  if (rel === MANIFEST || rel.split('/').some((p) => p === '..' || p === '' || p === '.'))
    throw new Error(`checkpoint: bad file name '${rel}'`);
}

const toHex = (buf: ArrayBuffer) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** SHA-256 of `data` as hex, with WebCrypto (`crypto.subtle`: browsers, Deno, Node ≥ 19). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('checkpoint: WebCrypto (crypto.subtle) is not available; pages need a secure context');
  return toHex(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
}

/** The bytes of a checkpoint file's content (strings as UTF-8). */
export const fileBytes = (content: Uint8Array | string): Uint8Array =>
  typeof content === 'string' ? new TextEncoder().encode(content) : content;

/** Whether `manifest` is a peftjs checkpoint manifest whose files `read` gives back with their sizes and digests. */
export async function manifestHolds(
  manifest: CheckpointManifest,
  read: (file: string) => Promise<Uint8Array | null>,
  sha256: (data: Uint8Array) => string | Promise<string>,
): Promise<boolean> {
  if (manifest?.format !== 'peftjs-checkpoint' || typeof manifest.files !== 'object') return false;
  for (const [rel, info] of Object.entries(manifest.files)) {
    const data = await read(rel);
    if (!data || data.byteLength !== info.bytes || (await sha256(data)) !== info.sha256) return false;
  }
  return true;
}

/** Options of {@link IndexedDbCheckpointStore}. */
export interface IndexedDbCheckpointStoreOptions {
  /** Database name (default `peftjs-checkpoints`); one store per run: a fresh run refuses a store that holds one. */
  database?: string;
  /** The IndexedDB factory (default `globalThis.indexedDB`; tests pass a fake one). */
  indexedDB?: IDBFactory;
}

const FILES = 'files';

const request = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

const done = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('checkpoint: IndexedDB transaction aborted'));
  });

/**
 * Checkpoints in a page's IndexedDB. A checkpoint's files and its manifest are written in one transaction, so it is
 * published whole or not at all (IndexedDB transactions are atomic and durable); `verify` re-hashes every file with
 * WebCrypto. Records are keyed `checkpoint-000012/<file>`; ids are `checkpoint-000012`.
 */
export class IndexedDbCheckpointStore implements CheckpointStore {
  readonly location: string;
  private readonly name: string;
  private readonly factory: IDBFactory;
  private db: Promise<IDBDatabase> | null = null;

  constructor(opts: IndexedDbCheckpointStoreOptions = {}) {
    this.name = opts.database ?? 'peftjs-checkpoints';
    const factory = opts.indexedDB ?? globalThis.indexedDB;
    if (!factory) throw new Error('IndexedDbCheckpointStore: this environment has no IndexedDB');
    this.factory = factory;
    this.location = `indexeddb:${this.name}`;
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const r = this.factory.open(this.name, 1);
      r.onupgradeneeded = () => r.result.createObjectStore(FILES);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    return this.db;
  }

  /** Close the database connection (a later call opens it again). */
  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = null;
  }

  /** Delete the whole database (every checkpoint). */
  async destroy(): Promise<void> {
    await this.close();
    await request(this.factory.deleteDatabase(this.name) as IDBRequest<unknown>);
  }

  async write(step: number, files: Record<string, Uint8Array | string>): Promise<string> {
    const id = checkpointName(step);
    const manifest: CheckpointManifest = { format: 'peftjs-checkpoint', version: 1, step, files: {} };
    const records: [string, Uint8Array][] = [];
    for (const [rel, content] of Object.entries(files)) {
      checkFileName(rel);
      const data = fileBytes(content);
      manifest.files[rel] = { bytes: data.byteLength, sha256: await sha256Hex(data) };
      records.push([rel, data]);
    }
    // hash first (async), then one transaction: it must not wait on anything else or it auto-commits half-done
    const manifestBytes = fileBytes(`${JSON.stringify(manifest, null, 2)}\n`);
    await this.inTransaction([id], (os) => {
      for (const [rel, data] of records) os.put(data, `${id}/${rel}`);
      os.put(manifestBytes, `${id}/${MANIFEST}`);
    });
    return id;
  }

  /**
   * One readwrite transaction: delete every record of the checkpoints `clear`, then run `then` (which adds records).
   * All of it happens in request callbacks, so the transaction stays open and commits (or fails) as a whole.
   */
  private async inTransaction(clear: string[], then: (os: IDBObjectStore) => void): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(FILES, 'readwrite');
    const os = tx.objectStore(FILES);
    const keys = os.getAllKeys();
    keys.onsuccess = () => {
      for (const k of keys.result as string[]) if (clear.some((id) => k.startsWith(`${id}/`))) os.delete(k);
      then(os);
    };
    await done(tx);
  }

  async list(): Promise<CheckpointRef[]> {
    const db = await this.open();
    const keys = (await request(db.transaction(FILES).objectStore(FILES).getAllKeys())) as string[];
    const ids = new Set(keys.map((k) => k.slice(0, k.indexOf('/'))));
    return [...ids]
      .map((path) => ({ path, step: checkpointStep(path) }))
      .filter((c): c is CheckpointRef => c.step !== null)
      .sort((a, b) => a.step - b.step);
  }

  private async get(path: string, file: string): Promise<Uint8Array | null> {
    const db = await this.open();
    const v = await request(db.transaction(FILES).objectStore(FILES).get(`${path}/${file}`));
    return v instanceof Uint8Array ? v : v instanceof ArrayBuffer ? new Uint8Array(v) : null;
  }

  async verify(path: string): Promise<boolean> {
    try {
      const m = await this.get(path, MANIFEST);
      if (!m) return false;
      const manifest = JSON.parse(new TextDecoder().decode(m)) as CheckpointManifest;
      return await manifestHolds(manifest, (f) => this.get(path, f), sha256Hex);
    } catch {
      return false;
    }
  }

  async read(path: string, file: string): Promise<Uint8Array> {
    const data = await this.get(path, file);
    if (!data) throw new Error(`checkpoint: ${this.location}/${path} has no file '${file}'`);
    return data;
  }

  async prune(keep: number): Promise<string[]> {
    const all = await this.list();
    const drop = all.slice(0, Math.max(0, all.length - keep));
    if (!drop.length) return [];
    await this.inTransaction(
      drop.map((c) => c.path),
      () => {},
    );
    return drop.map((c) => c.path);
  }

  async clean(): Promise<void> {
    // writes are single transactions: nothing partial can be left behind
  }
}
