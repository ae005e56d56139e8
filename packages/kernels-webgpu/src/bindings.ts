/// <reference types="@webgpu/types" />
import { type Program, uniformBytes, writeUniforms } from './program.js';
import { UNIFORM_USAGE } from './pool.js';

/**
 * The uniform structs of one batch of dispatches, packed into one buffer at aligned offsets and written with one
 * `writeBuffer` just before the batch is submitted (queue order keeps the previous batch's reads first). Programs
 * bind it with a dynamic offset, so their bind groups do not depend on it.
 */
export class UniformRing {
  readonly buffer: GPUBuffer;
  private readonly host: ArrayBuffer;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private used = 0;

  constructor(
    device: GPUDevice,
    private readonly align: number,
    readonly capacity = 1 << 18,
  ) {
    this.buffer = device.createBuffer({ size: capacity, usage: UNIFORM_USAGE, label: 'uniforms' });
    this.host = new ArrayBuffer(capacity);
    this.u32 = new Uint32Array(this.host);
    this.i32 = new Int32Array(this.host);
    this.f32 = new Float32Array(this.host);
  }

  /** Whether one more struct of `bytes` fits in this batch. */
  fits(bytes: number): boolean {
    return this.next() + bytes <= this.capacity;
  }

  /** Pack a program's uniform values; returns their offset in {@link buffer}. */
  push(p: Program, values: readonly number[]): number {
    const offset = this.next();
    writeUniforms(p, values, { u32: this.u32, i32: this.i32, f32: this.f32 }, offset / 4);
    this.used = offset + uniformBytes(p);
    return offset;
  }

  /** Write the batch's structs to the device (call right before the submit that uses them) and start a new batch. */
  upload(queue: GPUQueue): void {
    if (this.used) queue.writeBuffer(this.buffer, 0, this.host, 0, this.used);
    this.used = 0;
  }

  destroy(): void {
    this.buffer.destroy();
  }

  private next(): number {
    return Math.ceil(this.used / this.align) * this.align;
  }
}

/** Most bind groups kept; past it the cache starts over (a training step reuses far fewer). */
const MAX_GROUPS = 8192;

/**
 * Bind groups by layout and buffers: pooled buffers come back for the same roles step after step, so most
 * dispatches find their group. A group dies with any of its buffers ({@link forget}).
 */
export class BindGroupCache {
  private groups = new Map<string, GPUBindGroup>();
  private keysOf = new Map<GPUBuffer, string[]>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  hits = 0;
  misses = 0;

  constructor(private readonly device: GPUDevice) {}

  get(
    layout: GPUBindGroupLayout,
    layoutKey: string,
    uniform: { buffer: GPUBuffer; size: number },
    storage: readonly { buffer: GPUBuffer; size: number }[],
  ): GPUBindGroup {
    let key = `${layoutKey}|${this.id(uniform.buffer)}:${uniform.size}`;
    for (const s of storage) key += `|${this.id(s.buffer)}:${s.size}`;
    const hit = this.groups.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    if (this.groups.size >= MAX_GROUPS) this.clear();
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform.buffer, size: uniform.size } }];
    storage.forEach((s, i) => {
      entries.push({ binding: i + 1, resource: { buffer: s.buffer, offset: 0, size: s.size } });
    });
    const group = this.device.createBindGroup({ layout, entries, label: 'bindings' });
    this.groups.set(key, group);
    for (const b of [uniform.buffer, ...storage.map((s) => s.buffer)]) {
      const keys = this.keysOf.get(b);
      if (keys) keys.push(key);
      else this.keysOf.set(b, [key]);
    }
    return group;
  }

  /** Drop the groups that bind `buffer` (it is being destroyed). */
  forget(buffer: GPUBuffer): void {
    const keys = this.keysOf.get(buffer);
    if (!keys) return;
    this.keysOf.delete(buffer);
    for (const k of keys) this.groups.delete(k);
  }

  clear(): void {
    this.groups.clear();
    this.keysOf.clear();
  }

  get size(): number {
    return this.groups.size;
  }

  private id(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
    }
    return id;
  }
}
