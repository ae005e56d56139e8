import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource, RawTensor, SafetensorsDType, SafetensorsErrorCode } from '../src/index.js';
import {
  DTYPES,
  SAFETENSORS_ERROR_CODES,
  SafetensorsError,
  SafetensorsReader,
  serialize,
  setAllocationObserver,
} from '../src/index.js';
import { openFile } from '../src/node.js';
import { golden, rng } from './helpers.js';

const SEED = 0x5afe7e45;
const CASES = 12_000;
const TIME_LIMIT_MS = 30_000;

const tmp = mkdtempSync(path.join(tmpdir(), 'peftjs-st-fuzz-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

const ALL_DTYPES = Object.keys(DTYPES) as SafetensorsDType[];

/** A random valid safetensors file (the corpus). */
function randomFile(r: Rand): Uint8Array {
  const n = int(r, 6);
  const tensors: Record<string, { dtype: SafetensorsDType; shape: number[]; bytes: Uint8Array }> = {};
  for (let i = 0; i < n; i++) {
    const dtype = pick(r, ALL_DTYPES);
    const shape = Array.from({ length: int(r, 4) }, () => int(r, 5));
    const size = shape.reduce((a, b) => a * b, 1);
    const bytes = Uint8Array.from({ length: size * DTYPES[dtype].itemsize }, () => int(r, 256));
    tensors[pick(r, ['w', 'b', 'layer.0.q', 'x', 'ü', 'a"b'])! + i] = { dtype, shape, bytes };
  }
  const meta = r() < 0.5 ? { format: 'pt', k: String(int(r, 100)) } : undefined;
  return serialize(tensors, meta);
}

function headerOf(file: Uint8Array): { n: number; json: string } {
  const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return { n, json: new TextDecoder().decode(file.subarray(8, 8 + n)) };
}

function withHeader(
  file: Uint8Array,
  json: string,
  oldN: number,
  opts: { keepN?: boolean; pad?: number } = {},
): Uint8Array {
  const body = new TextEncoder().encode(json + ' '.repeat(opts.pad ?? 0));
  const data = file.subarray(8 + oldN);
  const out = new Uint8Array(8 + body.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(opts.keepN ? oldN : body.length), true);
  out.set(body, 8);
  out.set(data, 8 + body.length);
  return out;
}

const WEIRD_VALUES: unknown[] = [
  -1,
  1.5,
  2 ** 53,
  2 ** 64,
  1e300,
  -0.0,
  null,
  true,
  'F32',
  '4',
  [],
  {},
  [1, 2, 3],
  2 ** 31,
  2 ** 32 + 4,
  0,
];

function mutateJson(r: Rand, file: Uint8Array): Uint8Array {
  if (file.length < 8) return file;
  const { n, json } = headerOf(file);
  if (!Number.isSafeInteger(n) || 8 + n > file.length) return file;
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(json);
  } catch {
    return file;
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return file;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const arr = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : []);
  const names = Object.keys(h).filter((k) => k !== '__metadata__');
  const name = names.length > 0 ? pick(r, names) : undefined;
  const e = name !== undefined && isObj(h[name]) ? (h[name] as Record<string, unknown>) : undefined;
  const op = int(r, 16);
  let text: string | undefined;
  switch (op) {
    case 0: // dtype
      if (e) e.dtype = pick(r, [...ALL_DTYPES, 'F31', 'f32', 'F4', 'C128', 5, null, ['F32'], 'U8 ', ''] as unknown[]);
      break;
    case 1: // shape
      if (e)
        e.shape = pick(r, [
          [-1],
          [2 ** 40, 2 ** 40],
          [2 ** 26, 2 ** 26, 2 ** 26],
          [1e300],
          'abc',
          [],
          [0],
          [2 ** 53],
          [...arr(e.shape), 2],
          arr(e.shape).slice(1),
          [1, null],
          [[1]],
        ] as unknown[]);
      break;
    case 2: {
      // offsets
      if (!e) break;
      const [b = 0, en = 0] = arr(e.data_offsets);
      e.data_offsets = pick(r, [
        [-1, en],
        [b, 2 ** 53],
        [b, 1e20],
        [en, b],
        [b + 1, en + 1],
        [b - 1, en - 1],
        [b],
        [b, en, en],
        [b, en + 1000],
        [2 ** 32 + b, 2 ** 32 + en],
        'x',
        [String(b), String(en)],
      ] as unknown[]);
      break;
    }
    case 3: {
      // overlap: copy another tensor's offsets (possibly changing the shape to match)
      if (names.length < 2 || !e) break;
      const other = h[pick(r, names)];
      if (!isObj(other)) break;
      e.data_offsets = other.data_offsets;
      if (r() < 0.5) {
        e.dtype = other.dtype;
        e.shape = other.shape;
      }
      break;
    }
    case 4: // delete / add field
      if (e) {
        if (r() < 0.5) delete e[pick(r, ['dtype', 'shape', 'data_offsets'])];
        else e[pick(r, ['extra', 'offsets', 'dtype2'])] = pick(r, WEIRD_VALUES);
      }
      break;
    case 5: // entry of the wrong type
      if (name !== undefined) h[name] = pick(r, WEIRD_VALUES);
      break;
    case 6: // metadata
      h.__metadata__ = pick(r, [{ a: 1 }, { a: { b: 'c' } }, ['x'], null, 'str', { a: 'b', c: '' }, 7] as unknown[]);
      break;
    case 7: // top level of the wrong type
      text = pick(r, ['[]', '42', '"x"', 'null', '[{"a":1}]']);
      break;
    case 8: {
      // duplicate key (textual)
      const body = JSON.stringify(h);
      if (name !== undefined) {
        const entry = `${JSON.stringify(name)}:${JSON.stringify(h[name])}`;
        text = `{${entry},${body.slice(1)}`;
      } else text = '{"__metadata__":{"a":"1","a":"2"}}';
      break;
    }
    case 9: {
      // float literal in integer fields (textual)
      const body = JSON.stringify(h);
      text = body.replace(/(\d+)\]/, (_, d) => `${d}.0]`).replace(/\[(\d+),/, (_, d) => `[${d}e0,`);
      break;
    }
    case 10: // deep nesting
      if (name !== undefined)
        text = JSON.stringify(h).replace(/"shape":/, `"deep":${'['.repeat(200)}${']'.repeat(200)},"shape":`);
      break;
    case 11: // rename to __metadata__ / unicode / empty
      if (name !== undefined) {
        const v = h[name];
        delete h[name];
        h[pick(r, ['__metadata__', '', '\u0000', '😀', 'x'.repeat(300)])] = v;
      }
      break;
    case 12: // add a tensor (valid or not) pointing anywhere
      h[`new${int(r, 9)}`] = {
        dtype: pick(r, ALL_DTYPES),
        shape: [int(r, 9)],
        data_offsets: [int(r, file.length), int(r, file.length)],
      };
      break;
    case 13: // shape / dtype change that keeps or breaks the byte size
      if (e) {
        const size = arr(e.shape).reduce((a: number, b: number) => a * b, 1);
        e.shape = [size];
        if (r() < 0.5) e.dtype = pick(r, ALL_DTYPES);
      }
      break;
    case 14: // invalid escapes / control characters
      text = JSON.stringify(h).replace(/"(\w)/, pick(r, ['"\\ud800$1', '"\\x$1', '"\n$1', '"\\u12$1', '"\u0001$1']));
      break;
    default: // garbage after the JSON
      text = JSON.stringify(h) + pick(r, ['x', '}', ',', '\0', ' {}', '\t\n']);
  }
  return withHeader(file, text ?? JSON.stringify(h), n, { keepN: r() < 0.1, pad: int(r, 9) });
}

function mutate(r: Rand, input: Uint8Array): Uint8Array {
  let f: Uint8Array = input.slice();
  const rounds = 1 + (r() < 0.3 ? int(r, 3) : 0);
  for (let k = 0; k < rounds; k++) {
    const n = f.length >= 8 ? Number(new DataView(f.buffer, f.byteOffset, 8).getBigUint64(0, true)) : 0;
    const headerEnd = Math.min(f.length, 8 + (Number.isSafeInteger(n) ? n : 0));
    switch (int(r, 8)) {
      case 0: // byte flips in the header
        for (let i = int(r, 4); i >= 0 && headerEnd > 8; i--) {
          const at = 8 + int(r, headerEnd - 8);
          f[at] = r() < 0.5 ? f[at]! ^ (1 << int(r, 8)) : int(r, 256);
        }
        break;
      case 1: // byte flips in the data
        for (let i = int(r, 8); i >= 0 && f.length > headerEnd; i--)
          f[headerEnd + int(r, f.length - headerEnd)] = int(r, 256);
        break;
      case 2: // truncation
        f = f.slice(0, int(r, f.length + 1));
        break;
      case 3: // trailing bytes
        f = Uint8Array.from([...f, ...Array.from({ length: 1 + int(r, 16) }, () => int(r, 256))]);
        break;
      case 4: {
        // header length field
        if (f.length < 8) break;
        const choices = [
          0n,
          1n,
          BigInt(n) - 1n,
          BigInt(n) + 1n,
          BigInt(f.length - 8),
          BigInt(f.length - 7),
          2n ** 32n + BigInt(n),
          2n ** 63n,
          2n ** 64n - 1n,
          100_000_001n,
          100_000_000n,
          BigInt(int(r, 2 ** 31)) * BigInt(int(r, 2 ** 31)),
          BigInt(int(r, 64)),
        ];
        const v = pick(r, choices);
        new DataView(f.buffer, f.byteOffset, 8).setBigUint64(0, BigInt.asUintN(64, v), true);
        break;
      }
      case 5: // JSON-aware mutation
      case 6:
        f = mutateJson(r, f);
        break;
      default: {
        // splice bytes into / out of the header
        if (headerEnd <= 8) break;
        const at = 8 + int(r, headerEnd - 8);
        const del = int(r, 4);
        const ins = Array.from({ length: int(r, 4) }, () =>
          pick(r, [0x7b, 0x7d, 0x22, 0x2c, 0x3a, 0x5b, 0x5d, 0x30, 0x2d, 0x20, int(r, 256)]),
        );
        f = Uint8Array.from([...f.subarray(0, at), ...ins, ...f.subarray(at + del)]);
      }
    }
  }
  return f;
}

interface Stats {
  tried: number;
  loaded: number;
  rejected: Partial<Record<SafetensorsErrorCode, number>>;
  readErrors: Partial<Record<SafetensorsErrorCode, number>>;
  tensorsRead: number;
  viaAsync: number;
  viaFile: number;
  maxAllocRatio: number;
  unexpected: string[];
}

/** Check a successfully parsed file against the bytes, independently of the parser's own bookkeeping. */
async function checkConsistent(file: Uint8Array, r: SafetensorsReader, stats: Stats, sync: boolean): Promise<void> {
  const h = r.header;
  expect(h.dataOffset).toBe(8 + h.headerLength);
  expect(h.dataOffset + h.dataLength).toBe(file.length);
  const ranges: [number, number][] = [];
  const raws = new Map<string, RawTensor>();
  for (const name of r.names()) {
    const info = r.info(name);
    const size = info.shape.reduce((a, b) => a * b, 1);
    expect(info.size).toBe(size);
    expect(info.byteLength).toBe(size * DTYPES[info.dtype].itemsize);
    expect(info.dataOffsets[1] - info.dataOffsets[0]).toBe(info.byteLength);
    expect(info.dataOffsets[1]).toBeLessThanOrEqual(h.dataLength);
    if (info.byteLength > 0) ranges.push([info.dataOffsets[0], info.dataOffsets[1]]);
    const raw = sync ? r.rawSync(name) : await r.raw(name);
    raws.set(name, raw);
    const at = h.dataOffset + info.dataOffsets[0];
    expect(Buffer.from(raw.bytes).equals(Buffer.from(file.subarray(at, at + info.byteLength)))).toBe(true);
    try {
      const d = sync ? r.readSync(name) : await r.read(name);
      expect(d.data.length).toBe(size);
      stats.tensorsRead++;
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw e;
      expect(['OUT_OF_RANGE', 'BAD_CONVERSION']).toContain(e.code);
      stats.readErrors[e.code] = (stats.readErrors[e.code] ?? 0) + 1;
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThanOrEqual(ranges[i - 1]![1]);
  // what loaded can be written and loaded again
  const again = serialize(raws, r.metadata);
  const r2 = SafetensorsReader.fromBytes(again, { strict: true });
  expect(r2.names().sort()).toEqual(r.names().sort());
  for (const n of r.names()) expect(r2.rawSync(n).bytes).toEqual(raws.get(n)!.bytes);
}

describe('fuzzing the parser', () => {
  it(`${CASES} mutated/truncated files: each loads consistently or throws SafetensorsError; no allocation beyond the input`, async () => {
    const r = rng(SEED);
    const corpus: Uint8Array[] = [
      new Uint8Array(readFileSync(golden('llama_prompt/adapter/adapter_model.safetensors'))),
      new Uint8Array(readFileSync(golden('llama_ia3/adapter/adapter_model.safetensors'))),
      new Uint8Array(readFileSync(golden('bert_prompt_cls/io.safetensors'))),
      serialize({}),
      serialize({}, { format: 'pt' }),
      // pickle and torch zip checkpoints must be refused however they are mangled
      new Uint8Array([
        0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x71, 0x01, 0x4b, 0x01, 0x75, 0x2e,
      ]),
      new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, ...new Array(30).fill(0)]),
    ];
    for (let i = 0; i < 40; i++) corpus.push(randomFile(r));

    const stats: Stats = {
      tried: 0,
      loaded: 0,
      rejected: {},
      readErrors: {},
      tensorsRead: 0,
      viaAsync: 0,
      viaFile: 0,
      maxAllocRatio: 0,
      unexpected: [],
    };
    const validCodes = new Set<string>(SAFETENSORS_ERROR_CODES);
    let limit = 0;
    const overAllocations: string[] = [];
    setAllocationObserver((kind, elements, bytes) => {
      const amount = kind === 'bytes' ? bytes : elements;
      stats.maxAllocRatio = Math.max(stats.maxAllocRatio, amount / Math.max(1, limit));
      if (amount > limit)
        overAllocations.push(`${kind} ${elements} elements / ${bytes} bytes for an input of ${limit} bytes`);
    });
    const start = performance.now();
    let slowest = 0;
    try {
      for (let i = 0; i < CASES; i++) {
        const file = mutate(r, pick(r, corpus));
        limit = file.length;
        stats.tried++;
        const mode = i % 100 === 0 ? 'file' : i % 5 === 0 ? 'async' : 'sync';
        const strict = r() < 0.2;
        const t0 = performance.now();
        try {
          let reader: SafetensorsReader;
          if (mode === 'sync') reader = SafetensorsReader.fromBytes(file, { strict });
          else if (mode === 'async') {
            // a file-like source: fresh copies, and every requested range must lie inside the file
            const src: ByteSource = {
              size: file.length,
              freshReads: true,
              read: async (o, l) => {
                if (!(Number.isSafeInteger(o) && Number.isSafeInteger(l) && o >= 0 && l >= 0 && o + l <= file.length)) {
                  overAllocations.push(`read(${o}, ${l}) outside a file of ${file.length} bytes`);
                }
                return file.slice(o, o + l);
              },
            };
            stats.viaAsync++;
            reader = await SafetensorsReader.open(src, { strict });
          } else {
            const p = path.join(tmp, `case-${i}.safetensors`);
            writeFileSync(p, file);
            stats.viaFile++;
            reader = await openFile(p, { strict });
          }
          try {
            await checkConsistent(file, reader, stats, mode === 'sync');
          } catch (e) {
            // a file that parsed must read back consistently: any error here is a failure, whatever its type
            stats.unexpected.push(`case ${i} (loaded, then): ${(e as Error)?.stack ?? String(e)}`);
          } finally {
            await reader.close();
          }
          stats.loaded++;
        } catch (e) {
          if (e instanceof SafetensorsError && validCodes.has(e.code)) {
            stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
          } else if (stats.unexpected.length < 10) {
            stats.unexpected.push(`case ${i}: ${(e as Error)?.stack ?? String(e)}`);
          } else stats.unexpected.push('…');
        }
        slowest = Math.max(slowest, performance.now() - t0);
      }
    } finally {
      setAllocationObserver(null);
    }
    const elapsed = performance.now() - start;
    console.log(
      `fuzz: seed ${SEED}, ${stats.tried} files in ${(elapsed / 1000).toFixed(1)} s (slowest ${slowest.toFixed(1)} ms): ` +
        `${stats.loaded} loaded (${stats.tensorsRead} tensors decoded, conversion refusals ${JSON.stringify(stats.readErrors)}; ` +
        `tried ${stats.viaAsync} via an async source, ${stats.viaFile} via real files), rejected ${JSON.stringify(stats.rejected)}; ` +
        `largest allocation / input size = ${stats.maxAllocRatio.toFixed(3)}`,
    );
    expect(stats.unexpected).toEqual([]);
    expect(overAllocations.slice(0, 5)).toEqual([]);
    expect(stats.tried).toBe(CASES);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS);
    // the fuzzer must exercise both outcomes and many distinct failure modes
    expect(stats.loaded).toBeGreaterThan(CASES * 0.1);
    expect(Object.keys(stats.rejected).length).toBeGreaterThanOrEqual(14);
    expect(stats.maxAllocRatio).toBeLessThanOrEqual(1);
  }, 600_000); // thousands of parses: a loaded machine can need minutes; a hang is still caught
});
