import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ByteSource, SafetensorsErrorCode } from '../src/index.js';
import {
  parseShardIndex,
  SAFETENSORS_ERROR_CODES,
  SafetensorsError,
  SafetensorsReader,
  serialize,
} from '../src/index.js';
import { loadFile, openCheckpoint, openFile, writeSafetensors } from '../src/node.js';
import { craft } from './helpers.js';

const seen = new Set<SafetensorsErrorCode>();

async function expectCode(code: SafetensorsErrorCode, f: () => unknown): Promise<SafetensorsError> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(SafetensorsError);
  expect((err as SafetensorsError).code, (err as Error).message).toBe(code);
  expect((err as Error).message.startsWith(`${code}: `)).toBe(true);
  seen.add(code);
  return err as SafetensorsError;
}

const parse = (bytes: Uint8Array, strict = false) => SafetensorsReader.fromBytes(bytes, { strict });
const f32 = (n: number) => new Uint8Array(4 * n);
const entry = (dtype: unknown, shape: unknown, offs: unknown) => ({ dtype, shape, data_offsets: offs });

const tmp = mkdtempSync(path.join(tmpdir(), 'peftjs-st-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('every failure is a SafetensorsError with a code', () => {
  it('TRUNCATED', async () => {
    await expectCode('TRUNCATED', () => parse(new Uint8Array(5)));
    await expectCode('TRUNCATED', () => parse(new Uint8Array(0)));
    await expectCode('TRUNCATED', () => parse(craft({}, new Uint8Array(0), { n: 100n })));
    // tensor data cut off
    const full = craft({ a: entry('F32', [4], [0, 16]) }, f32(4));
    const e = await expectCode('TRUNCATED', () => parse(full.subarray(0, full.length - 1)));
    expect(e.tensor).toBe('a');
    // header cut off
    await expectCode('TRUNCATED', () => parse(full.subarray(0, 12)));
    // a source that returns fewer bytes than asked (file shrank after open)
    const src: ByteSource = {
      size: full.length,
      freshReads: true,
      read: async (o, l) => full.slice(o, o + (o === 0 || l < 100 ? l : l - 1)),
    };
    const r = await SafetensorsReader.open(src);
    const shrinking: ByteSource = {
      ...src,
      read: async (o, l) => full.slice(o, o + (o >= r.header.dataOffset ? l - 2 : l)),
    };
    const r2 = await SafetensorsReader.open(shrinking);
    await expectCode('TRUNCATED', () => r2.read('a'));
  });

  it('HEADER_TOO_LARGE', async () => {
    await expectCode('HEADER_TOO_LARGE', () => parse(craft({}, new Uint8Array(0), { n: 100_000_001n })));
    await expectCode('HEADER_TOO_LARGE', () => parse(craft({}, new Uint8Array(0), { n: 2n ** 64n - 1n })));
    await expectCode('HEADER_TOO_LARGE', () => parse(craft({}, new Uint8Array(0), { n: 2n ** 53n })));
    const big = craft({ a: entry('F32', [1], [0, 4]) }, f32(1));
    await expectCode('HEADER_TOO_LARGE', () => SafetensorsReader.fromBytes(big, { maxHeaderSize: 16 }));
    expect(() => SafetensorsReader.fromBytes(big, { maxHeaderSize: 1000 })).not.toThrow();
  });

  it('BAD_UTF8', async () => {
    for (const bad of [
      [0xff, 0xfe],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0x7b, 0x22, 0xe2, 0x28, 0xa1],
    ]) {
      const json = new Uint8Array(bad);
      const file = new Uint8Array(8 + json.length);
      new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
      file.set(json, 8);
      await expectCode('BAD_UTF8', () => parse(file));
    }
  });

  it('BAD_JSON', async () => {
    await expectCode('BAD_JSON', () => parse(craft(null, undefined, { rawHeader: '' })));
    for (const raw of [
      '{',
      '{}x',
      '{"a":1,}',
      '{"a" 1}',
      "{'a':1}",
      '{}\0\0\0\0\0\0',
      '\ufeff{}',
      '{"a":"\\ud800"}',
      '{"a":"\\x"}',
      '{"a":"\n"}',
      '{"a":01}',
      '{"a":-}',
      '{"a":1.}',
      '{"a":tru}',
      '[1,2',
      `${'['.repeat(100)}${']'.repeat(100)}`,
      ' ',
    ]) {
      await expectCode('BAD_JSON', () => parse(craft(null, undefined, { rawHeader: raw })));
    }
    // JSON padding with spaces (the canonical form) and other whitespace is fine
    expect(parse(craft(null, undefined, { rawHeader: '{} \t\r\n   ' })).names()).toEqual([]);
  });

  it('BAD_HEADER', async () => {
    for (const raw of ['[]', '42', '"x"', 'null', '{"a":5}', '{"a":[]}']) {
      await expectCode('BAD_HEADER', () => parse(craft(null, undefined, { rawHeader: raw })));
    }
    await expectCode('BAD_HEADER', () => parse(craft({ a: { dtype: 'F32', shape: [1] } }, f32(1))));
    await expectCode('BAD_HEADER', () => parse(craft({ a: { shape: [1], data_offsets: [0, 4] } }, f32(1))));
  });

  it('BAD_METADATA', async () => {
    await expectCode('BAD_METADATA', () => parse(craft({ __metadata__: { a: 1 } })));
    await expectCode('BAD_METADATA', () => parse(craft({ __metadata__: ['x'] })));
    await expectCode('BAD_METADATA', () => parse(craft({ __metadata__: 'x' })));
    await expectCode('BAD_METADATA', () => serialize({}, { a: 1 as unknown as string }));
    expect(parse(craft({ __metadata__: null })).metadata).toBeNull();
    expect(parse(craft({ __metadata__: { __proto__x: 'y', 'a b': '' } })).metadata).toEqual({
      __proto__x: 'y',
      'a b': '',
    });
  });

  it('DUPLICATE_NAME', async () => {
    const e = await expectCode('DUPLICATE_NAME', () =>
      parse(
        craft(null, f32(2), {
          rawHeader:
            '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        }),
      ),
    );
    expect(e.tensor).toBe('a');
    await expectCode('DUPLICATE_NAME', () =>
      parse(craft(null, f32(1), { rawHeader: '{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}' })),
    );
    await expectCode('DUPLICATE_NAME', () =>
      parse(craft(null, undefined, { rawHeader: '{"__metadata__":{"k":"1","k":"2"}}' })),
    );
    // equal after unescaping counts as duplicate
    await expectCode('DUPLICATE_NAME', () =>
      parse(craft(null, f32(2), { rawHeader: '{"__metadata__":{},"\\u005f_metadata__":{}}' })),
    );
    await expectCode('DUPLICATE_NAME', () =>
      parseShardIndex('{"weight_map":{"a":"x.safetensors","a":"y.safetensors"}}'),
    );
  });

  it('BAD_DTYPE and UNSUPPORTED_DTYPE', async () => {
    for (const d of ['F31', 'f32', '', 5, null, ['F32'], 'float32']) {
      await expectCode('BAD_DTYPE', () => parse(craft({ a: entry(d, [1], [0, 4]) }, f32(1))));
    }
    for (const d of ['F4', 'F6_E2M3', 'F6_E3M2', 'F8_E4M3FNUZ']) {
      await expectCode('UNSUPPORTED_DTYPE', () => parse(craft({ a: entry(d, [1], [0, 1]) }, f32(1))));
    }
    await expectCode('BAD_DTYPE', () => serialize({ a: { dtype: 'X' as 'F32', shape: [1], bytes: f32(1) } }));
  });

  it('BAD_SHAPE', async () => {
    for (const raw of [
      '[-1]',
      '[1.0]',
      '["1"]',
      '"12"',
      '[1e2]',
      '[9007199254740993]',
      '[1e400]',
      '[-0]',
      '{}',
      '[[1]]',
    ]) {
      await expectCode('BAD_SHAPE', () =>
        parse(craft(null, f32(1), { rawHeader: `{"a":{"dtype":"F32","shape":${raw},"data_offsets":[0,4]}}` })),
      );
    }
    // element count overflow: 2^30 · 2^30 · 2^30
    await expectCode('BAD_SHAPE', () => parse(craft({ a: entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }, f32(1))));
    await expectCode('BAD_SHAPE', () => serialize({ a: { shape: [-1], data: [] } }));
  });

  it('BAD_OFFSETS', async () => {
    for (const raw of [
      '[0]',
      '[0,4,8]',
      '[-1,3]',
      '[0.0,4]',
      '[4,0]',
      '["0","4"]',
      '[0,1e20]',
      '[0,18446744073709551615]',
      '{}',
      'null',
    ]) {
      await expectCode('BAD_OFFSETS', () =>
        parse(craft(null, f32(1), { rawHeader: `{"a":{"dtype":"F32","shape":[1],"data_offsets":${raw}}}` })),
      );
    }
  });

  it('SIZE_MISMATCH', async () => {
    await expectCode('SIZE_MISMATCH', () => parse(craft({ a: entry('F32', [2], [0, 4]) }, f32(2))));
    await expectCode('SIZE_MISMATCH', () => parse(craft({ a: entry('F16', [3], [0, 4]) }, f32(2))));
    await expectCode('SIZE_MISMATCH', () => parse(craft({ a: entry('I64', [], [0, 4]) }, f32(2))));
  });

  it('OVERLAP (and zero-size tensors may sit anywhere)', async () => {
    const e = await expectCode('OVERLAP', () =>
      parse(craft({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, f32(3))),
    );
    expect(e.message).toMatch(/"b".*"a"/);
    await expectCode('OVERLAP', () =>
      parse(craft({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }, f32(2))),
    );
    await expectCode('OVERLAP', () =>
      parse(craft({ a: entry('U8', [8], [0, 8]), b: entry('U8', [1], [7, 8]) }, f32(2))),
    );
    const ok = parse(craft({ a: entry('F32', [2], [0, 8]), z: entry('F32', [0, 5], [4, 4]) }, f32(2)), true);
    expect(ok.names()).toEqual(['a', 'z']);
    expect(ok.readSync('z').data.length).toBe(0);
  });

  it('GAP and TRAILING_DATA (strict mode only; reported as gaps otherwise)', async () => {
    const gap = craft({ a: entry('F32', [1], [4, 8]) }, f32(2));
    await expectCode('GAP', () => parse(gap, true));
    expect(parse(gap).header.gaps).toEqual([[0, 4]]);
    const trailing = craft({ a: entry('F32', [1], [0, 4]) }, f32(3));
    await expectCode('TRAILING_DATA', () => parse(trailing, true));
    expect(parse(trailing).header.gaps).toEqual([[4, 12]]);
  });

  it('PICKLE_REFUSED: by content and by name, with no code path that reads pickle', async () => {
    const pickle = new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x01, 0x00, 0x00, 0x00, 0x61, 0x2e]);
    const e = await expectCode('PICKLE_REFUSED', () => parse(pickle));
    expect(e.message).toMatch(/arbitrary code/);
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0]);
    await expectCode('PICKLE_REFUSED', () => parse(zip));
    for (const name of ['pytorch_model.bin', 'model.pt', 'model.pth', 'x.ckpt', 'x.pkl', 'adapter_model.bin']) {
      const p = path.join(tmp, name);
      writeFileSync(p, pickle);
      await expectCode('PICKLE_REFUSED', () => openFile(p));
      await expectCode('PICKLE_REFUSED', () => openCheckpoint(p));
      await expectCode('PICKLE_REFUSED', () => loadFile(p));
    }
    // a directory with only pickle checkpoints
    const dir = path.join(tmp, 'pickle-dir');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'pytorch_model.bin'), pickle);
    writeFileSync(path.join(dir, 'config.json'), '{}');
    await expectCode('PICKLE_REFUSED', () => openCheckpoint(dir));
    // a sharded index naming pickle shards
    await expectCode('PICKLE_REFUSED', () =>
      parseShardIndex('{"weight_map":{"a":"pytorch_model-00001-of-00002.bin"}}'),
    );
    const idx = path.join(tmp, 'pytorch_model.bin.index.json');
    writeFileSync(idx, '{"weight_map":{}}');
    await expectCode('PICKLE_REFUSED', () => openCheckpoint(idx));
    // a .safetensors name over pickle content is refused by content
    const disguised = path.join(tmp, 'disguised.safetensors');
    writeFileSync(disguised, pickle);
    await expectCode('PICKLE_REFUSED', () => openFile(disguised));
  });

  it('NOT_FOUND', async () => {
    const r = parse(craft({ a: entry('F32', [1], [0, 4]) }, f32(1)));
    const e = await expectCode('NOT_FOUND', () => r.info('b'));
    expect(e.tensor).toBe('b');
    await expectCode('NOT_FOUND', () => r.read('b'));
    await expectCode('NOT_FOUND', () => openFile(path.join(tmp, 'missing.safetensors')));
    await expectCode('NOT_FOUND', () => openCheckpoint(path.join(tmp, 'missing-dir')));
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    await expectCode('NOT_FOUND', () => openCheckpoint(empty));
  });

  it('BAD_INDEX', async () => {
    for (const raw of [
      '[]',
      '{}',
      '{"weight_map":[]}',
      '{"weight_map":{"a":1}}',
      '{"weight_map":{"a":"../x.safetensors"}}',
      '{"weight_map":{"a":"/abs/x.safetensors"}}',
      '{"weight_map":{"a":"sub/x.safetensors"}}',
      '{"weight_map":{"a":"x.txt"}}',
      '{"weight_map":{"a":"C:x.safetensors"}}',
      '{"metadata":5,"weight_map":{}}',
      '{"weight_map":',
    ]) {
      await expectCode('BAD_INDEX', () => parseShardIndex(raw));
    }
    // a weight_map entry that is not in its shard
    const dir = path.join(tmp, 'bad-index');
    mkdirSync(dir);
    await writeSafetensors(path.join(dir, 'model-00001-of-00001.safetensors'), { a: { shape: [1], data: [1] } });
    writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { a: 'model-00001-of-00001.safetensors', b: 'model-00001-of-00001.safetensors' } }),
    );
    const e = await expectCode('BAD_INDEX', () => openCheckpoint(dir));
    expect(e.tensor).toBe('b');
  });

  it('OUT_OF_RANGE and BAD_CONVERSION', async () => {
    const r = parse(
      serialize({ big: { shape: [1], data: new BigInt64Array([2n ** 40n]) }, x: { shape: [1], data: [0.5] } }),
    );
    await expectCode('OUT_OF_RANGE', () => r.readSync('big'));
    await expectCode('BAD_CONVERSION', () => r.readSync('x', { dtype: 'i32' }));
  });

  it('BAD_ARGUMENT', async () => {
    await expectCode('BAD_ARGUMENT', () => serialize({ __metadata__: { shape: [1], data: [1] } }));
    await expectCode('BAD_ARGUMENT', () => serialize({ a: { shape: [2], data: [1] } }));
    await expectCode('BAD_ARGUMENT', () => serialize({ a: { dtype: 'F32', shape: [2], bytes: new Uint8Array(7) } }));
    await expectCode('BAD_ARGUMENT', () => serialize({ '\ud800': { shape: [1], data: [1] } }));
    await expectCode('BAD_ARGUMENT', () => serialize({ a: { dtype: 'C64', shape: [1], data: [1] } }));
    const r = parse(serialize({ a: { shape: [1], data: [1] } }));
    await r.close();
    await expectCode('BAD_ARGUMENT', () => r.read('a'));
    const asyncOnly: ByteSource = { size: 8, freshReads: true, read: async () => new Uint8Array(8) };
    await expectCode('BAD_ARGUMENT', () => SafetensorsReader.openSync(asyncOnly));
    await expectCode('BAD_ARGUMENT', () => SafetensorsReader.open(42 as unknown as Uint8Array));
  });

  it('IO_ERROR', async () => {
    const file = serialize({ a: { shape: [1], data: [1] } });
    const failing: ByteSource = {
      size: file.length,
      freshReads: true,
      name: 'flaky',
      read: async (o, l) => {
        if (o >= 8) throw new Error('EIO: disk on fire');
        return file.slice(o, o + l);
      },
    };
    const e = await expectCode('IO_ERROR', () => SafetensorsReader.open(failing));
    expect(e.cause).toBeInstanceOf(Error);
    expect(e.file).toBe('flaky');
    const d = path.join(tmp, 'a-directory.safetensors');
    mkdirSync(d);
    await expectCode('BAD_ARGUMENT', () => openFile(d));
  });

  it('covered every error code', () => {
    expect([...seen].sort()).toEqual([...SAFETENSORS_ERROR_CODES].sort());
  });
});
