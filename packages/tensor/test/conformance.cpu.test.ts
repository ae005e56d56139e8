import { describe, expect, it } from 'vitest';
import '../src/index.js';
import {
  DEFAULT_TOLERANCES,
  conformanceTestIds,
  describeOpConformance,
  planConformance,
} from '../src/testing/index.js';

// The CPU backend is the reference implementation: it runs every test, with no exclusions.
describeOpConformance({ backendName: 'cpu', exclude: {} });

describe('describeOpConformance options', () => {
  it('rejects an exclusion without a reason', () => {
    expect(() => describeOpConformance({ backendName: 'cpu', exclude: { 'matmul/plain/2d/forward': '' } })).toThrow(
      /reason/,
    );
    expect(() => describeOpConformance({ backendName: 'cpu', exclude: { matmul: '   ' } })).toThrow(/reason/);
  });
  it('rejects keys that match no test', () => {
    expect(() => describeOpConformance({ backendName: 'cpu', exclude: { 'matmull/plain': 'typo' } })).toThrow(
      /matches no test/,
    );
    expect(() => describeOpConformance({ backendName: 'cpu', tolerances: { 'no-such-op': { forward: 1 } } })).toThrow(
      /matches no test/,
    );
    // a prefix must end at a segment boundary
    expect(() => describeOpConformance({ backendName: 'cpu', exclude: { matm: 'partial segment' } })).toThrow(
      /matches no test/,
    );
  });
  it('rejects invalid tolerances', () => {
    expect(() => describeOpConformance({ backendName: 'cpu', tolerances: { matmul: { forward: -1 } } })).toThrow(
      /tolerance/,
    );
  });
  it('resolves exclusions and tolerances by the longest matching key', () => {
    const plan = planConformance({
      backendName: 'cpu',
      exclude: { 'matmul/transB': 'example reason', 'matmul/transB/2d/grad': 'more specific' },
      tolerances: {
        matmul: { forward: 1e-3 },
        'matmul/transB/2d': { grad: 0.1 },
        'matmul/transB/2d/forward': { forward: 2e-3 },
      },
    });
    const get = (id: string) => plan.find((t) => t.id === id)!;
    expect(get('matmul/transB/batched/forward').excluded).toBe('example reason');
    expect(get('matmul/transB/2d/grad').excluded).toBe('more specific');
    expect(get('matmul/transA/2d/grad').excluded).toBeUndefined();
    // 'matmul/transBx' would not be matched by 'matmul/transB': prefixes end at a '/'
    expect(get('matmul/transAB/2d/forward').excluded).toBeUndefined();
    expect(get('matmul/transA/2d/forward').tolerance).toEqual({ forward: 1e-3, grad: DEFAULT_TOLERANCES.matmul.grad });
    expect(get('matmul/transB/2d/forward').tolerance).toEqual({ forward: 2e-3, grad: 0.1 });
    expect(get('exp/basic/forward').tolerance).toEqual(DEFAULT_TOLERANCES.elementwise);
    expect(get('concat/axis0/forward').tolerance.forward).toBe(0);
  });
  it('has stable, unique ids covering every op', () => {
    const ids = conformanceTestIds();
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of [
      'add',
      'sub',
      'mul',
      'div',
      'neg',
      'pow',
      'exp',
      'log',
      'sqrt',
      'rsqrt',
      'abs',
      'tanh',
      'sigmoid',
      'relu',
      'gelu',
      'silu',
      'square',
      'sin',
      'cos',
      'reciprocal',
      'maximum',
      'minimum',
      'matmul',
      'transpose',
      'permute',
      'reshape',
      'expand',
      'slice',
      'narrow',
      'chunk',
      'concat',
      'stack',
      'gather',
      'embedding',
      'where',
      'maskedFill',
      'compare',
      'cast',
      'sum',
      'mean',
      'max',
      'min',
      'argmax',
      'softmax',
      'logSoftmax',
      'crossEntropy',
      'layerNorm',
      'rmsNorm',
      'rotaryTables',
      'applyRotary',
      'scaledDotProductAttention',
      'dropout',
      'linear',
      'tensor',
      'zeros',
      'ones',
      'full',
      'arange',
      'random',
      'errors',
      'memory',
      'autograd',
    ]) {
      expect(
        ids.some((id) => id.startsWith(`${op}/`)),
        op,
      ).toBe(true);
    }
    expect(ids).toContain('matmul/transB/broadcast-batch/forward');
    expect(ids).toContain('matmul/transB/broadcast-batch/grad');
  });
});
