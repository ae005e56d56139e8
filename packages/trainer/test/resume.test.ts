/**
 * Acceptance: a training run killed with SIGKILL (between steps, or in the middle of writing a checkpoint) and
 * resumed from its newest complete checkpoint ends with adapter weights bit-identical to an uninterrupted run.
 * The child (fixtures/train-tiny.ts) trains a tiny LLaMA + LoRA with LoRA and attention dropout, shuffled data,
 * gradient accumulation over epochs, and checkpoints every step.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestCheckpoint } from '../src/node.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/train-tiny.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the fixture in one Node process (`node --import tsx`, so a SIGKILL hits the trainer itself). */
function runChild(args: Record<string, unknown>, killAfter?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(args)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killAfter && stdout.includes(killAfter)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

let dir: string;
let reference: { weights: Buffer; losses: number[] };

async function finalOf(out: string): Promise<{ weights: Buffer; losses: number[]; resumedFrom: number }> {
  const result = JSON.parse(await readFile(join(out, 'result.json'), 'utf8'));
  return {
    weights: await readFile(join(out, 'adapter_model.safetensors')),
    losses: result.history.map((h: { loss: number }) => h.loss),
    resumedFrom: result.resumedFrom,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-resume-'));
  const r = await runChild({ checkpointDir: join(dir, 'ref-ck'), out: join(dir, 'ref') });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('done');
  reference = await finalOf(join(dir, 'ref'));
  expect(reference.losses).toHaveLength(8);
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('crash and resume (child process, SIGKILL)', () => {
  it('killed by the parent after a checkpoint, then resumed: the final adapter is bit-identical', async () => {
    const ck = join(dir, 'killed-ck');
    const out = join(dir, 'killed');
    const killed = await runChild({ checkpointDir: ck, out }, 'checkpoint 3\n');
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toContain('done');
    const latest = await latestCheckpoint(ck);
    expect(latest).not.toBeNull();
    expect(latest!.step).toBeGreaterThanOrEqual(3);
    expect(latest!.step).toBeLessThan(8);

    const resumed = await runChild({ checkpointDir: ck, out, resume: true });
    expect(resumed.code, resumed.stderr).toBe(0);
    const final = await finalOf(out);
    expect(final.resumedFrom).toBe(latest!.step);
    expect(final.losses).toEqual(reference.losses);
    expect(Buffer.compare(final.weights, reference.weights)).toBe(0);
  }, 60_000);

  it('killed while writing a checkpoint: the previous one is intact, the resumed run is bit-identical', async () => {
    const ck = join(dir, 'commit-ck');
    const out = join(dir, 'commit');
    const killed = await runChild({ checkpointDir: ck, out, killInCommitAt: 5 });
    expect(killed.signal).toBe('SIGKILL');
    const names = await readdir(ck);
    expect(names.some((n) => n.startsWith('.tmp-checkpoint-000005'))).toBe(true); // the half-published one
    expect(names).not.toContain('checkpoint-000005');
    expect((await latestCheckpoint(ck))!.step).toBe(4);

    const resumed = await runChild({ checkpointDir: ck, out, resume: true });
    expect(resumed.code, resumed.stderr).toBe(0);
    const final = await finalOf(out);
    expect(final.resumedFrom).toBe(4);
    expect(final.losses).toEqual(reference.losses);
    expect(Buffer.compare(final.weights, reference.weights)).toBe(0);
    expect((await readdir(ck)).filter((n) => n.startsWith('.'))).toEqual([]); // leftovers cleaned
    expect((await readdir(ck)).sort()).toEqual(['checkpoint-000007', 'checkpoint-000008']); // keepCheckpoints: 2
  }, 60_000);
});
