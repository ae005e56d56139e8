/**
 * `@peftjs/qr-adaptor/node`: a file-backed plan cache (JSON, rewritten atomically after every evaluation) and plan
 * files on disk.
 * @packageDocumentation
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Fitness, PlanCache } from './cache.js';
import { type PlanFile, parsePlanFile } from './plan.js';

/** The cache file's format. */
interface CacheFile {
  format: 'peftjs-qr-adaptor-cache';
  version: 1;
  /** What the fitness depends on (model, data, steps, seed): a cache made for something else is not reused. */
  context: string;
  entries: Record<string, Fitness>;
}

export class FilePlanCache implements PlanCache {
  private entries: Record<string, Fitness> = {};
  private loaded = false;

  /** `context` names what a fitness depends on; entries written under another context are ignored. */
  constructor(
    readonly path: string,
    readonly context = '',
  ) {}

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return;
    }
    const f = JSON.parse(text) as Partial<CacheFile>;
    if (f.format !== 'peftjs-qr-adaptor-cache' || f.version !== 1)
      throw new Error(`${this.path} is not a QR-Adaptor plan cache (version 1)`);
    if (f.context === this.context && f.entries) this.entries = f.entries;
  }

  async get(key: string): Promise<Fitness | undefined> {
    await this.load();
    return this.entries[key];
  }

  async set(key: string, value: Fitness): Promise<void> {
    await this.load();
    this.entries[key] = { ...value };
    const body: CacheFile = {
      format: 'peftjs-qr-adaptor-cache',
      version: 1,
      context: this.context,
      entries: this.entries,
    };
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, JSON.stringify(body));
    await rename(tmp, this.path);
  }

  get size(): number {
    return Object.keys(this.entries).length;
  }
}

export async function writePlanFile(path: string, plan: PlanFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(plan, null, 2)}\n`);
}

export async function readPlanFile(path: string): Promise<PlanFile> {
  return parsePlanFile(JSON.parse(await readFile(path, 'utf8')));
}
