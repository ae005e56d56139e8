/** Small models and golden-file access for the tests. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LayerModule, Module } from '@peftjs/nn';
import { type Tensor, tensor } from '@peftjs/tensor';
import { f64 } from './ref.js';

/**
 * The prefix PEFT puts before module paths in saved adapter keys (`adapter_model.safetensors`). It equals
 * `KEY_PREFIX` of @peftjs/registry, repeated here because this package must not depend on registry (registry's own
 * tests use this package, which would make a workspace dependency cycle).
 */
export const PEFT_KEY_PREFIX = 'base_model.model.';

/** What `setAdapter` needs of a PEFT model (structurally a `PeftModel` of @peftjs/registry). */
export interface AdapterStateTarget {
  readonly activeAdapter: string;
  loadAdapterState(tensors: Record<string, Tensor>, name?: string, opts?: { strict?: boolean }): unknown;
}

/** A container module; `forward` runs the child named `main` (if any). */
export class Node extends Module {
  add(name: string, m: Module): this {
    this.registerModule(name, m);
    return this;
  }
  /** The layer at dotted `path`. */
  at(path: string): LayerModule {
    return this.getSubmodule(path) as LayerModule;
  }
  forward(x: Tensor): Tensor {
    return this.child<LayerModule>('main').forward(x);
  }
}

/** A model holding `modules` at dotted paths (intermediate containers created as needed). */
export function tree(modules: Record<string, Module>): Node {
  const root = new Node();
  for (const [path, m] of Object.entries(modules)) {
    const parts = path.split('.');
    let cur: Node = root;
    for (const p of parts.slice(0, -1)) {
      if (!cur.hasSubmodule(p)) cur.add(p, new Node());
      cur = cur.getSubmodule(p) as Node;
    }
    cur.add(parts[parts.length - 1], m);
  }
  return root;
}

/** Set adapter tensors by saved key suffix (e.g. `{ 'proj.lora_A.weight': [...] }`); returns the f32-rounded values. */
export function setAdapter(
  peft: AdapterStateTarget,
  values: Record<string, { data: number[]; shape: number[] }>,
  adapter = peft.activeAdapter,
): Record<string, number[]> {
  const tensors: Record<string, Tensor> = {};
  const out: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(values)) {
    const t = tensor(v.data, v.shape);
    tensors[`${PEFT_KEY_PREFIX}${k}`] = t;
    out[k] = f64(t);
  }
  peft.loadAdapterState(tensors, adapter, { strict: false });
  return out;
}

/** The repository root (this file is `<root>/packages/test-utils/src/fixtures.ts`). */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The golden folder: `$PEFTJS_GOLDEN`, else `shared/golden` beside the repository (as the CLI tests look). */
export function goldenRoot(): string {
  const candidates = [process.env.PEFTJS_GOLDEN, resolve(REPO_ROOT, '../shared/golden')].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const found = candidates.find((p) => existsSync(join(p, 'README.md')));
  if (!found) throw new Error(`golden reference folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** F32 tensors of a safetensors file as float64 arrays with shapes (a minimal reader; other dtypes skipped). */
export function readF32(path: string): Record<string, { data: number[]; shape: number[] }> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const out: Record<string, { data: number[]; shape: number[] }> = {};
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__' || v.dtype !== 'F32') continue;
    const [s, e] = v.data_offsets;
    const data: number[] = [];
    for (let o = 8 + n + s; o < 8 + n + e; o += 4) data.push(buf.readFloatLE(o));
    out[k] = { data, shape: v.shape };
  }
  return out;
}
