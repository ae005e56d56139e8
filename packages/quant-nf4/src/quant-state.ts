import { BLOCKSIZES_4BIT } from './blockwise.js';
import type { QuantType4bit } from './codes.js';
import { QuantizationError } from './errors.js';

/** The non-tensor part of a bitsandbytes QuantState (`quant_state.bitsandbytes__<type>` in a state dict). */
export interface QuantStateJson {
  quant_type: QuantType4bit;
  blocksize: number;
  /** The weight's dtype before quantization ('float32', 'bfloat16', 'float16'). */
  dtype: string;
  shape: [number, number];
  nested_blocksize?: number;
  nested_dtype?: string;
  nested_offset?: number;
}

const FLOAT_DTYPES = ['float32', 'bfloat16', 'float16'];

/** Decode and validate the UTF-8 JSON of a packed quant state. `tensor` names it in errors. */
export function parseQuantState(bytes: Uint8Array, tensor: string, nested: boolean): QuantStateJson {
  let text: string;
  let v: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    v = JSON.parse(text);
  } catch (e) {
    throw new QuantizationError('BAD_QUANT_STATE', `quant state is not UTF-8 JSON (${(e as Error).message})`, tensor);
  }
  const bad = (what: string): never => {
    throw new QuantizationError('BAD_QUANT_STATE', what, tensor);
  };
  if (!v || typeof v !== 'object' || Array.isArray(v)) bad('quant state is not a JSON object');
  const o = v as Record<string, unknown>;
  const qt = o.quant_type;
  if (qt !== 'nf4' && qt !== 'fp4') {
    throw new QuantizationError('BAD_QUANT_TYPE', `unknown quant_type ${JSON.stringify(qt)} (nf4 or fp4)`, tensor);
  }
  const suffix = tensor.split('__').pop();
  if (suffix !== qt) bad(`quant_type '${qt}' does not match the key's '${suffix}'`);
  if (typeof o.blocksize !== 'number' || !BLOCKSIZES_4BIT.includes(o.blocksize)) {
    throw new QuantizationError(
      'BAD_BLOCKSIZE',
      `blocksize ${JSON.stringify(o.blocksize)} is not one bitsandbytes allows (${BLOCKSIZES_4BIT.join(', ')})`,
      tensor,
    );
  }
  if (typeof o.dtype !== 'string' || !FLOAT_DTYPES.includes(o.dtype))
    bad(`dtype ${JSON.stringify(o.dtype)} is not a float dtype`);
  const shape = o.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0 && d <= 2 ** 31)
  ) {
    bad(`shape ${JSON.stringify(shape)} is not a 2-D weight shape`);
  }
  const out: QuantStateJson = {
    quant_type: qt,
    blocksize: o.blocksize as number,
    dtype: o.dtype as string,
    shape: [(shape as number[])[0], (shape as number[])[1]],
  };
  if (nested) {
    const nb = o.nested_blocksize;
    if (typeof nb !== 'number' || !Number.isSafeInteger(nb) || nb <= 0 || nb > 2 ** 20) {
      bad(`nested_blocksize ${JSON.stringify(nb)} is not a positive block size`);
    }
    if (typeof o.nested_offset !== 'number' || !Number.isFinite(o.nested_offset)) {
      bad(`nested_offset ${JSON.stringify(o.nested_offset)} is not a finite number`);
    }
    if (o.nested_dtype !== undefined && o.nested_dtype !== 'float32') {
      bad(`nested_dtype ${JSON.stringify(o.nested_dtype)} is not float32`);
    }
    out.nested_blocksize = nb as number;
    out.nested_dtype = 'float32';
    out.nested_offset = o.nested_offset as number;
  }
  return out;
}

/** Python's `repr(float)` (what `json.dumps` writes): shortest round-trip digits, exponent below 1e-4 / from 1e16. */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e16) return String(x);
  const [mant, exp] = x.toExponential().split('e');
  const e = Number(exp);
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** The packed quant state bytes exactly as bitsandbytes writes them (`json.dumps` of the dict, UTF-8). */
export function packQuantState(s: QuantStateJson): Uint8Array {
  const parts = [
    `"quant_type": "${s.quant_type}"`,
    `"blocksize": ${s.blocksize}`,
    `"dtype": "${s.dtype}"`,
    `"shape": [${s.shape[0]}, ${s.shape[1]}]`,
  ];
  if (s.nested_offset !== undefined) {
    parts.push(
      `"nested_blocksize": ${s.nested_blocksize}`,
      `"nested_dtype": "${s.nested_dtype ?? 'float32'}"`,
      `"nested_offset": ${pythonFloat(s.nested_offset)}`,
    );
  }
  return new TextEncoder().encode(`{${parts.join(', ')}}`);
}
