import {
  add,
  concat,
  GradError,
  gather,
  mul,
  record,
  registerGradient,
  reshape,
  runKernel,
  slice,
  stack,
  Tensor,
  zeros,
} from '@peftjs/tensor';
import { WAVELET_FILTERS, WAVELET_REDUCTIONS } from './wavelets.generated.js';

/** Where WaveFT's coefficients sit and how ΔW is built from them, for one layer (fixed once the layer exists). */
export interface WaveletLayout {
  outFeatures: number;
  inFeatures: number;
  /** Rows and columns of the dense coefficient grid (padded and made even when use_idwt). */
  gridRows: number;
  gridCols: number;
  /** Flat (row-major) grid position of each coefficient: the grid is the spectrum scattered there. */
  positions: Int32Array;
  /** Reconstruction filters (null without the inverse DWT). */
  filters: { lo: readonly number[]; hi: readonly number[] } | null;
}

/**
 * The grid layout PEFT's `get_delta_weight` uses: with the inverse DWT, the [out, in] grid is padded by the family's
 * reduction (made even), the coefficient locations shifted by half the padding; without it, the grid is [out, in].
 */
export function waveletLayout(
  outFeatures: number,
  inFeatures: number,
  rows: Int32Array,
  cols: Int32Array,
  family: string,
  useIdwt: boolean,
): WaveletLayout {
  let gridRows = outFeatures;
  let gridCols = inFeatures;
  let rowOffset = 0;
  let colOffset = 0;
  if (useIdwt) {
    const [redRows, redCols] = WAVELET_REDUCTIONS[family];
    gridRows = outFeatures + redRows;
    gridCols = inFeatures + redCols;
    gridRows += gridRows % 2;
    gridCols += gridCols % 2;
    rowOffset = Math.floor((gridRows - outFeatures) / 2);
    colOffset = Math.floor((gridCols - inFeatures) / 2);
  }
  const n = rows.length;
  const positions = new Int32Array(n);
  for (let k = 0; k < n; k++) positions[k] = (rows[k] + rowOffset) * gridCols + cols[k] + colOffset;
  const f = WAVELET_FILTERS[family];
  return {
    outFeatures,
    inFeatures,
    gridRows,
    gridCols,
    positions,
    filters: useIdwt ? { lo: f.recLo, hi: f.recHi } : null,
  };
}

const SCATTER = '@peftjs/waveft/scatter';
try {
  // d grid → d spectrum: read the grid back at the coefficients' positions.
  registerGradient(SCATTER, (dy, { inputs: [, positions] }) => [() => gather(dy, positions, 0), null]);
} catch (e) {
  if (!(e instanceof GradError)) throw e; // a second copy of this module: already registered
}

/**
 * The spectrum placed on a zero grid of `size` cells at `positions` (distinct, so PEFT's assignment is a sum) by
 * the backend's scatter-add kernel; memory is the grid plus n indices, not a map of every cell.
 */
function scatterToGrid(spectrum: Tensor, positions: Tensor, size: number): Tensor {
  const b = spectrum.backend;
  const out = Tensor.fromKernel(
    b,
    runKernel(b, 'scatterAdd', [spectrum.info('waveft'), positions.info('waveft')], { axis: 0, shape: [size] }),
  );
  return record(SCATTER, [spectrum, positions], out, undefined);
}

/**
 * One level of synthesis along `axis` (PEFT's `conv_transpose2d(stride=2)` restricted to one axis, no kernel
 * flip): out[2p + i] += x[p]·f[i], length 2m − 2 + L. Computed per output phase e ∈ {0, 1} as
 * Σ_t f[2t + e]·x[s − t] over shifted slices of x padded with L/2 − 1 zeros on both sides.
 */
function upsample(x: Tensor, f: readonly number[], axis: 0 | 1): Tensor {
  const K = f.length / 2;
  const m = x.shape[axis];
  const other = x.shape[1 - axis];
  const s = m + K - 1;
  let padded = x;
  if (K > 1) {
    const padShape = axis === 0 ? [K - 1, other] : [other, K - 1];
    const z = zeros(padShape, { backend: x.backend });
    padded = concat([z, x, z], axis);
  }
  const phase = (e: 0 | 1) => {
    let acc: Tensor | null = null;
    for (let t = 0; t < K; t++) {
      const begin = axis === 0 ? [K - 1 - t, 0] : [0, K - 1 - t];
      const size = axis === 0 ? [s, other] : [other, s];
      const term = mul(slice(padded, begin, size), f[2 * t + e]);
      acc = acc ? add(acc, term) : term;
    }
    return acc!;
  };
  const both = stack([phase(0), phase(1)], axis + 1);
  return reshape(both, axis === 0 ? [2 * s, other] : [other, 2 * s]);
}

/**
 * ΔW [out, in] of one adapter from its spectrum (PEFT's `WaveFTLayer.get_delta_weight`): the coefficients placed
 * on the grid, split into the quadrants cA | cH over cV | cD, the single-level inverse 2-D DWT (filters
 * lo⊗lo, hi⊗lo, lo⊗hi, hi⊗hi with rows first), the (2L − 3) // 2 border crop, a centre crop to [out, in], times
 * `scaling`. Built from tensor ops on the spectrum's backend, so it runs there and is differentiable.
 * `positions` is the layout's positions as an i32 tensor on that backend.
 */
export function waveletDeltaWeight(
  spectrum: Tensor,
  layout: WaveletLayout,
  positions: Tensor,
  scaling: number,
): Tensor {
  const cells = layout.gridRows * layout.gridCols;
  const grid = reshape(scatterToGrid(spectrum, positions, cells), [layout.gridRows, layout.gridCols]);
  if (!layout.filters) return mul(grid, scaling);
  const { lo, hi } = layout.filters;
  const H2 = layout.gridRows / 2;
  const W2 = layout.gridCols / 2;
  const cA = slice(grid, [0, 0], [H2, W2]);
  const cH = slice(grid, [0, W2], [H2, W2]);
  const cV = slice(grid, [H2, 0], [H2, W2]);
  const cD = slice(grid, [H2, W2], [H2, W2]);
  // Columns first (the column filter of cA, cH is lo; of cV, cD hi), then rows (the row filter of cA, cV is lo).
  const rowsLo = add(upsample(cA, lo, 1), upsample(cV, hi, 1));
  const rowsHi = add(upsample(cH, lo, 1), upsample(cD, hi, 1));
  const full = add(upsample(rowsLo, lo, 0), upsample(rowsHi, hi, 0));
  const L = lo.length;
  const border = Math.floor((2 * L - 3) / 2);
  const croppedRows = full.shape[0] - 2 * border;
  const croppedCols = full.shape[1] - 2 * border;
  const r0 = border + Math.floor((croppedRows - layout.outFeatures) / 2);
  const c0 = border + Math.floor((croppedCols - layout.inFeatures) / 2);
  return mul(slice(full, [r0, c0], [layout.outFeatures, layout.inFeatures]), scaling);
}
