/**
 * The backend machinery: device report, typed errors (compilation, validation, limits, destroyed backend, no
 * adapter), the buffer pool (size classes, reuse only after submit, stats), batching and flush, GPU timing.
 */
import * as T from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketSize,
  type Program,
  requestWebGPUDevice,
  WebGPUBackend,
  WebGPUError,
  WebGPUUnavailableError,
} from '../src/index.js';
import { startWebGPU, stopWebGPU } from './setup.js';

let be: WebGPUBackend;

beforeAll(async () => {
  be = await startWebGPU();
});
afterAll(stopWebGPU);

describe('device', () => {
  it('reports the adapter, features and raised limits', () => {
    const r = be.report;
    expect(r.platform).toBe('node');
    expect(`${r.description}${r.vendor}${r.architecture}${r.device}`.length).toBeGreaterThan(0);
    // the limits were raised to the adapter's maxima, not left at WebGPU's defaults
    expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(r.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    for (const f of r.features) expect(be.device.features.has(f as GPUFeatureName)).toBe(true);
  });

  it('no adapter: a WebGPUUnavailableError naming what to install; the CPU backend keeps working', async () => {
    const fakeGpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await requestWebGPUDevice({ gpu: fakeGpu }).catch((e) => e);
    expect(err).toBeInstanceOf(WebGPUUnavailableError);
    expect(err).toBeInstanceOf(WebGPUError);
    expect(err).toBeInstanceOf(T.BackendError);
    expect(err.kind).toBe('unavailable');
    expect(err.message).toMatch(/mesa-vulkan-drivers/);
    expect(err.message).toMatch(/bookworm-backports/);
    expect(err.message).toMatch(/browser/i);
    const x = T.tensor([1, 2, 3], [3], { backend: await T.initBackend('cpu') });
    expect(Array.from(await T.mul(x, 2).data())).toEqual([2, 4, 6]);
  });
});

describe('typed errors', () => {
  it('a WGSL compile error is thrown by the next flush as a WebGPUError naming the kernel', async () => {
    const bad: Program = {
      kernel: 'brokenKernel',
      key: 'brokenKernel:test',
      uniforms: [['n', 'u32']],
      inputs: [],
      outputs: [{ name: 'out', type: 'f32' }],
      source: () => '@compute @workgroup_size(1) fn main() { out[0] = undefined_thing; }',
    };
    const out = be.alloc(4, 'test');
    be.dispatch(bad, [], [out], [4], [1, 1, 1]);
    const err = await be.flush().catch((e) => e);
    be.release(out);
    expect(err).toBeInstanceOf(WebGPUError);
    expect(err.kind).toBe('compilation');
    expect(err.kernel).toBe('brokenKernel');
    expect(err.message).toMatch(/undefined_thing/);
    // the backend stays usable
    const x = T.tensor([1, 2], [2], { backend: be });
    expect(Array.from(await T.add(x, 1).data())).toEqual([2, 3]);
    x.dispose();
  });

  it('a validation error (a buffer bound as both input and output) surfaces from read()', async () => {
    const prog: Program = {
      kernel: 'aliasKernel',
      key: 'aliasKernel:test',
      uniforms: [['n', 'u32']],
      inputs: [{ name: 'x', type: 'f32' }],
      outputs: [{ name: 'y', type: 'f32' }],
      source: () => '@compute @workgroup_size(1) fn main() { y[0] = x[0] + 1.0; }',
    };
    const buf = be.alloc(4, 'test');
    be.dispatch(prog, [buf], [buf], [4], [1, 1, 1]);
    const err = await be.read(buf, 'f32', 4).catch((e) => e);
    be.release(buf);
    expect(err).toBeInstanceOf(WebGPUError);
    expect(err.kind).toBe('validation');
    expect(err.kernel).toMatch(/aliasKernel/);
    const x = T.tensor([5], [1], { backend: be });
    expect(await T.neg(x).item()).toBe(-5);
    x.dispose();
  });

  it('a buffer beyond maxStorageBufferBindingSize is refused up front, with the limit in the message', () => {
    const max = be.device.limits.maxStorageBufferBindingSize;
    const n = Math.floor(max / 4) + 1;
    let err: unknown;
    try {
      T.zeros([n], { backend: be });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WebGPUError);
    expect((err as WebGPUError).kind).toBe('limit');
    expect((err as WebGPUError).kernel).toBe('fill');
    expect((err as Error).message).toContain(`maxStorageBufferBindingSize of ${max}`);
  });

  it('a grid beyond the workgroup limit is refused up front', () => {
    const prog: Program = {
      kernel: 'gridKernel',
      key: 'gridKernel:test',
      uniforms: [],
      inputs: [],
      outputs: [{ name: 'y', type: 'f32' }],
      source: () => '@compute @workgroup_size(1) fn main() { y[0] = 1.0; }',
    };
    const buf = be.alloc(1, 'test');
    expect(() =>
      be.dispatch(prog, [], [buf], [], [be.device.limits.maxComputeWorkgroupsPerDimension + 1, 1, 1]),
    ).toThrow(WebGPUError);
    be.release(buf);
  });
});

describe('buffer pool', () => {
  it('size classes: powers of two to 4 KiB, then quarter-octave steps (≤ 25 % slack)', () => {
    expect(bucketSize(1)).toBe(16);
    expect(bucketSize(17)).toBe(32);
    expect(bucketSize(4096)).toBe(4096);
    expect(bucketSize(4097)).toBe(5120);
    expect(bucketSize(1_000_000)).toBe(1_048_576);
    for (let n = 4097; n < 1e8; n = Math.floor(n * 1.37)) {
      const b = bucketSize(n);
      expect(b).toBeGreaterThanOrEqual(n);
      expect(b / n).toBeLessThanOrEqual(1.25 + 1e-9);
    }
  });

  it('a released buffer is reused only after the encoder that used it is submitted', async () => {
    await be.flush();
    const x = T.tensor(new Float32Array(1000), [1000], { backend: be });
    const y = T.exp(x); // recorded, not submitted
    const before = be.stats();
    x.dispose(); // x is referenced by the open encoder: it must wait
    const mid = be.stats();
    expect(mid.pendingBuffers).toBe(before.pendingBuffers + 1);
    expect(mid.liveBuffers).toBe(before.liveBuffers - 1);
    await be.flush();
    const after = be.stats();
    expect(after.pendingBuffers).toBe(0);
    expect(after.pooledBuffers).toBeGreaterThan(0);
    // same size class again: served from the pool, no createBuffer
    const created = after.created;
    const z = T.tensor(new Float32Array(1000), [1000], { backend: be });
    expect(be.stats().created).toBe(created);
    expect(be.stats().reused).toBeGreaterThan(after.reused);
    T.dispose([y, z]);
  });

  it('values survive reuse: a recycled buffer is fully overwritten', async () => {
    for (let i = 0; i < 3; i++) {
      const a = T.full([777], i + 1, { backend: be });
      const b = T.mul(a, 2);
      expect((await b.data()).every((v) => v === 2 * (i + 1))).toBe(true);
      T.dispose([a, b]);
    }
  });

  it('many dispatches are batched per submission; flush resolves when the queue is done', async () => {
    await be.flush();
    const s0 = be.stats();
    let x = T.full([64], 1, { backend: be });
    for (let i = 0; i < 200; i++) {
      const y = T.add(x, 1);
      x.dispose();
      x = y;
    }
    await be.flush();
    const s1 = be.stats();
    const dispatches = s1.dispatches - s0.dispatches;
    const submits = s1.submits - s0.submits;
    expect(dispatches).toBeGreaterThanOrEqual(200);
    expect(submits).toBeLessThanOrEqual(Math.ceil(dispatches / be.flushEvery) + 1);
    expect(await T.max(x).item()).toBe(201);
    x.dispose();
  });
});

describe('uniform ring and bind-group cache', () => {
  it('different uniforms in one batch reach their own dispatches; a repeated binding reuses its bind group', async () => {
    await be.flush();
    const x = T.full([300], 2, { backend: be });
    const hits0 = be.stats().bindGroupHits;
    // one batch (no submit in between): each mul has its own scalar, read from its own slot of the ring
    const ys = [3, 5, 7, 11].map((k) => T.mul(x, k));
    for (const [i, k] of [3, 5, 7, 11].entries()) expect((await ys[i].data()).every((v) => v === 2 * k)).toBe(true);
    T.dispose(ys);
    // the same op on the same buffers again (the output buffer comes back from the pool after each submit)
    for (let i = 0; i < 4; i++) {
      T.exp(x).dispose();
      await be.flush();
    }
    expect(be.stats().bindGroupHits).toBeGreaterThan(hits0);
    x.dispose();
  });

  it('more dispatches than the ring holds in one batch still get their own uniforms', async () => {
    await be.flush();
    const s0 = be.stats();
    // under time() nothing is submitted per flushEvery: the ring fills (1,024 structs) and submits by itself
    const x = T.full([16], 0, { backend: be });
    const { result } = await be.time(() => {
      let y = x;
      for (let i = 0; i < 1500; i++) {
        const next = T.add(y, i % 7);
        if (y !== x) y.dispose();
        y = next;
      }
      return y;
    });
    const expected = Array.from({ length: 1500 }, (_, i) => i % 7).reduce((a, b) => a + b, 0);
    expect((await result.data()).every((v) => v === expected)).toBe(true);
    expect(be.stats().submits - s0.submits).toBeGreaterThanOrEqual(2);
    T.dispose([x, result]);
  });

  it('a destroyed pooled buffer takes its bind groups with it (no stale group is used)', async () => {
    const a = T.full([500], 1.5, { backend: be });
    T.exp(a).dispose();
    await be.flush();
    be.purgePool(); // destroys the pooled output buffer that a cached group binds
    const b = T.exp(a);
    expect(Math.abs((await b.data())[0] - Math.exp(1.5))).toBeLessThan(1e-6);
    T.dispose([a, b]);
  });
});

describe('timing', () => {
  it('time(): GPU time from timestamp queries (when available) and wall time after the queue is done', async () => {
    const a = T.full([128, 128], 0.5, { backend: be });
    const t = await be.time(() => T.matmul(a, a));
    expect(t.wallMs).toBeGreaterThan(0);
    if (be.hasTimestamps) {
      expect(t.gpuMs).not.toBeNull();
      expect(t.gpuMs!).toBeGreaterThan(0);
    } else {
      expect(t.gpuMs).toBeNull();
    }
    expect((await t.result.data())[0]).toBe(32);
    T.dispose([a, t.result]);
  });
});

describe('device loss', () => {
  it('a lost device rejects reads and flushes with a typed error instead of hanging', async () => {
    const other = new WebGPUBackend(await requestWebGPUDevice());
    const id = other.upload(Float32Array.from([1, 2, 3]), 'f32');
    // lose the device behind the backend's back (as a driver reset would)
    other.device.destroy();
    const readErr = await other.read(id, 'f32', 3).catch((e) => e);
    expect(readErr).toBeInstanceOf(WebGPUError);
    expect(readErr.kind).toBe('device-lost');
    await expect(other.flush()).rejects.toBeInstanceOf(WebGPUError);
    expect(() => other.upload(Float32Array.from([1]), 'f32')).toThrow(/device lost/);
    other.destroy();
  });
});

describe('teardown', () => {
  it('a destroyed backend refuses work with a typed error', async () => {
    const handle = await requestWebGPUDevice();
    const other = new WebGPUBackend(handle);
    const id = other.upload(Float32Array.from([1, 2]), 'f32');
    expect(Array.from(await other.read(id, 'f32', 2))).toEqual([1, 2]);
    other.destroy();
    expect(() => other.upload(Float32Array.from([1]), 'f32')).toThrow(/destroyed/);
    await expect(other.read(id, 'f32', 2)).rejects.toBeInstanceOf(WebGPUError);
  });
});
