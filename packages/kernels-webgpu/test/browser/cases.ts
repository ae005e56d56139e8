/**
 * The representative subset run in the browser: matmul, softmax, attention forward + backward and cross-entropy
 * forward + backward, on whatever backend is active. The same function runs in Node on the CPU backend to give
 * the expected values, so both sides compute from identical inputs.
 */
import * as T from '@peftjs/tensor';

export interface CaseInputs {
  [name: string]: { values: number[]; shape: number[]; dtype?: 'f32' | 'i32' };
}

export type CaseOutputs = Record<string, number[]>;

/** Deterministic inputs (mulberry32), generated on the Node side and sent to the page. */
export function makeInputs(): CaseInputs {
  let s = 12345;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const f = (shape: number[], scale = 1) => ({
    values: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround((next() * 2 - 1) * scale)),
    shape,
  });
  return {
    ma: f([33, 47]),
    mb: f([47, 29]),
    mw: f([29, 47]),
    sx: f([7, 300], 4),
    q: f([2, 2, 8, 8]),
    k: f([2, 2, 8, 8]),
    v: f([2, 2, 8, 8]),
    aw: f([2, 2, 8, 8]),
    logits: f([6, 10], 3),
    labels: { values: [0, 9, 3, -100, 5, 5], shape: [6], dtype: 'i32' },
  };
}

/** Run the subset on the active backend and read everything back. */
export async function runCases(inp: CaseInputs): Promise<CaseOutputs> {
  const t = (name: string, requiresGrad = false) =>
    T.tensor(
      inp[name].dtype === 'i32' ? Int32Array.from(inp[name].values) : Float32Array.from(inp[name].values),
      inp[name].shape,
      {
        dtype: inp[name].dtype ?? 'f32',
        requiresGrad,
      },
    );
  const out: CaseOutputs = {};
  const read = async (name: string, x: T.Tensor) => {
    out[name] = Array.from(await x.data());
  };

  const ma = t('ma');
  const mb = t('mb');
  const mw = t('mw');
  const mm = T.matmul(ma, mb);
  const mmT = T.matmul(ma, mw, { transB: true });
  await read('matmul', mm);
  await read('matmulTransB', mmT);

  const sx = t('sx');
  const sm = T.softmax(sx);
  const lsm = T.logSoftmax(sx);
  await read('softmax', sm);
  await read('logSoftmax', lsm);

  const q = t('q', true);
  const k = t('k', true);
  const v = t('v', true);
  const aw = t('aw');
  const att = T.tidy(() => {
    const o = T.scaledDotProductAttention(q, k, v, { causal: true });
    T.sum(T.mul(o, aw)).backward();
    return o;
  });
  await read('attention', att);
  await read('attention.dq', q.grad!);
  await read('attention.dk', k.grad!);
  await read('attention.dv', v.grad!);

  const logits = t('logits', true);
  const labels = t('labels');
  const loss = T.tidy(() => {
    const l = T.crossEntropy(logits, labels);
    l.backward();
    return l;
  });
  await read('crossEntropy', loss);
  await read('crossEntropy.dlogits', logits.grad!);

  T.dispose([ma, mb, mw, mm, mmT, sx, sm, lsm, q, k, v, aw, att, logits, labels, loss]);
  out['memory.tensorsLeft'] = [T.memory().tensors];
  return out;
}
