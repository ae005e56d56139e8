import type { Backend } from '../backend.js';
import { runKernel } from '../backend.js';
import { type DType, isByteDType } from '../dtype.js';
import { getBackend } from '../engine.js';
import { BackendError, DisposedError, DTypeError } from '../errors.js';
import { BYTE_KERNELS, type KernelName, type KernelSignatures, type TensorInfo } from '../kernels.js';
import { Tensor } from '../tensor.js';

/** The one backend all `tensors` live on (an op never mixes backends). */
export function backendOf(op: string, tensors: readonly Tensor[]): Backend {
  let b: Backend | null = null;
  for (const t of tensors) {
    if (t.isDisposed) throw new DisposedError(op, t.shape);
    if (b && t.backend !== b) {
      throw new BackendError(
        `${op}: inputs live on different backends ('${b.name}' and '${t.backend.name}'); move them with toBackend()`,
      );
    }
    b = t.backend;
  }
  return b ?? getBackend();
}

/** Run kernel `name` on the inputs' backend and wrap its output. */
export function kernel<K extends KernelName>(
  op: string,
  name: K,
  inputs: readonly Tensor[],
  attrs: KernelSignatures[K]['attrs'],
  backend?: Backend,
): Tensor {
  const b = backend ?? backendOf(op, inputs);
  if (!BYTE_KERNELS.has(name)) {
    const made = (attrs as { dtype?: DType }).dtype;
    if (made !== undefined && isByteDType(made)) {
      throw new DTypeError(op, `cannot make ${made} tensors (byte storage: upload the bytes with tensor())`);
    }
    for (const t of inputs) {
      if (isByteDType(t.dtype)) {
        throw new DTypeError(
          op,
          `does not accept ${t.dtype} tensors (byte storage, read only by dequantizing kernels)`,
        );
      }
    }
  }
  const infos = inputs.map((t) => t.info(op)) as unknown as KernelSignatures[K]['inputs'];
  return Tensor.fromKernel(b, runKernel(b, name, infos, attrs));
}

/** Run a kernel that makes several outputs (the first plus `extra`) and wrap them all, in order. */
export function kernelOutputs<K extends KernelName>(
  op: string,
  name: K,
  inputs: readonly Tensor[],
  attrs: KernelSignatures[K]['attrs'],
  backend?: Backend,
): Tensor[] {
  const b = backend ?? backendOf(op, inputs);
  const infos = inputs.map((t) => t.info(op)) as unknown as KernelSignatures[K]['inputs'];
  const out = runKernel(b, name, infos, attrs);
  return [out, ...(out.extra ?? [])].map((o) =>
    Tensor.fromKernel(b, { dataId: o.dataId, shape: o.shape, dtype: o.dtype }),
  );
}

/** A scalar (shape []) of `dtype` on `backend`, made on the device (no host upload). */
export function scalarOn(backend: Backend, value: number, dtype: DType): Tensor {
  return Tensor.fromKernel(backend, runKernel(backend, 'fill', [], { shape: [], dtype, value }));
}

/**
 * Two operands of an elementwise op, where either may be a JS number: numbers become scalar tensors of the other
 * operand's dtype (f32 if both are numbers) on its backend. Returns the scalars made, for {@link finish}.
 * A number that the dtype cannot hold exactly is a {@link DTypeError} rather than a silent truncation: a fraction
 * next to an i32 tensor, anything but 0 / 1 next to a bool tensor.
 */
export function operands(
  op: string,
  x: Tensor | number,
  y: Tensor | number,
  like?: Tensor,
): [Tensor, Tensor, Tensor[]] {
  const ref = like ?? (x instanceof Tensor ? x : y instanceof Tensor ? y : undefined);
  const backend = ref ? backendOf(op, [ref]) : getBackend();
  const dtype: DType = ref ? ref.dtype : 'f32';
  const consts: Tensor[] = [];
  const lift = (v: Tensor | number) => {
    if (v instanceof Tensor) return v;
    if (dtype === 'i32' && !Number.isInteger(v)) {
      throw new DTypeError(op, `the number ${v} is not an integer and the tensor is i32; cast the tensor to f32 first`);
    }
    if (dtype === 'bool' && v !== 0 && v !== 1) {
      throw new DTypeError(op, `the number ${v} is not 0 or 1 and the tensor is bool; cast the tensor first`);
    }
    const s = scalarOn(backend, v, dtype);
    consts.push(s);
    return s;
  };
  return [lift(x), lift(y), consts];
}

/**
 * Settle the scalars {@link operands} made: if autograd recorded `out`, its gradient may need them, so they live as
 * long as `out`; otherwise they are freed now.
 */
export function finish(out: Tensor, consts: readonly Tensor[]): Tensor {
  for (const c of consts) {
    if (out.gradNode) out.adopt(c);
    else c.dispose();
  }
  return out;
}

export type { TensorInfo };
