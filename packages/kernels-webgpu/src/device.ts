/// <reference types="@webgpu/types" />
import { WebGPUUnavailableError } from './errors.js';

/** Optional features the backend uses when the adapter has them. */
export const USEFUL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

/** The limits raised to the adapter's maxima (WebGPU's defaults are far below what real devices allow). */
export const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindingsPerBindGroup',
] as const;

export interface RequestDeviceOptions {
  /**
   * Dawn toggles for the `webgpu` package in Node, e.g. `['enable-dawn-features=allow_unsafe_apis']` or
   * `['disable-dawn-features=timestamp_quantization']`. Ignored in browsers (use Chrome flags there).
   */
  dawnToggles?: readonly string[];
  powerPreference?: GPUPowerPreference;
  /** Force the fallback (software) adapter when the implementation has one. */
  forceFallbackAdapter?: boolean;
  /** Features that must be present (the request fails otherwise). */
  requiredFeatures?: readonly GPUFeatureName[];
  /** Features requested when present; defaults to {@link USEFUL_FEATURES}. */
  optionalFeatures?: readonly GPUFeatureName[];
  /** Request the adapter's maximum for the limits in {@link RAISED_LIMITS} (default true). */
  maxLimits?: boolean;
  /** Use this GPU object instead of `navigator.gpu` / the `webgpu` package (tests, workers, custom builds). */
  gpu?: GPU;
  /** A label for the device (shows in Dawn's messages). */
  label?: string;
}

/** What the device is, as reported to users and test logs. */
export interface WebGPUDeviceReport {
  /** 'node' (Dawn via the `webgpu` package) or 'browser' (navigator.gpu). */
  platform: 'node' | 'browser';
  description: string;
  vendor: string;
  architecture: string;
  device: string;
  isFallbackAdapter: boolean;
  /** Features enabled on the device. */
  features: string[];
  /** The key limits the device was created with. */
  limits: Record<(typeof RAISED_LIMITS)[number], number>;
  /** Dawn toggles the instance was created with (Node only). */
  dawnToggles: string[];
}

/** A device with its adapter and a description of what was obtained. */
export interface WebGPUDeviceHandle {
  device: GPUDevice;
  adapter: GPUAdapter;
  report: WebGPUDeviceReport;
  /** Destroy the device and drop the references that keep Node's event loop alive. */
  destroy(): void;
}

const isBrowser = (): boolean =>
  typeof navigator !== 'undefined' &&
  typeof (navigator as { gpu?: unknown }).gpu !== 'undefined' &&
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'undefined';

/** The `webgpu` package's entry (loaded lazily: browsers never touch it). */
interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

async function loadDawn(): Promise<DawnModule> {
  // A variable specifier: bundlers for the browser must not try to resolve the Node-only package.
  const spec = 'webgpu';
  try {
    return (await import(/* @vite-ignore */ spec)) as DawnModule;
  } catch (e) {
    throw new WebGPUUnavailableError(
      `the \`webgpu\` package (Dawn for Node) could not be loaded: ${(e as Error).message}`,
    );
  }
}

function describeAdapter(
  adapter: GPUAdapter,
): Pick<WebGPUDeviceReport, 'description' | 'vendor' | 'architecture' | 'device' | 'isFallbackAdapter'> {
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  return {
    description: info?.description ?? '',
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    isFallbackAdapter:
      (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
      (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ??
      false,
  };
}

/**
 * Dawn instances in this process, one per set of toggles, shared by every device requested with those toggles and
 * dropped when the last of those devices is destroyed (a referenced instance keeps Node's event loop alive). Creating
 * and dropping one instance per device let Dawn's event processing deadlock on lavapipe (seen in CI, in a test that
 * destroys several devices), and instances are heavy anyway.
 */
const dawnInstances = new Map<string, { gpu: GPU; users: number }>();

function acquireDawnInstance(create: (toggles: string[]) => GPU, toggles: string[]): { gpu: GPU; release: () => void } {
  const key = JSON.stringify(toggles);
  let entry = dawnInstances.get(key);
  if (!entry) {
    entry = { gpu: create(toggles), users: 0 };
    dawnInstances.set(key, entry);
  }
  entry.users++;
  const shared = entry;
  let released = false;
  return {
    gpu: shared.gpu,
    release() {
      if (released) return;
      released = true;
      if (--shared.users === 0 && dawnInstances.get(key) === shared) dawnInstances.delete(key);
    },
  };
}

/**
 * Acquire a WebGPU device: `navigator.gpu` in browsers, the `webgpu` package (Dawn) in Node. Requests the adapter's
 * maximum limits and the useful optional features present ('shader-f16', 'subgroups', 'timestamp-query'), and
 * reports what it got. Throws {@link WebGPUUnavailableError} (naming what to install) when there is no adapter.
 */
export async function requestWebGPUDevice(opts: RequestDeviceOptions = {}): Promise<WebGPUDeviceHandle> {
  let gpu: GPU | null = opts.gpu ?? null;
  let platform: 'node' | 'browser' = 'browser';
  const toggles = [...(opts.dawnToggles ?? [])];
  let releaseInstance = () => {};
  if (!gpu) {
    if (isBrowser()) {
      gpu = (navigator as Navigator & { gpu: GPU }).gpu;
    } else if ((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node) {
      platform = 'node';
      const dawn = await loadDawn();
      // Dawn's globals (GPUBufferUsage, GPUMapMode, …) for code that expects them; never overwrite existing ones.
      for (const [k, v] of Object.entries(dawn.globals)) {
        if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
      }
      const instance = acquireDawnInstance(dawn.create, toggles);
      gpu = instance.gpu;
      releaseInstance = instance.release;
    } else {
      throw new WebGPUUnavailableError(
        'this environment has no navigator.gpu (WebGPU is not enabled or not supported)',
      );
    }
  } else {
    platform = isBrowser() ? 'browser' : 'node';
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({
      powerPreference: opts.powerPreference,
      forceFallbackAdapter: opts.forceFallbackAdapter,
    });
  } catch (e) {
    releaseInstance();
    throw new WebGPUUnavailableError(`requestAdapter() failed: ${(e as Error).message}`);
  }
  if (!adapter) {
    releaseInstance();
    throw new WebGPUUnavailableError(
      platform === 'node'
        ? 'Dawn found no WebGPU adapter (no Vulkan/Metal/D3D12 driver it accepts)'
        : 'navigator.gpu.requestAdapter() returned null (WebGPU is disabled or the GPU is blocklisted)',
    );
  }
  const wanted = new Set<GPUFeatureName>([...(opts.requiredFeatures ?? [])]);
  for (const f of opts.optionalFeatures ?? USEFUL_FEATURES) if (adapter.features.has(f)) wanted.add(f);
  const requiredLimits: Record<string, number> = {};
  if (opts.maxLimits !== false) {
    for (const name of RAISED_LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
      if (typeof v === 'number') requiredLimits[name] = v;
    }
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      label: opts.label ?? 'peftjs',
      requiredFeatures: [...wanted],
      requiredLimits,
    });
  } catch (e) {
    releaseInstance();
    throw new WebGPUUnavailableError(`requestDevice() failed: ${(e as Error).message}`);
  }
  const limits = {} as WebGPUDeviceReport['limits'];
  for (const name of RAISED_LIMITS) {
    limits[name] = (device.limits as unknown as Record<string, number | undefined>)[name] ?? 0;
  }
  const report: WebGPUDeviceReport = {
    platform,
    ...describeAdapter(adapter),
    features: [...device.features].map(String).sort(),
    limits,
    dawnToggles: platform === 'node' ? toggles : [],
  };
  let handle: WebGPUDeviceHandle | null = null;
  handle = {
    device,
    adapter,
    report,
    destroy() {
      device.destroy();
      // Drop every reference to the Dawn instance: in Node it keeps the event loop alive while referenced.
      if (handle) {
        (handle as { adapter: GPUAdapter | null }).adapter = null;
      }
      gpu = null;
      adapter = null;
      releaseInstance();
    },
  };
  return handle;
}

/** One line for logs: "lavapipe (LLVM 19, 256 bits) [mesa/cpu] node, features: shader-f16 subgroups timestamp-query". */
export function formatDeviceReport(r: WebGPUDeviceReport): string {
  const name = r.description || r.device || r.architecture || 'unknown adapter';
  return (
    `${name} [${r.vendor || '?'}/${r.architecture || '?'}]${r.isFallbackAdapter ? ' (fallback)' : ''} on ${r.platform}; ` +
    `features: ${r.features.filter((f) => (USEFUL_FEATURES as readonly string[]).includes(f)).join(' ') || 'none'}; ` +
    `maxStorageBufferBindingSize ${r.limits.maxStorageBufferBindingSize}, maxBufferSize ${r.limits.maxBufferSize}, ` +
    `maxComputeWorkgroupStorageSize ${r.limits.maxComputeWorkgroupStorageSize}`
  );
}
