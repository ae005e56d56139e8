import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The monorepo root. */
export const repoRoot = path.resolve(here, '../../..');
/** The golden reference files: `<repoRoot>/../shared/golden`. */
export const goldenDir = path.resolve(repoRoot, '../shared/golden');

export function golden(...parts: string[]): string {
  if (!existsSync(goldenDir)) throw new Error(`golden reference folder not found at ${goldenDir}`);
  return path.join(goldenDir, ...parts);
}

/** Every .safetensors file under the golden folder. */
export function goldenSafetensorsFiles(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.safetensors')) out.push(p);
    }
  };
  walk(golden());
  return out;
}

/**
 * An independent, deliberately naive safetensors decoder (Node Buffer + JSON.parse), to check the package's reader
 * against. Supports the dtypes the golden files use.
 */
export interface NaiveTensor {
  dtype: string;
  shape: number[];
  offsets: [number, number];
  values: number[];
}
export function naiveDecode(buf: Buffer): {
  metadata: Record<string, string> | undefined;
  tensors: Map<string, NaiveTensor>;
  keys: string[];
} {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, NaiveTensor>();
  let metadata: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const count = e.shape.reduce((a, b) => a * b, 1);
    const values: number[] = [];
    const at = base + e.data_offsets[0];
    for (let i = 0; i < count; i++) {
      switch (e.dtype) {
        case 'F32':
          values.push(buf.readFloatLE(at + 4 * i));
          break;
        case 'F64':
          values.push(buf.readDoubleLE(at + 8 * i));
          break;
        case 'I64':
          values.push(Number(buf.readBigInt64LE(at + 8 * i)));
          break;
        case 'I32':
          values.push(buf.readInt32LE(at + 4 * i));
          break;
        case 'U8':
          values.push(buf.readUInt8(at + i));
          break;
        case 'I8':
          values.push(buf.readInt8(at + i));
          break;
        default:
          throw new Error(`naive decoder: dtype ${e.dtype}`);
      }
    }
    tensors.set(k, { dtype: e.dtype, shape: e.shape, offsets: e.data_offsets, values });
  }
  return { metadata, tensors, keys: Object.keys(header) };
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Build a safetensors file by hand from a header object and data bytes (no package code involved). */
export function craft(
  header: unknown,
  data: Uint8Array = new Uint8Array(0),
  opts: { rawHeader?: string; n?: bigint } = {},
): Uint8Array {
  const json = Buffer.from(opts.rawHeader ?? JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(opts.n ?? BigInt(json.length), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
