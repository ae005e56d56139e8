import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type CheckpointManifest as Manifest,
  type CheckpointRef,
  type CheckpointStore,
  checkFileName,
  checkpointName,
  checkpointStep,
  fileBytes,
  MANIFEST,
  manifestHolds,
} from './checkpoint-store.js';

// Node-only: checkpoints as directories (`root/checkpoint-000012/`), written with fsync and an atomic rename.

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function writeSynced(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so the entries (new files, renames) in it are durable. Not possible everywhere (Windows). */
async function syncDir(path: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'r');
    await fh.sync();
  } catch {
    // directories cannot be opened for fsync on some platforms; the rename is still atomic there
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Test hooks of {@link writeCheckpoint}. */
export interface WriteCheckpointHooks {
  /** Runs after every file is written and synced, before the rename that publishes the checkpoint. */
  beforeCommit?: (tmpDir: string) => void | Promise<void>;
}

/**
 * Write a checkpoint atomically: every file goes into a temporary directory next to the target, is fsynced, a
 * manifest with sizes and digests is written last, the directory is fsynced and then renamed to
 * `root/checkpoint-<step>`. A crash at any point leaves earlier checkpoints untouched, and a half-written one is
 * never under a checkpoint name. Returns the checkpoint's path.
 */
export async function writeCheckpoint(
  root: string,
  step: number,
  files: Record<string, Uint8Array | string>,
  hooks: WriteCheckpointHooks = {},
): Promise<string> {
  await mkdir(root, { recursive: true });
  const name = checkpointName(step);
  const tmp = join(root, `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  const manifest: Manifest = { format: 'peftjs-checkpoint', version: 1, step, files: {} };
  const dirs = new Set<string>([tmp]);
  for (const [rel, content] of Object.entries(files)) {
    checkFileName(rel);
    const path = join(tmp, rel);
    const dir = dirname(path);
    if (!dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      dirs.add(dir);
    }
    const data = fileBytes(content);
    await writeSynced(path, data);
    manifest.files[rel] = { bytes: data.byteLength, sha256: sha256(data) };
  }
  await writeSynced(join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const d of [...dirs].reverse()) await syncDir(d);
  await hooks.beforeCommit?.(tmp);
  const target = join(root, name);
  const exists = await stat(target).then(
    () => true,
    () => false,
  );
  let trash: string | null = null;
  if (exists) {
    // a directory cannot be renamed over a non-empty one: move the old one aside first
    trash = join(root, `.trash-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await rename(target, trash);
  }
  await rename(tmp, target);
  await syncDir(root);
  if (trash) await rm(trash, { recursive: true, force: true });
  return target;
}

/** Checkpoint directories under `root` (complete or not), oldest first. */
export async function listCheckpoints(root: string): Promise<{ step: number; path: string }[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names
    .map((n) => ({ step: checkpointStep(n), path: join(root, n) }))
    .filter((c): c is CheckpointRef => c.step !== null)
    .sort((a, b) => a.step - b.step);
}

/** Whether `path` holds a complete checkpoint: a manifest whose every file is present with its size and digest. */
export async function verifyCheckpoint(path: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(path, MANIFEST), 'utf8')) as Manifest;
    return await manifestHolds(manifest, (rel) => readFile(join(path, rel)), sha256);
  } catch {
    return false;
  }
}

/** The newest complete checkpoint under `root`, or null. */
export async function latestCheckpoint(root: string): Promise<{ step: number; path: string } | null> {
  const all = await listCheckpoints(root);
  for (let i = all.length - 1; i >= 0; i--) if (await verifyCheckpoint(all[i].path)) return all[i];
  return null;
}

/** Delete all but the newest `keep` checkpoints (each is moved aside first, so none is ever seen half-deleted). */
export async function pruneCheckpoints(root: string, keep: number): Promise<string[]> {
  const all = await listCheckpoints(root);
  const removed: string[] = [];
  for (const c of all.slice(0, Math.max(0, all.length - keep))) {
    const trash = join(root, `.trash-${randomBytes(4).toString('hex')}`);
    await rename(c.path, trash);
    await rm(trash, { recursive: true, force: true });
    removed.push(c.path);
  }
  return removed;
}

/** Remove temporary and trash directories a crashed writer left under `root`. */
export async function cleanCheckpointDir(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const n of names)
    if (n.startsWith('.tmp-checkpoint-') || n.startsWith('.trash-'))
      await rm(join(root, n), { recursive: true, force: true });
}

/**
 * The trainer's {@link CheckpointStore} on a directory (Node): {@link writeCheckpoint}'s atomic, fsynced, manifested
 * `root/checkpoint-000012/` directories; ids are the directories' paths.
 */
export class FileCheckpointStore implements CheckpointStore {
  constructor(
    readonly location: string,
    private readonly hooks: WriteCheckpointHooks = {},
  ) {}
  write(step: number, files: Record<string, Uint8Array | string>): Promise<string> {
    return writeCheckpoint(this.location, step, files, this.hooks);
  }
  list(): Promise<CheckpointRef[]> {
    return listCheckpoints(this.location);
  }
  verify(path: string): Promise<boolean> {
    return verifyCheckpoint(path);
  }
  async read(path: string, file: string): Promise<Uint8Array> {
    return readFile(join(path, file));
  }
  prune(keep: number): Promise<string[]> {
    return pruneCheckpoints(this.location, keep);
  }
  clean(): Promise<void> {
    return cleanCheckpointDir(this.location);
  }
}
