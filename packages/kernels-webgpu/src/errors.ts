import { BackendError } from '@peftjs/tensor';

/** What went wrong on the device. */
export type WebGPUErrorKind =
  /** No WebGPU implementation or no adapter (see {@link WebGPUUnavailableError}). */
  | 'unavailable'
  /** A WGSL module did not compile. */
  | 'compilation'
  /** A WebGPU validation error (a bad binding, a limit exceeded by a call, …). */
  | 'validation'
  /** The device could not allocate memory. */
  | 'out-of-memory'
  /** An internal error of the implementation. */
  | 'internal'
  /** The device was lost (driver reset, `destroy()`, …); the backend is unusable afterwards. */
  | 'device-lost'
  /** A request beyond the device's limits (a buffer larger than maxStorageBufferBindingSize, …), refused up front. */
  | 'limit'
  /** The backend was used after `destroy()`. */
  | 'destroyed';

/**
 * An error of the WebGPU backend. `kernel` names the kernel (or backend operation: 'upload', 'read', 'flush') it is
 * attributed to. Errors that WebGPU reports asynchronously (validation, out-of-memory, shader compilation) are
 * thrown by the next `read()` / `flush()` (or the next kernel call), never swallowed.
 */
export class WebGPUError extends BackendError {
  constructor(
    readonly kind: WebGPUErrorKind,
    readonly kernel: string,
    detail: string,
  ) {
    super(`webgpu ${kernel}: ${detail}`);
  }
}

/** No WebGPU adapter could be had: what is missing and what to install. */
export class WebGPUUnavailableError extends WebGPUError {
  constructor(
    detail: string,
    /** A short hint naming what to install. */
    readonly hint: string = INSTALL_HINT,
  ) {
    super('unavailable', 'requestAdapter', `${detail}. ${hint}`);
  }
}

export const INSTALL_HINT =
  'In Node, install the `webgpu` npm package (Dawn) and a Vulkan driver it accepts: on Debian bookworm without a GPU, ' +
  'Mesa lavapipe from bookworm-backports (`apt-get install -t bookworm-backports mesa-vulkan-drivers`, see ' +
  'scripts/setup-webgpu-deps.sh); Mesa 22 from bookworm itself is rejected by Dawn. In a browser, use one with WebGPU ' +
  '(Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu). The CPU backend stays available: setBackend("cpu").';

/** The kind of a WebGPU error object (by its class). */
export function kindOf(e: GPUError): WebGPUErrorKind {
  const n = e.constructor?.name ?? '';
  if (n.includes('OutOfMemory')) return 'out-of-memory';
  if (n.includes('Internal')) return 'internal';
  return 'validation';
}

/** Anything thrown while talking to the device, as a {@link WebGPUError} of `op`. */
export function asWebGPUError(e: unknown, op: string): WebGPUError {
  if (e instanceof WebGPUError) return e;
  return new WebGPUError('internal', op, e instanceof Error ? e.message : String(e));
}

/** One error for several: the root cause first (a shader that did not compile invalidates every later use too). */
export function rootCause(errors: readonly WebGPUError[]): WebGPUError | null {
  if (!errors.length) return null;
  const rank: Record<string, number> = { compilation: 0, 'out-of-memory': 1, internal: 2, validation: 3 };
  const first = [...errors].sort((a, b) => (rank[a.kind] ?? 4) - (rank[b.kind] ?? 4))[0];
  const rest = errors.length - 1;
  if (rest === 0) return first;
  return new WebGPUError(
    first.kind,
    first.kernel,
    `${first.message.replace(/^webgpu [^:]*: /, '')} (and ${rest} more error(s))`,
  );
}
