import { Generator, memory, sum, tensor, tidy } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { Embedding, Linear, Module, ModuleDict, ParameterDict } from '../src/index.js';

class TiedLM extends Module {
  constructor() {
    super();
    const gen = new Generator(2);
    const emb = this.registerModule('embed', new Embedding(6, 3, { generator: gen }));
    const head = this.registerModule('head', new Linear(3, 6, { bias: false, generator: gen }));
    head.setParameter('weight', emb.weight)?.dispose();
  }
}

describe('clone', () => {
  it('copies the tree by sharing storage; the copy is independent and keeps ties and requiresGrad', async () => {
    const before = memory().tensors;
    const m = new TiedLM();
    m.child('embed').freeze();
    const c = m.clone();
    expect(c).toBeInstanceOf(TiedLM);
    expect(c).not.toBe(m);
    expect(c.namedParameters().map(([n]) => n)).toEqual(m.namedParameters().map(([n]) => n));
    const sd = c.stateDict();
    expect(sd['head.weight']).toBe(sd['embed.weight']); // still tied, in the copy
    expect(sd['embed.weight']).not.toBe(m.stateDict()['embed.weight']);
    expect(sd['embed.weight'].requiresGrad).toBe(false);
    expect(await sd['embed.weight'].data()).toEqual(await m.stateDict()['embed.weight'].data());
    // replacing a weight in the copy leaves the original alone
    c.loadStateDict({ 'embed.weight': tensor(new Float32Array(18).fill(1), [6, 3]) });
    expect((await m.stateDict()['embed.weight'].data()).every((v) => v === 1)).toBe(false);
    m.dispose();
    expect((await c.stateDict()['head.weight'].data()).every((v) => v === 1)).toBe(true); // alive after m is gone
    c.dispose();
    expect(memory().tensors).toBe(before + 1); // the ones-tensor given to loadStateDict is the caller's
  });
});

describe('ModuleDict and ParameterDict', () => {
  it('ModuleDict names children by key, in insertion order; set replaces, delete removes', () => {
    const d = new ModuleDict<Linear>([
      ['default', new Linear(2, 2)],
      ['other', new Linear(2, 3)],
    ]);
    expect(d.keys()).toEqual(['default', 'other']);
    expect(d.namedParameters().map(([n]) => n)).toEqual([
      'default.weight',
      'default.bias',
      'other.weight',
      'other.bias',
    ]);
    const old = d.set('default', new Linear(2, 4));
    expect(old?.outFeatures).toBe(2);
    expect(d.keys()).toEqual(['other', 'default']);
    expect(d.get('default').outFeatures).toBe(4);
    expect(d.delete('other')?.outFeatures).toBe(3);
    expect(d.has('other')).toBe(false);
    expect(d.size).toBe(1);
    expect(() => d.get('other')).toThrow(/no submodule 'other'/);
    const c = d.clone();
    expect(c.keys()).toEqual(['default']);
    d.dispose();
    c.dispose();
    old?.dispose();
  });

  it('ParameterDict holds named parameters that train', () => {
    const p = new ParameterDict();
    const a = tensor([1, 2, 3], [3], { requiresGrad: true });
    expect(p.set('default', a)).toBeNull();
    expect(p.namedParameters().map(([n]) => n)).toEqual(['default']);
    tidy(() => sum(p.get('default').square()).backward());
    expect(p.get('default').grad).not.toBeNull();
    const b = tensor([0, 0, 0], [3], { requiresGrad: true });
    expect(p.set('default', b)).toBe(a);
    expect(p.delete('default')).toBe(b);
    expect(p.keys()).toEqual([]);
    a.dispose();
    b.dispose();
  });
});
