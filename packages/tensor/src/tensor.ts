import type { Backend, KernelOutput } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { BYTES_PER_ELEMENT } from './dtype.js';
import { engine } from './engine.js';
import { BackendError, DisposedError } from './errors.js';
import type { DataId } from './kernels.js';
import type { Shape } from './shape.js';
import { sizeOf } from './shape.js';
import type { GradNode } from './autograd.js';
import * as ops from './ops/index.js';
import { backward as runBackward } from './autograd.js';

/** A backend buffer shared by every tensor that views it (reshape and detach share storage). */
export class Storage {
  private refs = 1;
  constructor(
    readonly backend: Backend,
    readonly dataId: DataId,
    readonly bytes: number,
  ) {
    engine.countBuffer(backend.name, bytes, 1);
  }
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) {
      this.backend.release(this.dataId);
      engine.countBuffer(this.backend.name, this.bytes, -1);
    }
  }
}

export type NestedArray = number | NestedArray[];

/**
 * An n-dimensional array on a backend. Tensors are immutable values; ops return new tensors. GPU memory is freed
 * explicitly: call `dispose()`, use `using`, or create tensors inside {@link tidy}.
 */
export class Tensor {
  readonly id: number;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /** Set on leaves to have `backward()` compute their gradient into `.grad`. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf (after `backward()`); owned by this tensor and kept out of scopes. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when autograd recorded it. */
  gradNode: GradNode | null = null;
  private storageRef: Storage | null;
  /** Tensors whose lifetime is tied to this one (constants its gradient needs). */
  private owned: Tensor[] | null = null;
  /** Disposed (not merely its storage released early, see {@link releaseData}). */
  private disposed = false;
  /** @internal Some recorded op's gradient reads this tensor's values (set by `record`). */
  savedForGrad = false;

  /** @internal Use the creation functions ({@link tensor}, {@link zeros}, …) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, requiresGrad = false) {
    this.id = engine.nextTensorId++;
    this.storageRef = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.requiresGrad = requiresGrad;
    engine.track(this);
  }

  /** @internal Wrap a kernel's output. */
  static fromKernel(backend: Backend, out: KernelOutput): Tensor {
    return new Tensor(new Storage(backend, out.dataId, backend.byteSize(out.dataId)), out.shape, out.dtype);
  }

  /** @internal Upload host values to `backend`. */
  static fromValues(backend: Backend, values: TypedArray, shape: Shape, dtype: DType): Tensor {
    const id = backend.upload(values, dtype);
    return new Tensor(new Storage(backend, id, backend.byteSize(id)), shape, dtype);
  }

  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.storageRef === null;
  }
  /** @internal */
  get storage(): Storage {
    if (!this.storageRef) throw new DisposedError('tensor', this.shape);
    return this.storageRef;
  }
  get backend(): Backend {
    return this.storage.backend;
  }
  /** @internal The kernel-level view of this tensor; throws if disposed. */
  info(op: string): { dataId: DataId; shape: Shape; dtype: DType } {
    if (!this.storageRef) throw new DisposedError(op, this.shape);
    return { dataId: this.storageRef.dataId, shape: this.shape, dtype: this.dtype };
  }
  /** A tensor of another shape over the same storage (no copy). */
  /** @internal */
  shareStorage(shape: Shape): Tensor {
    return new Tensor(this.storage.retain(), shape, this.dtype);
  }
  get bytes(): number {
    return this.size * BYTES_PER_ELEMENT[this.dtype];
  }
  /** Whether this tensor takes part in autograd (a leaf with requiresGrad, or computed from one). */
  get tracksGrad(): boolean {
    return this.requiresGrad || this.gradNode !== null;
  }

  /** Free the storage (shared storage is freed when its last tensor goes). Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storageRef?.release();
    this.storageRef = null;
    engine.untrack(this);
    if (this.owned) {
      for (const t of this.owned) t.dispose();
      this.owned = null;
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }
  /**
   * @internal Free the storage now but keep the tensor (its shape, graph node and owned constants) until it is
   * disposed: for intermediates that no gradient reads. Reading its values afterwards is a DisposedError.
   */
  releaseData(): void {
    this.storageRef?.release();
    this.storageRef = null;
  }
  /** @internal Tie `t`'s lifetime to this tensor: it leaves every scope and is disposed with this tensor. */
  adopt(t: Tensor): void {
    for (const s of engine.scopes) s.delete(t);
    this.owned ??= [];
    this.owned.push(t);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Copy the values to the host. */
  async data(): Promise<TypedArray> {
    const s = this.storage;
    return s.backend.read(s.dataId, this.dtype, this.size);
  }
  /** Synchronous copy to the host: CPU backend only. */
  dataSync(): TypedArray {
    const s = this.storage;
    if (!s.backend.readSync) {
      throw new BackendError(`dataSync() is not available on backend '${s.backend.name}': use await tensor.data()`);
    }
    return s.backend.readSync(s.dataId, this.dtype, this.size);
  }
  /** The values as nested arrays. */
  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }
  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new BackendError(`item() needs a tensor with one element, got shape [${this.shape.join(', ')}]`);
    return (await this.data())[0];
  }

  /** Reverse-mode autodiff from this tensor (a scalar, unless `grad` seeds it). Gradients accumulate into `.grad`. */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }
  /** Drop the accumulated gradient. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }
  /** Same values and storage, cut off from the autograd graph. */
  detach(): Tensor {
    return this.shareStorage(this.shape);
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}${this.isDisposed ? ', disposed' : ''})`;
  }

  // Chainable forms of the ops (see the functions in ops/ for documentation).
  add(b: Tensor | number): Tensor {
    return ops.add(this, b);
  }
  sub(b: Tensor | number): Tensor {
    return ops.sub(this, b);
  }
  mul(b: Tensor | number): Tensor {
    return ops.mul(this, b);
  }
  div(b: Tensor | number): Tensor {
    return ops.div(this, b);
  }
  pow(b: Tensor | number): Tensor {
    return ops.pow(this, b);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  silu(): Tensor {
    return ops.silu(this);
  }
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return ops.gelu(this, approximate);
  }
  matmul(b: Tensor, opts?: ops.MatmulOptions): Tensor {
    return ops.matmul(this, b, opts);
  }
  reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  transpose(dim0 = -2, dim1 = -1): Tensor {
    return ops.transpose(this, dim0, dim1);
  }
  permute(perm: readonly number[]): Tensor {
    return ops.permute(this, perm);
  }
  expand(shape: readonly number[]): Tensor {
    return ops.expand(this, shape);
  }
  slice(begin: readonly number[], size?: readonly number[]): Tensor {
    return ops.slice(this, begin, size);
  }
  sum(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops.sum(this, axes, keepdim);
  }
  mean(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops.mean(this, axes, keepdim);
  }
  max(axes?: number | readonly number[], keepdim = false): Tensor {
    return ops.max(this, axes, keepdim);
  }
  softmax(): Tensor {
    return ops.softmax(this);
  }
  logSoftmax(): Tensor {
    return ops.logSoftmax(this);
  }
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
}

function nest(values: TypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return values[0];
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim];
    const out: NestedArray[] = new Array(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = values[offset + i];
      return out;
    }
    const stride = sizeOf(shape.slice(dim + 1));
    for (let i = 0; i < n; i++) out[i] = build(offset + i * stride, dim + 1);
    return out;
  };
  return build(0, 0);
}
