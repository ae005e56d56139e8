/// <reference types="@webgpu/types" />
import { STAGING_USAGE, Usage } from './pool.js';

const MAP_READ = 0x0001;

/** Timestamp queries around compute passes while a {@link WebGPUBackend.time} measurement runs. */
export class PassTimer {
  readonly querySet: GPUQuerySet;
  used = 0;

  constructor(
    private readonly device: GPUDevice,
    readonly capacity = 4096,
  ) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: capacity });
  }

  /** Timestamp writes for the next pass, or undefined when the query set is full. */
  nextPass(): GPUComputePassTimestampWrites | undefined {
    if (this.used + 2 > this.capacity) return undefined;
    const w = { querySet: this.querySet, beginningOfPassWriteIndex: this.used, endOfPassWriteIndex: this.used + 1 };
    this.used += 2;
    return w;
  }

  /** Milliseconds of GPU time summed over the timed passes (after the queue has finished them). */
  async read(lost: Promise<never>): Promise<number | null> {
    const n = this.used;
    if (n === 0) return null;
    const resolve = this.device.createBuffer({ size: n * 8, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
    const staging = this.device.createBuffer({ size: n * 8, usage: STAGING_USAGE });
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.querySet, 0, n, resolve, 0);
    enc.copyBufferToBuffer(resolve, 0, staging, 0, n * 8);
    this.device.queue.submit([enc.finish()]);
    try {
      await Promise.race([staging.mapAsync(MAP_READ), lost]);
      const ts = new BigInt64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      let ns = 0n;
      for (let i = 0; i + 1 < n; i += 2) if (ts[i + 1] > ts[i]) ns += ts[i + 1] - ts[i];
      return Number(ns) / 1e6;
    } finally {
      resolve.destroy();
      staging.destroy();
    }
  }

  destroy(): void {
    this.querySet.destroy();
  }
}
