import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointName,
  cleanCheckpointDir,
  latestCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  verifyCheckpoint,
  writeCheckpoint,
} from '../src/node.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-ck-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const files = (step: number) => ({
  'state.json': JSON.stringify({ step }),
  'sub/weights.bin': new Uint8Array([step, 1, 2, 3]),
});

describe('atomic checkpoints', () => {
  it('publishes complete checkpoints under checkpoint-<step>, with a verified manifest', async () => {
    const root = join(dir, 'a');
    const p = await writeCheckpoint(root, 1, files(1));
    expect(p).toBe(join(root, checkpointName(1)));
    expect(checkpointName(12)).toBe('checkpoint-000012');
    expect(await readFile(join(p, 'state.json'), 'utf8')).toBe('{"step":1}');
    expect(await verifyCheckpoint(p)).toBe(true);
    expect((await readdir(root)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a failure before the commit leaves the previous checkpoint untouched and the half-written one unpublished', async () => {
    const root = join(dir, 'b');
    await writeCheckpoint(root, 1, files(1));
    const before = await readFile(join(root, checkpointName(1), 'sub/weights.bin'));
    await expect(
      writeCheckpoint(root, 2, files(2), {
        beforeCommit: () => {
          throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    expect((await listCheckpoints(root)).map((c) => c.step)).toEqual([1]);
    expect((await latestCheckpoint(root))!.step).toBe(1);
    expect(Buffer.compare(await readFile(join(root, checkpointName(1), 'sub/weights.bin')), before)).toBe(0);
    expect((await readdir(root)).some((n) => n.startsWith('.tmp-checkpoint-000002'))).toBe(true);
    await cleanCheckpointDir(root);
    expect(await readdir(root)).toEqual([checkpointName(1)]);
  });

  it('resume picks the newest complete checkpoint, skipping damaged ones', async () => {
    const root = join(dir, 'c');
    for (const s of [1, 2, 3]) await writeCheckpoint(root, s, files(s));
    expect((await latestCheckpoint(root))!.step).toBe(3);
    await writeFile(join(root, checkpointName(3), 'sub/weights.bin'), new Uint8Array([9, 9, 9, 9])); // same size, other bytes
    expect(await verifyCheckpoint(join(root, checkpointName(3)))).toBe(false);
    expect((await latestCheckpoint(root))!.step).toBe(2);
    await rm(join(root, checkpointName(2), 'checkpoint.json'));
    expect((await latestCheckpoint(root))!.step).toBe(1);
    expect(await latestCheckpoint(join(dir, 'nothing-here'))).toBeNull();
  });

  it('rewriting a step replaces it; pruning keeps the newest K', async () => {
    const root = join(dir, 'd');
    for (const s of [1, 2, 3, 4]) await writeCheckpoint(root, s, files(s));
    await writeCheckpoint(root, 4, { 'state.json': 'again' });
    expect(await readFile(join(root, checkpointName(4), 'state.json'), 'utf8')).toBe('again');
    expect(await verifyCheckpoint(join(root, checkpointName(4)))).toBe(true);
    await pruneCheckpoints(root, 2);
    expect(await readdir(root)).toEqual([checkpointName(3), checkpointName(4)]);
  });
});
