/**
 * ΔW against PEFT's own `WaveFTLinear.get_delta_weight` (float64; test/fixtures/make_delta.py) for Haar on even and
 * odd shapes, longer Daubechies, symlet and coiflet filters, several seeds and scalings, and use_idwt=false; and the
 * coefficient locations PEFT drew there.
 */
import { readFileSync } from 'node:fs';
import { loadTensors } from '@peftjs/safetensors';
import { type Tensor, Tensor as T, relMaxError } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { WAVELET_FILTERS, waveftLocations, waveletDeltaWeight, waveletLayout } from '../src/index.js';

interface Case {
  name: string;
  out: number;
  inp: number;
  n: number;
  family: string;
  seed: number;
  scaling: number;
  use_idwt: boolean;
}
const cases = JSON.parse(readFileSync(new URL('./fixtures/delta.json', import.meta.url), 'utf8')) as Case[];
const fixture = await loadTensors(readFileSync(new URL('./fixtures/delta.safetensors', import.meta.url)));

describe('WaveFT ΔW matches PEFT', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { rows, cols } = waveftLocations(c.out, c.inp, c.n, c.seed);
    const indices = await fixture[`${c.name}.indices`].data();
    expect(Array.from(rows)).toEqual(Array.from(indices.subarray(0, c.n)));
    expect(Array.from(cols)).toEqual(Array.from(indices.subarray(c.n)));
    const layout = waveletLayout(c.out, c.inp, rows, cols, c.family, c.use_idwt);
    const spectrum = fixture[`${c.name}.spectrum`] as Tensor;
    const cells = T.fromValues(spectrum.backend, layout.positions, [layout.positions.length], 'i32');
    const delta = waveletDeltaWeight(spectrum, layout, cells, c.scaling);
    expect(delta.shape).toEqual([c.out, c.inp]);
    const err = relMaxError(await delta.data(), await fixture[`${c.name}.delta`].data());
    expect(err).toBeLessThan(1e-5);
    delta.dispose();
    cells.dispose();
  });

  it('implements every family PEFT has filters for, with rec_hi[i] = (−1)^i·rec_lo[L−1−i]', () => {
    expect(Object.keys(WAVELET_FILTERS)).toHaveLength(24);
    for (const { recLo, recHi } of Object.values(WAVELET_FILTERS)) {
      const L = recLo.length;
      expect(L % 2).toBe(0);
      for (let i = 0; i < L; i++) expect(recHi[i]).toBe((i % 2 ? -1 : 1) * recLo[L - 1 - i]);
    }
  });
});
