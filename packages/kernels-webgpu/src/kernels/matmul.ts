import type { KernelOutput, TensorInfo } from '@peftjs/tensor';
import type { GPUData, WebGPUBackend } from '../backend.js';
import { gpu, webgpuKernel } from '../kernel.js';
import { grid1D, gridGroups, MAX_GROUPS } from '../program.js';
import { fillBits } from '../programs/fill.js';
import { SPLITK_REDUCE, smallMProgram, smallMShape, TK, tiledProgram } from '../programs/matmul.js';

/** Which program computes a product (see programs/matmul.ts). */
export type MatmulVariant = 'tiled64' | 'tiled32' | 'smallM' | 'splitK';

export interface MatmulPlan {
  variant: MatmulVariant;
  /** Split-K: number of K chunks and their length (a multiple of 16). */
  splits: number;
  chunk: number;
}

/** Dimensions of a batched product. */
export interface MatmulDims {
  batch: number;
  m: number;
  n: number;
  k: number;
}

/**
 * Choose the program for a shape:
 * - M ≤ 8 → smallM (vector-matrix);
 * - otherwise 64×64 tiles, or 32×32 tiles when 64-tiles would give fewer than 16 workgroups;
 * - split-K when even 32-tiles give fewer than 16 workgroups and K ≥ 1024: K is cut into up to 32 chunks
 *   (≥ 256 deep) computed by separate workgroups, then summed.
 */
export function planMatmul({ batch, m, n, k }: MatmulDims): MatmulPlan {
  if (m <= 8) return { variant: 'smallM', splits: 1, chunk: k };
  const tiles = (t: number) => batch * Math.ceil(m / t) * Math.ceil(n / t);
  if (tiles(64) >= 16) return { variant: 'tiled64', splits: 1, chunk: k };
  if (tiles(32) < 16 && k >= 1024) return splitPlan(k, Math.min(32, Math.floor(k / 256), Math.ceil(64 / tiles(32))));
  return { variant: 'tiled32', splits: 1, chunk: k };
}

/** A split-K plan with about `want` chunks, each a multiple of 16 deep. */
export function splitPlan(k: number, want: number): MatmulPlan {
  const chunk = Math.max(TK, Math.ceil(Math.ceil(k / Math.max(1, want)) / TK) * TK);
  return { variant: 'splitK', splits: Math.ceil(k / chunk), chunk };
}

/** Run a product with a given plan (tests force each variant through this). */
export function runMatmul(
  be: WebGPUBackend,
  a: TensorInfo,
  b: TensorInfo,
  transA: boolean,
  transB: boolean,
  plan?: MatmulPlan,
): KernelOutput {
  const [ba, ar, ac] = a.shape;
  const [bb, br, bc] = b.shape;
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const n = transB ? br : bc;
  const batch = Math.max(ba, bb);
  const out = be.output([batch, m, n], 'f32', 'matmul');
  if (batch === 0 || m === 0 || n === 0) return out;
  const C = out.dataId;
  if (k === 0) {
    fillBits(be, C, batch * m * n, 0, 'matmul');
    return out;
  }
  const p = plan ?? planMatmul({ batch, m, n, k });
  const A = gpu(a);
  const B = gpu(b);
  const aBatch = ba === 1 ? 0 : m * k;
  const bBatch = bb === 1 ? 0 : k * n;

  if (p.variant === 'smallM') {
    if (m > 8) throw new RangeError(`matmul: the smallM program takes M <= 8, got ${m}`);
    const vecK = transB && !transA && k % 4 === 0;
    const rows = m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : 8;
    const program = smallMProgram({ rows, transA, transB, vecK });
    const { cols, lanes } = smallMShape(transB);
    const [gx, gy] = gridGroups(Math.ceil(n / cols));
    for (let base = 0; base < batch; base += MAX_GROUPS) {
      const nb = Math.min(MAX_GROUPS, batch - base);
      be.dispatch(program, [A, B], [C], [m, n, k, aBatch, bBatch, gx, base, lanes / 2], [gx, gy, nb]);
    }
    return out;
  }

  const tile = p.variant === 'tiled32' || p.variant === 'splitK' ? 32 : 64;
  const splits = p.variant === 'splitK' ? p.splits : 1;
  const chunk = p.variant === 'splitK' ? p.chunk : Math.ceil(k / TK) * TK;
  const program = tiledProgram({
    tile,
    transA,
    transB,
    vecA: (transA ? m : k) % 4 === 0,
    vecB: (transB ? k : n) % 4 === 0,
    vecC: n % 4 === 0 && splits === 1,
    fit: m % tile === 0 && n % tile === 0 && k % TK === 0,
    unroll: !be.softwareAdapter,
  });
  const gx = Math.ceil(n / tile);
  const gy = Math.ceil(m / tile);
  if (gx > MAX_GROUPS || gy > MAX_GROUPS) {
    throw new RangeError(`matmul: [${m}×${n}] output needs ${gy}×${gx} tiles, beyond ${MAX_GROUPS} per dimension`);
  }
  let target: GPUData = C;
  if (splits > 1) target = be.alloc(splits * batch * m * n, 'matmul');
  const perDispatch = Math.max(1, Math.floor(MAX_GROUPS / splits));
  for (let base = 0; base < batch; base += perDispatch) {
    const nb = Math.min(perDispatch, batch - base);
    be.dispatch(
      program,
      [A, B],
      [target],
      [m, n, k, chunk, splits, aBatch, bBatch, base, batch, TK],
      [gx, gy, nb * splits],
    );
  }
  if (splits > 1) {
    const total = batch * m * n;
    be.dispatch(SPLITK_REDUCE, [target], [C], [total, splits], grid1D(total));
    be.releaseTemp(target);
  }
  return out;
}

/** Batched matmul with batch broadcast and transpose flags; the program is chosen by {@link planMatmul}. */
export const matmul = webgpuKernel('matmul', (be, [a, b], { transA, transB }) => runMatmul(be, a, b, transA, transB));
