/**
 * Checks of the float64 reference itself against values known independently (tables, hand computation), so that a
 * wrong reference cannot silently agree with a wrong op.
 */
import { expect } from 'vitest';
import { compareValues } from './harness.js';
import * as R from './reference.js';
import type { SpecialTest } from './special.js';

const near = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12): void => {
  const c = compareValues(got, want, tol, 1e-12, 'reference');
  expect(c.ok, c.message).toBe(true);
};

export function referenceTests(): SpecialTest[] {
  return [
    {
      name: 'reference/erf-known-values',
      run: () => {
        // Abramowitz & Stegun table 7.1 and high-precision values
        const table: [number, number][] = [
          [0, 0],
          [0.1, 0.1124629160182849],
          [0.5, 0.5204998778130465],
          [1, 0.8427007929497149],
          [1.5, 0.9661051464753108],
          [2, 0.9953222650189527],
          [2.5, 0.999593047982555],
          [3, 0.9999779095030014],
          [4, 0.9999999845827421],
          [-1, -0.8427007929497149],
        ];
        for (const [x, want] of table) expect(Math.abs(R.erf(x) - want), `erf(${x})`).toBeLessThan(1e-14);
        // gelu(1) = 0.5·(1 + erf(1/√2)) = 0.8413447460685429
        expect(Math.abs(R.geluS(1) - 0.8413447460685429)).toBeLessThan(1e-14);
      },
    },
    {
      name: 'reference/hand-computed',
      run: () => {
        // [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]
        const a = R.ref([2, 2], [1, 2, 3, 4]);
        const b = R.ref([2, 2], [5, 6, 7, 8]);
        near(R.matmul(a, b).data, [19, 22, 43, 50]);
        near(R.matmul(a, b, true, false).data, [26, 30, 38, 44]);
        near(R.matmul(a, b, false, true).data, [17, 23, 39, 53]);
        // softmax([0, ln 2]) = [1/3, 2/3]
        near(R.softmax(R.ref([2], [0, Math.LN2])).data, [1 / 3, 2 / 3]);
        near(R.logSoftmax(R.ref([2], [0, Math.LN2])).data, [Math.log(1 / 3), Math.log(2 / 3)]);
        // cross-entropy of uniform logits over 4 classes is ln 4; ignored rows do not count in the mean
        near(R.crossEntropy(R.ref([2, 4]), R.ref([2], [1, -100])).data, [Math.log(4)]);
        // layer norm of [1, 3]: mean 2, variance 1 → [−1, 1]/√(1 + eps)
        near(R.layerNorm(R.ref([2], [1, 3]), null, null, 0).data, [-1, 1]);
        // rms norm of [3, 4]: rms = √12.5
        near(R.rmsNorm(R.ref([2], [3, 4]), null, 0).data, [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)]);
        // broadcasting [2,1] + [3] → [2,3]
        near(R.add(R.ref([2, 1], [10, 20]), R.ref([3], [1, 2, 3])).data, [11, 12, 13, 21, 22, 23]);
        // permute [2,3] → [3,2]
        near(R.permute(R.ref([2, 3], [1, 2, 3, 4, 5, 6]), [1, 0]).data, [1, 4, 2, 5, 3, 6]);
        // gather rows 2, 0
        near(R.gather(R.ref([3, 2], [1, 2, 3, 4, 5, 6]), R.ref([2], [2, 0])).data, [5, 6, 1, 2]);
        // max over axis 0 of [[1, 5], [3, 2]] and argmax
        near(R.max(R.ref([2, 2], [1, 5, 3, 2]), 0).data, [3, 5]);
        near(R.argmax(R.ref([2, 2], [1, 5, 3, 2]), 0).data, [1, 0]);
        // rotary: at position 1, dim 2, the angle is 1 radian; rotate-half of [1, 0] is [0, 1]
        const t = R.rotaryTables(2, 2);
        near(t.cos.data, [1, 1, Math.cos(1), Math.cos(1)]);
        near(
          R.applyRotary(
            R.ref([2], [1, 0]),
            R.ref([2], [Math.cos(1), Math.cos(1)]),
            R.ref([2], [Math.sin(1), Math.sin(1)]),
          ).data,
          [Math.cos(1), Math.sin(1)],
        );
        // attention with one key is that key's value; causal with Tq = Tk attends to the past only
        const q = R.ref([2, 1], [1, 2]);
        const k = R.ref([2, 1], [3, -1]);
        const v = R.ref([2, 1], [10, 20]);
        const s = R.scaledDotProductAttention(q, k, v, { causal: true });
        const p1 = Math.exp(2 * 3) / (Math.exp(2 * 3) + Math.exp(2 * -1));
        near(s.data, [10, 10 * p1 + 20 * (1 - p1)]);
      },
    },
  ];
}
