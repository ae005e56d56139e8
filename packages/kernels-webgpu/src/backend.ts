/// <reference types="@webgpu/types" />
import type { Backend, DataId, DType, Shape, TypedArray } from '@peftjs/tensor';
import { isByteDType, sizeOf } from '@peftjs/tensor';
import type { WebGPUDeviceHandle, WebGPUDeviceReport } from './device.js';
import { BindGroupCache, UniformRing } from './bindings.js';
import { asWebGPUError, kindOf, rootCause, WebGPUError } from './errors.js';
import { registerWebGPUKernels } from './kernels/index.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool, type PoolStats, STAGING_USAGE, TENSOR_USAGE } from './pool.js';
import { type Program, uniformBytes } from './program.js';
import { PassTimer } from './timing.js';

/** A tensor buffer on the device. bool is stored as u32 (4 bytes an element); u8 / i8 pack four to a word. */
export interface GPUData {
  buffer: GPUBuffer | null;
  /** Elements. */
  size: number;
  /** Bytes the elements occupy on the device (size · 4). */
  bytes: number;
}

export interface WebGPUBackendOptions {
  /** Submit the command encoder after this many dispatches (default 64); reads and `flush()` submit too. */
  flushEvery?: number;
  /** Most bytes of released buffers kept for reuse (default 1 GiB or a quarter of maxBufferSize, the smaller). */
  maxPooledBytes?: number;
  /**
   * Wrap every submit in error scopes (validation, out-of-memory, internal), so an error is attributed to the
   * kernels of its submit. Off by default: errors then arrive through the device's uncaptured-error event, named
   * by the program label Dawn quotes, and are thrown by the next read, flush or kernel call just the same.
   */
  debug?: boolean;
}

const MAP_READ = 0x0001;

/** Bytes bound for a tensor: its own size (not its size class), at least 4. */
const bindSize = (d: GPUData): number => Math.max(4, d.bytes);

/**
 * The WebGPU backend: tensor buffers from a size-bucketed pool, one compute pipeline per program key, and many
 * dispatches batched into one command encoder (and one compute pass) per submission. Every error WebGPU reports
 * asynchronously is caught in an error scope and thrown as a {@link WebGPUError} by the next `read()`, `flush()`
 * or kernel call.
 */
export class WebGPUBackend implements Backend {
  readonly name = 'webgpu';
  readonly device: GPUDevice;
  readonly report: WebGPUDeviceReport;
  readonly pool: BufferPool;
  readonly flushEvery: number;
  readonly hasTimestamps: boolean;
  /**
   * A CPU implementation (lavapipe/llvmpipe, SwiftShader, or an adapter flagged as fallback): programs avoid
   * constructs that take LLVM seconds to compile (fully unrolled inner loops).
   */
  readonly softwareAdapter: boolean;
  /** Error scopes around every submit (see {@link WebGPUBackendOptions.debug}). */
  readonly debug: boolean;

  private handle: WebGPUDeviceHandle | null;
  private pipelines: PipelineCache;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatches = 0;
  private encoderKernels = new Set<string>();
  private pendingChecks = new Set<Promise<void>>();
  private errors: WebGPUError[] = [];
  private lostError: WebGPUError | null = null;
  private lostPromise: Promise<never>;
  private destroyed = false;
  private timing: PassTimer | null = null;
  private uniforms: UniformRing;
  private bindGroups: BindGroupCache;
  /** Dispatches issued since creation (all kernels). */
  dispatchCount = 0;
  /** Submissions since creation. */
  submitCount = 0;

  constructor(handle: WebGPUDeviceHandle, opts: WebGPUBackendOptions = {}) {
    registerWebGPUKernels();
    this.handle = handle;
    this.device = handle.device;
    this.report = handle.report;
    this.flushEvery = opts.flushEvery ?? 64;
    this.debug = opts.debug ?? false;
    this.pipelines = new PipelineCache(
      this.device,
      (p) => this.track(p),
      (e) => this.errors.push(e),
    );
    this.hasTimestamps = this.device.features.has('timestamp-query');
    const r = this.report;
    this.softwareAdapter =
      r.isFallbackAdapter ||
      /llvmpipe|lavapipe|swiftshader|software/i.test(`${r.architecture} ${r.description} ${r.device} ${r.vendor}`);
    const maxBuf = this.device.limits.maxBufferSize;
    this.bindGroups = new BindGroupCache(this.device);
    this.uniforms = new UniformRing(this.device, this.device.limits.minUniformBufferOffsetAlignment);
    this.pool = new BufferPool(
      this.device,
      opts.maxPooledBytes ?? Math.min(2 ** 30, Math.floor(maxBuf / 4)),
      maxBuf,
      (b) => this.bindGroups.forget(b),
    );
    this.device.addEventListener('uncapturederror', (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(
        new WebGPUError(kindOf(err), this.attribute(err.message, [...this.encoderKernels]), err.message),
      );
    });
    this.lostPromise = this.device.lost.then((info) => {
      const e = new WebGPUError(
        this.destroyed ? 'destroyed' : 'device-lost',
        'device',
        this.destroyed ? 'the backend was destroyed' : `device lost (${info.reason}): ${info.message}`,
      );
      this.lostError = e;
      throw e;
    });
    // Nobody may be waiting when the device goes: keep the rejection from being reported as unhandled.
    this.lostPromise.catch(() => {});
  }

  // -------------------------------------------------------------------------------------------------------------
  // Backend interface

  upload(values: TypedArray, dtype: DType): DataId {
    this.checkUsable('upload');
    const n = values.length;
    if (isByteDType(dtype)) return this.uploadBytes(values as Uint8Array | Int8Array);
    const data = this.alloc(n, 'upload');
    if (n > 0) {
      const src =
        dtype === 'bool' || values instanceof Uint8Array
          ? Uint32Array.from(values as Uint8Array)
          : (values as Float32Array | Int32Array);
      this.device.queue.writeBuffer(data.buffer!, 0, src.buffer, src.byteOffset, n * 4);
    }
    return data;
  }

  async read(dataId: DataId, dtype: DType, size: number): Promise<TypedArray> {
    this.checkUsable('read');
    const d = dataId as GPUData;
    if (!d.buffer) throw new WebGPUError('validation', 'read', 'the buffer was released');
    const bytes = isByteDType(dtype) ? byteStorageSize(size) : size * 4;
    if (bytes > d.bytes)
      throw new WebGPUError('validation', 'read', `reading ${size} elements of a ${d.size}-element buffer`);
    if (size === 0) {
      await this.flush();
      return emptyOf(dtype);
    }
    const staging = this.pool.acquire(bytes, STAGING_USAGE, 'staging');
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(d.buffer, 0, staging, 0, bytes);
    this.encoderKernels.add('read');
    this.submit();
    let raw: ArrayBuffer;
    try {
      await Promise.race([staging.mapAsync(MAP_READ, 0, bytes), this.lostPromise]);
      raw = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
    } catch (e) {
      await this.settleChecks();
      throw this.takeError('read') ?? asWebGPUError(e, 'read');
    } finally {
      this.pool.release(staging, true);
    }
    await this.settleChecks();
    const err = this.takeError('read');
    if (err) throw err;
    if (dtype === 'f32') return new Float32Array(raw);
    if (dtype === 'i32') return new Int32Array(raw);
    if (dtype === 'u8') return new Uint8Array(raw, 0, size);
    if (dtype === 'i8') return new Int8Array(raw, 0, size);
    return Uint8Array.from(new Uint32Array(raw));
  }

  release(dataId: DataId): void {
    const d = dataId as GPUData;
    const buf = d.buffer;
    if (!buf) return;
    d.buffer = null;
    if (this.destroyed) return;
    // Buffers recorded in the open encoder are reused only after it is submitted.
    this.pool.release(buf, this.encoder === null);
  }

  byteSize(dataId: DataId): number {
    return (dataId as GPUData).bytes;
  }

  async flush(): Promise<void> {
    this.checkUsable('flush');
    this.submit();
    try {
      await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lostPromise]);
    } catch (e) {
      throw asWebGPUError(e, 'flush');
    }
    await this.settleChecks();
    const err = this.takeError('flush');
    if (err) throw err;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pass = null;
    this.encoder = null;
    this.timing?.destroy();
    this.timing = null;
    this.pool.destroyAll();
    this.bindGroups.clear();
    this.uniforms.destroy();
    this.pipelines.clear();
    this.handle?.destroy();
    this.handle = null;
  }

  // -------------------------------------------------------------------------------------------------------------
  // For kernels

  /** A new device buffer for `size` elements (4 bytes each). Refuses sizes beyond maxStorageBufferBindingSize. */
  alloc(size: number, kernel: string): GPUData {
    const bytes = size * 4;
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new WebGPUError(
        'limit',
        kernel,
        `a buffer of ${size} elements (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize of ${max} bytes ` +
          `(${this.report.description || this.report.architecture || 'this adapter'}); split the tensor or use the CPU backend`,
      );
    }
    return { buffer: this.pool.acquire(bytes, TENSOR_USAGE, kernel), size, bytes };
  }

  /** A kernel output: a new buffer for a tensor of `shape` and `dtype`. */
  output(shape: Shape, dtype: DType, kernel: string): { dataId: GPUData; shape: Shape; dtype: DType } {
    this.checkUsable(kernel);
    const n = sizeOf(shape);
    return { dataId: isByteDType(dtype) ? this.allocBytes(n, kernel) : this.alloc(n, kernel), shape, dtype };
  }

  /** A buffer for `size` byte-storage (u8 / i8) elements, packed four to a 32-bit word (padded to whole words). */
  allocBytes(size: number, kernel: string): GPUData {
    const bytes = byteStorageSize(size);
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new WebGPUError(
        'limit',
        kernel,
        `a byte buffer of ${bytes} bytes exceeds maxStorageBufferBindingSize (${max})`,
      );
    }
    return { buffer: this.pool.acquire(bytes, TENSOR_USAGE, kernel), size, bytes };
  }

  private uploadBytes(values: Uint8Array | Int8Array): GPUData {
    const data = this.allocBytes(values.length, 'upload');
    const padded = new Uint8Array(data.bytes);
    padded.set(new Uint8Array(values.buffer, values.byteOffset, values.length));
    this.device.queue.writeBuffer(data.buffer!, 0, padded.buffer, 0, data.bytes);
    return data;
  }

  /** Release a temporary buffer (one that no tensor holds). */
  releaseTemp(d: GPUData): void {
    this.release(d);
  }

  /**
   * Record one dispatch of `program` over `grid` workgroups. Inputs and outputs bind in order after the uniform
   * struct. Submits the batch every {@link flushEvery} dispatches.
   */
  dispatch(
    program: Program,
    inputs: readonly GPUData[],
    outputs: readonly GPUData[],
    uniforms: readonly number[],
    grid: readonly [number, number, number],
  ): void {
    this.checkUsable(program.kernel);
    if (inputs.length !== program.inputs.length || outputs.length !== program.outputs.length) {
      throw new WebGPUError('validation', program.kernel, `${program.key}: wrong number of bindings`);
    }
    const maxGroups = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (grid.some((g) => g > maxGroups)) {
      throw new WebGPUError(
        'limit',
        program.kernel,
        `${program.key}: grid [${grid.join(', ')}] exceeds ${maxGroups} workgroups per dimension`,
      );
    }
    if (grid.some((g) => g === 0)) return;
    const pipeline = this.pipeline(program);
    const { bindGroupLayout } = this.pipelines.layout(program.inputs.length, program.outputs.length);
    const usize = uniformBytes(program);
    if (!this.uniforms.fits(usize)) this.submit();
    const storage = [...inputs, ...outputs].map((d) => {
      if (!d.buffer) throw new WebGPUError('validation', program.kernel, 'a buffer was used after it was released');
      return { buffer: d.buffer, size: bindSize(d) };
    });
    const offset = this.uniforms.push(program, uniforms);
    const layoutKey = `${program.inputs.length}:${program.outputs.length}`;
    const bindGroup = this.bindGroups.get(
      bindGroupLayout,
      layoutKey,
      { buffer: this.uniforms.buffer, size: usize },
      storage,
    );
    const pass = this.ensurePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.encoderKernels.add(program.kernel);
    this.dispatchCount++;
    if (++this.dispatches >= this.flushEvery && !this.timing) this.submit();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Introspection

  /** Pool statistics (live, pending and pooled buffers). */
  stats(): PoolStats & { pipelines: number; dispatches: number; submits: number; bindGroupHits: number } {
    return {
      ...this.pool.stats(),
      pipelines: this.pipelines.size,
      bindGroupHits: this.bindGroups.hits,
      dispatches: this.dispatchCount,
      submits: this.submitCount,
    };
  }

  /** Destroy the pooled (free) buffers. */
  purgePool(): void {
    this.pool.purge();
  }

  /**
   * Run `fn` (which issues kernels) and time it: GPU time from timestamp queries around every compute pass when
   * the device has 'timestamp-query' (`gpuMs`, null otherwise), and wall time from the start of `fn` until the
   * queue has finished its work (`wallMs`).
   */
  async time<T>(fn: () => T): Promise<{ result: T; gpuMs: number | null; wallMs: number }> {
    await this.flush();
    if (this.hasTimestamps) this.timing = new PassTimer(this.device);
    const t0 = performance.now();
    let result: T;
    try {
      result = fn();
      this.endPass();
      await this.flush();
    } catch (e) {
      this.timing?.destroy();
      this.timing = null;
      throw e;
    }
    const wallMs = performance.now() - t0;
    const timer = this.timing as PassTimer | null;
    this.timing = null;
    let gpuMs: number | null = null;
    if (timer) {
      try {
        gpuMs = await timer.read(this.lostPromise);
      } finally {
        timer.destroy();
      }
    }
    return { result, gpuMs, wallMs };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Internals

  private checkUsable(op: string): void {
    if (this.destroyed) throw new WebGPUError('destroyed', op, 'the WebGPU backend was destroyed');
    if (this.lostError) throw new WebGPUError(this.lostError.kind, op, this.lostError.message);
    const err = this.takeError(op);
    if (err) throw err;
  }

  private takeError(_op: string): WebGPUError | null {
    const err = rootCause(this.errors);
    this.errors = [];
    return err;
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e) => {
      this.errors.push(asWebGPUError(e, 'device'));
    });
    this.pendingChecks.add(q);
    q.finally(() => this.pendingChecks.delete(q));
  }

  private async settleChecks(): Promise<void> {
    // error-scope promises may never settle once the device is gone: stop waiting at device loss
    while (this.pendingChecks.size && !this.lostError) {
      await Promise.race([Promise.all([...this.pendingChecks]), this.lostPromise.catch(() => {})]);
    }
  }

  /** Name the kernel an error message is about (Dawn quotes object labels, which are program keys). */
  private attribute(message: string, kernels: string[]): string {
    const m = /"([A-Za-z]+)[:"]/.exec(message);
    if (m && this.isKernelLabel(m[1])) return m[1];
    return kernels.length ? kernels.join(', ') : 'device';
  }

  private isKernelLabel(s: string): boolean {
    return this.pipelines.isKernelLabel(s);
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'peftjs batch' });
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    if (this.pass) return this.pass;
    const enc = this.ensureEncoder();
    const timestampWrites = this.timing?.nextPass();
    this.pass = enc.beginComputePass(timestampWrites ? { timestampWrites } : undefined);
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submit the open encoder (if any; inside error scopes in debug mode), and make the buffers it released reusable. */
  private submit(): void {
    if (!this.encoder) return;
    this.endPass();
    const dev = this.device;
    if (this.debug) {
      dev.pushErrorScope('internal');
      dev.pushErrorScope('out-of-memory');
      dev.pushErrorScope('validation');
    }
    this.uniforms.upload(dev.queue);
    dev.queue.submit([this.encoder.finish()]);
    if (this.debug) {
      const kernels = [...this.encoderKernels];
      const scopes = [dev.popErrorScope(), dev.popErrorScope(), dev.popErrorScope()];
      this.track(
        Promise.all(scopes).then((errs) => {
          for (const e of errs)
            if (e) this.errors.push(new WebGPUError(kindOf(e), this.attribute(e.message, kernels), e.message));
        }),
      );
    }
    this.encoder = null;
    this.dispatches = 0;
    this.encoderKernels.clear();
    this.submitCount++;
    this.pool.onSubmit();
  }

  /** The compute pipeline of a program, compiled on first use and cached by its key. */
  pipeline(program: Program): GPUComputePipeline {
    return this.pipelines.pipeline(program);
  }
}

function emptyOf(dtype: DType): TypedArray {
  if (dtype === 'i8') return new Int8Array(0);
  return dtype === 'f32' ? new Float32Array(0) : dtype === 'i32' ? new Int32Array(0) : new Uint8Array(0);
}

/** Bytes a byte-storage buffer of `size` elements occupies: whole 32-bit words, at least one. */
const byteStorageSize = (size: number): number => Math.max(4, Math.ceil(size / 4) * 4);
