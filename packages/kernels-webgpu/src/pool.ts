/// <reference types="@webgpu/types" />

/** GPUBufferUsage flags, spelled out so that the package does not depend on Dawn's globals in Node. */
export const Usage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  INDEX: 0x0010,
  VERTEX: 0x0020,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
  QUERY_RESOLVE: 0x0200,
} as const;

/** Usage of every tensor buffer: bound as storage, filled by writeBuffer, copied out for readback. */
export const TENSOR_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
export const UNIFORM_USAGE = Usage.UNIFORM | Usage.COPY_DST;
export const STAGING_USAGE = Usage.MAP_READ | Usage.COPY_DST;

/**
 * Size classes: powers of two up to 4 KiB, then four classes per octave (2^k·{1, 1.25, 1.5, 1.75}), so at most
 * 25 % of a large buffer is slack while nearby sizes share buffers. Never below 16 bytes.
 */
export function bucketSize(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes / 4) * 4);
  if (n <= 4096) return 2 ** Math.ceil(Math.log2(n));
  const p = 2 ** Math.floor(Math.log2(n));
  const step = p / 4;
  return Math.ceil(n / step) * step;
}

export interface PoolStats {
  /** Buffers handed out and not yet released (tensor storage, plus temporaries of the current batch). */
  liveBuffers: number;
  /** Their allocated bytes (size classes, so ≥ the tensors' bytes). */
  liveBytes: number;
  /** Released buffers waiting for the submission of the commands that use them. */
  pendingBuffers: number;
  pendingBytes: number;
  /** Released buffers ready for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
  /** createBuffer calls so far. */
  created: number;
  /** Requests served from the pool. */
  reused: number;
  /** Buffers destroyed (pool over its cap, purge, destroy). */
  destroyed: number;
}

/**
 * Size-bucketed reuse of GPU buffers. A released buffer is not reusable at once: commands recorded into the
 * current (unsubmitted) command encoder may still read it, and a `writeBuffer` into it would run before them on the
 * queue. It waits in `pending` until the backend submits that encoder ({@link onSubmit}); after that, queue order
 * makes reuse safe.
 */
export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private live = new Set<GPUBuffer>();
  private liveBytes = 0;
  private pooledBytes = 0;
  private pendingBytes = 0;
  private created = 0;
  private reused = 0;
  private destroyed = 0;
  /** Pool entries in release order, for evicting the oldest when over the cap. */
  private order: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    /** Most bytes kept for reuse; beyond it the oldest pooled buffers are destroyed. */
    public maxPooledBytes: number,
    /** Largest buffer the device allows. */
    private readonly maxBufferSize: number,
    /** Told of every buffer about to be destroyed (bind groups that hold it go with it). */
    private readonly onDestroy: (buf: GPUBuffer) => void = () => {},
  ) {}

  private destroy(buf: GPUBuffer): void {
    this.onDestroy(buf);
    buf.destroy();
    this.destroyed++;
  }

  private key(size: number, usage: number): string {
    return `${usage}:${size}`;
  }

  /** A buffer of at least `bytes` with `usage`, from the pool when one of its size class is free. */
  acquire(bytes: number, usage: number, label?: string): GPUBuffer {
    let size = bucketSize(bytes);
    if (size > this.maxBufferSize) size = Math.max(16, Math.ceil(bytes / 4) * 4);
    const list = this.free.get(this.key(size, usage));
    let buf = list?.pop();
    if (buf) {
      this.reused++;
      this.pooledBytes -= buf.size;
      const i = this.order.lastIndexOf(buf);
      if (i >= 0) this.order.splice(i, 1);
    } else {
      buf = this.device.createBuffer({ size, usage, label });
      this.created++;
    }
    this.live.add(buf);
    this.liveBytes += buf.size;
    return buf;
  }

  /** Give a buffer back. `immediate`: no unsubmitted command uses it, so it can be reused at once. */
  release(buf: GPUBuffer, immediate: boolean): void {
    if (!this.live.delete(buf)) return;
    this.liveBytes -= buf.size;
    if (immediate) this.toFree(buf);
    else {
      this.pending.push(buf);
      this.pendingBytes += buf.size;
    }
  }

  /** The backend submitted its command encoder: pending buffers become reusable. */
  onSubmit(): void {
    const p = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const b of p) this.toFree(b);
  }

  private toFree(buf: GPUBuffer): void {
    const k = this.key(buf.size, buf.usage);
    const list = this.free.get(k);
    if (list) list.push(buf);
    else this.free.set(k, [buf]);
    this.order.push(buf);
    this.pooledBytes += buf.size;
    while (this.pooledBytes > this.maxPooledBytes && this.order.length) {
      const old = this.order.shift()!;
      const l = this.free.get(this.key(old.size, old.usage));
      const i = l ? l.indexOf(old) : -1;
      if (l && i >= 0) l.splice(i, 1);
      this.pooledBytes -= old.size;
      this.destroy(old);
    }
  }

  /** Destroy every pooled (free) buffer. */
  purge(): void {
    for (const list of this.free.values()) {
      for (const b of list) this.destroy(b);
    }
    this.free.clear();
    this.order = [];
    this.pooledBytes = 0;
  }

  /** Destroy everything, live buffers included (backend teardown). */
  destroyAll(): void {
    this.purge();
    for (const b of [...this.live, ...this.pending]) this.destroy(b);
    this.live.clear();
    this.pending = [];
    this.liveBytes = 0;
    this.pendingBytes = 0;
  }

  stats(): PoolStats {
    let pooledBuffers = 0;
    for (const l of this.free.values()) pooledBuffers += l.length;
    return {
      liveBuffers: this.live.size,
      liveBytes: this.liveBytes,
      pendingBuffers: this.pending.length,
      pendingBytes: this.pendingBytes,
      pooledBuffers,
      pooledBytes: this.pooledBytes,
      created: this.created,
      reused: this.reused,
      destroyed: this.destroyed,
    };
  }
}
