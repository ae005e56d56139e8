/**
 * The CPU backend's WebAssembly linear memory: the GEMM (gemm.wat) and elementwise (elementwise.wat) modules
 * instantiated on it, its fixed region (the helper-thread protocol, job blocks, per-thread scratch), and a heap.
 *
 * One memory per JS realm, created lazily on first use and only ever grown. Past the fixed region it is a heap of
 * blocks in size classes (at most 25 % slack, so that shapes that vary a little, as a growing KV cache's do, reuse
 * each other's blocks):
 * - tensor storage: where the memory is shared (SharedArrayBuffer; its views survive growth), the CPU backend keeps
 *   large f32 tensors here ({@link heapAllocF32}), so that the wasm kernels read and write them in place instead of
 *   copying every operand in and every result out;
 * - one scratch region ({@link scratchRegion}) that a synchronous kernel call places operands in when they are not
 *   on the heap (an unshared memory, small or foreign arrays).
 * Blocks are freed explicitly (the backend releases a tensor's storage) or, for tensors that are never disposed,
 * when the garbage collector reclaims them (backend.ts registers each block with a FinalizationRegistry).
 */
import { ELEMENTWISE_WASM_MEMORY_FLAG_OFFSET, ELEMENTWISE_WASM_SHARED_BASE64 } from './elementwise-wasm.generated.js';
import { GEMM_WASM_MEMORY_FLAG_OFFSET, GEMM_WASM_SHARED_BASE64 } from './gemm-wasm.generated.js';

const PAGE = 65536;
/** Declared maximum of the memory (gemm.wat, elementwise.wat): 1 GiB. */
const MAX_PAGES = 16384;
/** Most helper workers ever started (the fixed region has a scratch slot for each). */
export const MAX_WORKERS = 7;

// Fixed region at the start of linear memory.
/** Sync blocks (16 Int32 words each) of the helper-thread protocol (wasm-threads.ts). */
export const SYNC_BASE = 0;
export const SYNC_BLOCKS = 4;
/** Parameter block read by gemm.wat's run_task (25 i32 words). */
export const GEMM_JOB = 256;
/** Parameter block of an elementwise job (32 i32 words, read by elementwise.wat's run_task). */
export const ELEMENTWISE_JOB = 384;
/** Per-thread scratch areas (slot 0: the calling thread, slot w: helper w), each {@link SCRATCH_BYTES}. */
export const SCRATCH = 512;
/** One thread's scratch: a packed MCB×KB block of A plus a micro-tile (gemm.wat), ≥ 128 KiB. */
export const SCRATCH_BYTES = align64((128 * 256 + 4 * 8) * 4);
const HEAP_BASE = align64(SCRATCH + (MAX_WORKERS + 1) * SCRATCH_BYTES);
/** Bytes kept readable past the heap's top: kernels may read a vector past the end of their last operand. */
const TAIL_SLACK = 64;

export function align64(x: number): number {
  return (x + 63) & ~63;
}

export type RunTask = (job: number, task: number, scratch: number) => void;

export interface WasmState {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  shared: boolean;
  runTask: RunTask;
  /** The elementwise module (elementwise.wat) on the same memory, or null where it does not compile. */
  elementwise: { module: WebAssembly.Module; exports: WebAssembly.Exports; runTask: RunTask } | null;
  /** Views of the whole memory, renewed when it grows. */
  f32: Float32Array;
  i32: Int32Array;
}

let state: WasmState | null | undefined;

/** Module bytes from the base64 of a generated file. */
export function decode(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** A module's bytes, importing a shared memory or (`shared` false) an unshared one: its limits flag cleared. */
export function moduleBytes(b64: string, flagOffset: number, shared: boolean): Uint8Array<ArrayBuffer> {
  const bytes = decode(b64);
  if (!shared) bytes[flagOffset] = 1;
  return bytes;
}

/** The elementwise module's bytes (elementwise.wat), for a shared or an unshared memory. */
export const elementwiseModuleBytes = (shared: boolean) =>
  moduleBytes(ELEMENTWISE_WASM_SHARED_BASE64, ELEMENTWISE_WASM_MEMORY_FLAG_OFFSET, shared);

function instantiate(bytes: Uint8Array<ArrayBuffer>, shared: boolean): WasmState | null {
  if (!WebAssembly.validate(bytes)) return null; // no SIMD128 (or no threads proposal for the shared variant)
  const module = new WebAssembly.Module(bytes);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  let elementwise: WasmState['elementwise'] = null;
  try {
    const ewModule = new WebAssembly.Module(elementwiseModuleBytes(shared));
    const ewExports = new WebAssembly.Instance(ewModule, { env: { memory } }).exports;
    elementwise = { module: ewModule, exports: ewExports, runTask: ewExports.run_task as RunTask };
  } catch {
    elementwise = null; // the GEMM still works; elementwise kernels stay in JavaScript
  }
  const s: WasmState = {
    module,
    memory,
    shared,
    runTask: instance.exports.run_task as RunTask,
    elementwise,
    f32: new Float32Array(memory.buffer),
    i32: new Int32Array(memory.buffer),
  };
  return ensureBytes(s, HEAP_BASE + TAIL_SLACK) ? s : null;
}

/** The wasm modules on their memory, or null where WebAssembly SIMD is unavailable (created on first call). */
export function wasmState(): WasmState | null {
  if (state !== undefined) return state;
  state = null;
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return null;
    if (typeof SharedArrayBuffer === 'function') {
      try {
        state = instantiate(moduleBytes(GEMM_WASM_SHARED_BASE64, GEMM_WASM_MEMORY_FLAG_OFFSET, true), true);
      } catch {
        state = null;
      }
    }
    if (!state) state = instantiate(moduleBytes(GEMM_WASM_SHARED_BASE64, GEMM_WASM_MEMORY_FLAG_OFFSET, false), false);
  } catch {
    state = null;
  }
  if (state?.shared) heapBuffers.add(state.memory.buffer);
  return state;
}

/** Grow the memory to at least `bytes`; false where it cannot (the declared maximum, or the engine refuses). */
export function ensureBytes(s: WasmState, bytes: number): boolean {
  const have = s.memory.buffer.byteLength;
  if (have >= bytes) return true;
  const pages = Math.ceil(bytes / PAGE);
  if (pages > MAX_PAGES) return false;
  try {
    s.memory.grow(pages - have / PAGE);
  } catch {
    return false;
  }
  s.f32 = new Float32Array(s.memory.buffer);
  s.i32 = new Int32Array(s.memory.buffer);
  if (s.shared) heapBuffers.add(s.memory.buffer); // a shared memory's views of every size stay valid
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Heap

let heapTop = HEAP_BASE;
/** Free blocks by size class. */
const freeBlocks = new Map<number, number[]>();
/** Every SharedArrayBuffer this memory has been seen as (one per size it grew to); views on any of them are ours. */
const heapBuffers = new WeakSet<ArrayBufferLike>();
const heapStats = { tensorBytes: 0, blocks: 0 };

/** The block size for `bytes`: 64-byte multiples up to 4 KiB, then four classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 4096) return align64(Math.max(bytes, 64));
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / step) * step;
}

function allocBlock(s: WasmState, bytes: number): number {
  const size = sizeClass(bytes);
  const reuse = freeBlocks.get(size)?.pop();
  if (reuse !== undefined) return reuse;
  if (!ensureBytes(s, heapTop + size + TAIL_SLACK)) return -1;
  const off = heapTop;
  heapTop += size;
  return off;
}

function freeBlock(off: number, bytes: number): void {
  const size = sizeClass(bytes);
  const list = freeBlocks.get(size);
  if (list) list.push(off);
  else freeBlocks.set(size, [off]);
}

/**
 * A Float32Array of n elements on the heap (zero-filled unless `zeroed` is false), or null where the memory is not shared (its views would not
 * survive growth) or cannot grow that far. Give it back with {@link heapFreeF32}.
 */
export function heapAllocF32(n: number, zeroed = true): Float32Array | null {
  const s = wasmState();
  if (!s?.shared || n <= 0) return null;
  const off = allocBlock(s, 4 * n);
  if (off < 0) return null;
  heapStats.tensorBytes += sizeClass(4 * n);
  heapStats.blocks++;
  const view = new Float32Array(s.memory.buffer, off, n);
  if (zeroed) view.fill(0); // a reused block holds old values
  return view;
}

/** Give back a block of {@link heapAllocF32} (by its byte offset and length in elements). */
export function heapFreeF32(byteOffset: number, n: number): void {
  heapStats.tensorBytes -= sizeClass(4 * n);
  heapStats.blocks--;
  freeBlock(byteOffset, 4 * n);
}

/** The byte offset of a view that lies in this memory's heap (so kernels can use it in place), else -1. */
export function heapOffset(v: ArrayBufferView): number {
  return heapBuffers.has(v.buffer) ? v.byteOffset : -1;
}

/** Bytes of tensor storage on the heap now, the blocks holding it, and how far the heap reaches. */
export function wasmHeapStats(): { tensorBytes: number; blocks: number; heapBytes: number } {
  return { ...heapStats, heapBytes: heapTop - HEAP_BASE };
}

// ---------------------------------------------------------------------------------------------------------------
// Scratch region

let region = { off: -1, bytes: 0 };

/**
 * `bytes` of heap for the operands of one synchronous kernel call (the GEMM's packing buffers, the elementwise
 * kernels' copies), reused by the next call: nothing else touches it between a kernel's start and its end. -1 where
 * the memory cannot grow that far.
 */
export function scratchRegion(s: WasmState, bytes: number): number {
  if (region.off >= 0 && region.bytes >= bytes) return region.off;
  const grown = Math.ceil(region.bytes * 1.5);
  if (region.off >= 0) freeBlock(region.off, region.bytes);
  region = { off: -1, bytes: 0 };
  for (const want of grown > bytes ? [grown, bytes] : [bytes]) {
    const off = allocBlock(s, want);
    if (off >= 0) {
      region = { off, bytes: sizeClass(want) };
      return off;
    }
  }
  return -1;
}

/** The linear memory, and a scratch region of it for a kernel's operands (see {@link wasmKernelArena}). */
export interface WasmArena {
  memory: WebAssembly.Memory;
  shared: boolean;
  /** The elementwise module's exports on this memory (null where it did not compile). */
  elementwise: WebAssembly.Exports | null;
  /** Byte offset where the region starts (64-byte aligned). */
  base: number;
  /** Views of the whole memory as it is now (the memory may grow at the next call). */
  f32: Float32Array;
  i32: Int32Array;
}

/**
 * `bytes` of scratch for the elementwise kernels (simd.ts), or null where the wasm module is unavailable or the
 * memory cannot grow that far. Valid until the next kernel call on this thread.
 */
export function wasmKernelArena(bytes: number): WasmArena | null {
  const s = wasmState();
  if (!s) return null;
  const base = bytes > 0 ? scratchRegion(s, bytes) : HEAP_BASE;
  if (base < 0) return null;
  return {
    memory: s.memory,
    shared: s.shared,
    elementwise: s.elementwise?.exports ?? null,
    base,
    f32: s.f32,
    i32: s.i32,
  };
}
