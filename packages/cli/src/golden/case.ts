import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PreTrainedModel } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { openFile } from '@peftjs/safetensors/node';
import { type Backend, type Tensor, tensor } from '@peftjs/tensor';
import type { GoldenCheck } from './checks.js';

/** A golden case folder as a layout sees it. */
export interface GoldenCase {
  /** Folder name (e.g. `llama_ia3`). */
  name: string;
  dir: string;
  /** The golden root (where `base/` lives). */
  root: string;
  meta: Record<string, unknown>;
  /** Entries of `dir` (files and folders). */
  entries: string[];
}

/** A kind of golden case: how to recognise it by what it holds, and how to check it. */
export interface GoldenLayout {
  name: string;
  /** Whether this layout handles the case (by meta.json fields and the files present). */
  detect(c: GoldenCase): boolean;
  /** Every check the case defines. May throw: the runner turns an error into a failed check. */
  run(c: GoldenCase, backend: Backend): Promise<GoldenCheck[]>;
}

/** Read a case folder (meta.json and its entries). */
export async function readCase(caseDir: string): Promise<GoldenCase> {
  const meta = JSON.parse(await readFile(join(caseDir, 'meta.json'), 'utf8')) as Record<string, unknown>;
  return { name: basename(caseDir), dir: caseDir, root: dirname(caseDir), meta, entries: await readdir(caseDir) };
}

/** An open safetensors file of a case. */
export type GoldenFile = Awaited<ReturnType<typeof openFile>>;

export const openGoldenFile = (path: string): Promise<GoldenFile> => openFile(path);

/** `base/<arch>` of the golden root, loaded on `backend`. */
export async function loadBase(root: string, arch: unknown, backend: Backend): Promise<PreTrainedModel> {
  if (typeof arch !== 'string') throw new Error('meta.json names no arch');
  const dir = join(root, 'base', arch);
  if (!existsSync(dir)) throw new Error(`base model folder '${dir}' not found`);
  return fromPretrained(dir, { backend, tokenizer: false });
}

/** The model inputs of an io.safetensors file (input_ids, attention_mask, labels as i32 tensors). */
export async function readInputs(io: GoldenFile, backend: Backend): Promise<Record<string, Tensor>> {
  const get = async (n: string) => {
    const d = await io.read(n, { dtype: 'i32' });
    return tensor(d.data, [...d.shape], { dtype: 'i32', backend });
  };
  return { inputIds: await get('input_ids'), attentionMask: await get('attention_mask'), labels: await get('labels') };
}

/** A reference loss (or list of losses) in float64, however it is stored. */
export async function readLosses(io: GoldenFile, key: string): Promise<Float64Array> {
  const raw = await io.raw(key);
  const bytes = new Uint8Array(raw.bytes);
  if (raw.dtype === 'F64') return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8).slice();
  return Float64Array.from((await io.read(key)).data);
}

/** Reference values of `key` as float32. */
export async function readRef(io: GoldenFile, key: string): Promise<ArrayLike<number>> {
  return (await io.read(key)).data;
}
