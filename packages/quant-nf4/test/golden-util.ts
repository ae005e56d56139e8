import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SafetensorsReader } from '@peftjs/safetensors';
import { goldenRoot } from '@peftjs/test-utils';

/** Every tensor of a golden safetensors file as its stored bytes reinterpreted (F32 → Float32Array, …). */
export async function readGolden(
  rel: string,
): Promise<
  Record<string, { dtype: string; shape: number[]; data: ArrayLike<number> & { length: number }; bytes: Uint8Array }>
> {
  const reader = SafetensorsReader.fromBytes(new Uint8Array(readFileSync(join(goldenRoot(), rel))));
  const out: Record<
    string,
    { dtype: string; shape: number[]; data: ArrayLike<number> & { length: number }; bytes: Uint8Array }
  > = {};
  for (const name of reader.names()) {
    const raw = await reader.raw(name);
    const b = raw.bytes.slice();
    const data =
      raw.dtype === 'F32'
        ? new Float32Array(b.buffer)
        : raw.dtype === 'I8'
          ? new Int8Array(b.buffer)
          : raw.dtype === 'U8'
            ? b
            : raw.dtype === 'F64'
              ? new Float64Array(b.buffer)
              : raw.dtype === 'I64'
                ? Float64Array.from(new BigInt64Array(b.buffer), Number)
                : b;
    out[name] = { dtype: raw.dtype, shape: [...raw.shape], data, bytes: b };
  }
  return out;
}

export function goldenMeta(rel: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(goldenRoot(), rel, 'meta.json'), 'utf8'));
}

/** Largest |a − b| / max(|b|, tiny) over the arrays (a relative error that tolerates exact zeros). */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d === 0) continue;
    m = Math.max(m, d / Math.max(Math.abs(b[i]), 1e-30));
  }
  return m;
}

export function countDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = a.length === b.length ? 0 : Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}
