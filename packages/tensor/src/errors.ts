/** Base class of every error the tensor package throws on purpose. */
export class TensorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op (broadcasting, matmul inner dims, reshape sizes, axes out of range). */
export class ShapeError extends TensorError {
  constructor(
    readonly op: string,
    detail: string,
    readonly shapes: readonly (readonly number[])[] = [],
  ) {
    super(`${op}: ${detail}${shapes.length ? ` (shapes ${shapes.map((s) => `[${s.join(', ')}]`).join(', ')})` : ''}`);
  }
}

/** An input whose dtype the op does not accept, or two inputs whose dtypes differ. */
export class DTypeError extends TensorError {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
  }
}

/** A tensor used after `dispose()` (directly, or by a scope that ended). */
export class DisposedError extends TensorError {
  constructor(
    readonly op: string,
    shape: readonly number[],
  ) {
    super(`${op}: tensor of shape [${shape.join(', ')}] was used after it was disposed`);
  }
}

/** Misuse of autograd: backward from a non-scalar without a seed, a graph whose inputs were disposed, … */
export class GradError extends TensorError {}

/** A backend that is missing, failed to start, lacks a kernel, or was mixed with another backend in one op. */
export class BackendError extends TensorError {}

/** A kernel rejected its input data (an index out of range, …). */
export class KernelError extends TensorError {
  constructor(
    readonly kernel: string,
    detail: string,
  ) {
    super(`${kernel}: ${detail}`);
  }
}
