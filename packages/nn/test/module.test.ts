import { Generator, memory, randn, sum, type Tensor, tensor, tidy, zeros } from '@peftjs/tensor';
import { describe, expect, it } from 'vitest';
import { Dropout, Embedding, Linear, Module, ModuleList, RMSNorm, StateDictError, withoutInit } from '../src/index.js';

/** A miniature of LLaMA's naming: model.layers.N.self_attn.q_proj … and an lm_head. */
class Attn extends Module {
  constructor(d: number, gen: Generator) {
    super();
    this.registerModule('q_proj', new Linear(d, d, { bias: false, generator: gen }));
    this.registerModule('v_proj', new Linear(d, d, { bias: false, generator: gen }));
  }
  forward(x: Tensor): Tensor {
    return this.callLayer('v_proj', this.callLayer('q_proj', x));
  }
}
class Block extends Module {
  constructor(d: number, gen: Generator) {
    super();
    this.registerModule('self_attn', new Attn(d, gen));
    this.registerModule('norm', new RMSNorm(d));
  }
  forward(x: Tensor): Tensor {
    return this.callLayer('norm', this.child<Attn>('self_attn').forward(x));
  }
}
class Inner extends Module {
  constructor(d: number, gen: Generator) {
    super();
    this.registerModule('embed_tokens', new Embedding(10, d, { generator: gen }));
    this.registerModule('layers', new ModuleList([new Block(d, gen), new Block(d, gen)]));
    this.registerBuffer('scale', tensor([2]));
    this.registerBuffer('table', tensor([1, 2, 3]), { persistent: false });
  }
}
class Tiny extends Module {
  constructor(d = 4, opts: { tie?: boolean; seed?: number } = {}) {
    super();
    const gen = new Generator(opts.seed ?? 1);
    const inner = this.registerModule('model', new Inner(d, gen));
    const head = this.registerModule('lm_head', new Linear(d, 10, { bias: false, generator: gen }));
    if (opts.tie) head.setParameter('weight', inner.child<Embedding>('embed_tokens').weight)?.dispose();
  }
  forward(ids: Tensor): Tensor {
    let h = this.child('model').child<Embedding>('embed_tokens').forward(ids);
    for (const b of this.child('model').child<ModuleList<Block>>('layers')) h = b.forward(h);
    return this.callLayer('lm_head', h);
  }
}

const EXPECTED = [
  'model.embed_tokens.weight',
  'model.layers.0.self_attn.q_proj.weight',
  'model.layers.0.self_attn.v_proj.weight',
  'model.layers.0.norm.weight',
  'model.layers.1.self_attn.q_proj.weight',
  'model.layers.1.self_attn.v_proj.weight',
  'model.layers.1.norm.weight',
  'lm_head.weight',
];

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

describe('Module naming and traversal', () => {
  it('lists parameters under dotted Hugging Face names in registration order', () => {
    const m = new Tiny();
    expect(m.namedParameters().map(([n]) => n)).toEqual(EXPECTED);
    expect(m.parameters()).toHaveLength(EXPECTED.length);
    // PyTorch's state_dict order: a module's own parameters, its persistent buffers, then its children
    expect(Object.keys(m.stateDict())).toEqual(['model.scale', ...EXPECTED]);
    // non-persistent buffers are buffers but not state
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['model.scale', 'model.table']);
    expect(m.stateDict()['model.table']).toBeUndefined();
    expect(m.namedModules().map(([n]) => n)).toEqual([
      '',
      'model',
      'model.embed_tokens',
      'model.layers',
      'model.layers.0',
      'model.layers.0.self_attn',
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.0.norm',
      'model.layers.1',
      'model.layers.1.self_attn',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
      'model.layers.1.norm',
      'lm_head',
    ]);
    m.dispose();
  });

  it('lists a tied weight once in namedParameters but under both names in stateDict', () => {
    const m = new Tiny(4, { tie: true });
    const names = m.namedParameters().map(([n]) => n);
    expect(names).not.toContain('lm_head.weight');
    expect(names).toHaveLength(EXPECTED.length - 1);
    expect(m.namedParameters({ removeDuplicate: false }).map(([n]) => n)).toContain('lm_head.weight');
    const sd = m.stateDict();
    expect(sd['lm_head.weight']).toBe(sd['model.embed_tokens.weight']);
    m.dispose();
  });

  it('getSubmodule walks dotted paths and names the missing step', () => {
    const m = new Tiny();
    expect(m.getSubmodule('model.layers.1.self_attn.q_proj')).toBeInstanceOf(Linear);
    expect(m.getSubmodule('')).toBe(m);
    expect(() => m.getSubmodule('model.layers.7.self_attn')).toThrow(
      /model\.layers \(ModuleList\) has no submodule '7'/,
    );
    expect(m.hasSubmodule('model.layers.0.norm')).toBe(true);
    expect(m.hasSubmodule('model.nope')).toBe(false);
    m.dispose();
  });

  it('rejects dotted or duplicate names', () => {
    class Bad extends Module {
      constructor(name: string) {
        super();
        this.registerParameter('w', zeros([1]));
        this.registerModule(name, new Linear(1, 1));
      }
    }
    expect(() => new Bad('a.b')).toThrow(/invalid module name/);
    expect(() => new Bad('w')).toThrow(/already registered/);
  });
});

describe('setSubmodule (how adapters wrap layers)', () => {
  /** What a LoRA wrapper looks like: the original layer kept under `base_layer`, plus its own parameters. */
  class Wrapped extends Module {
    constructor(base: Linear) {
      super();
      this.registerModule('base_layer', base);
      this.registerModule('lora_A', new Linear(base.inFeatures, 2, { bias: false }));
    }
    forward(x: Tensor): Tensor {
      return this.callLayer('base_layer', x).mul(3);
    }
  }

  it('replaces a layer by path; names move under base_layer; the parent calls the wrapper', async () => {
    const m = new Tiny();
    const ids = tensor([1, 2, 3], [3], { dtype: 'i32' });
    const before = await values(tidy(() => m.forward(ids)));
    const path = 'model.layers.0.self_attn.v_proj';
    const base = m.getSubmodule(path) as Linear;
    const old = m.setSubmodule(path, new Wrapped(base));
    expect(old).toBe(base);
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toContain(`${path}.base_layer.weight`);
    expect(names).toContain(`${path}.lora_A.weight`);
    expect(names).not.toContain(`${path}.weight`);
    // The wrapper's forward is used (x3 on v_proj changes the output), through the parent's lookup by name.
    const after = await values(tidy(() => m.forward(ids)));
    expect(after).not.toEqual(before);
    // Undo: put the base back; the output is the original again.
    const wrapper = m.setSubmodule(path, base);
    expect(await values(tidy(() => m.forward(ids)))).toEqual(before);
    wrapper?.child('lora_A').dispose();
    expect(() => m.setSubmodule('model.layers.0.self_attn.k_proj', base)).toThrow(/allowNew/);
    m.setSubmodule('model.layers.0.self_attn.k_proj', new Linear(4, 4), { allowNew: true });
    expect(m.hasSubmodule('model.layers.0.self_attn.k_proj')).toBe(true);
    m.dispose();
    ids.dispose();
  });
});

describe('stateDict / loadStateDict', () => {
  it('round-trips: a fresh model loaded from another one computes the same thing', async () => {
    const a = new Tiny(4, { seed: 1 });
    const b = new Tiny(4, { seed: 2 });
    const ids = tensor([0, 5, 9], [3], { dtype: 'i32' });
    const ya = await values(tidy(() => a.forward(ids)));
    expect(await values(tidy(() => b.forward(ids)))).not.toEqual(ya);
    const report = b.loadStateDict(a.stateDict());
    expect(report).toEqual({ missingKeys: [], unexpectedKeys: [], mismatched: [] });
    a.dispose(); // b shares storage with a's old tensors but holds its own handles
    expect(await values(tidy(() => b.forward(ids)))).toEqual(ya);
    b.dispose();
    ids.dispose();
  });

  it('strict mode reports missing and unexpected keys, and loads nothing', async () => {
    const m = new Tiny();
    const src = new Tiny(4, { seed: 9 });
    const dict = { ...src.stateDict() };
    delete dict['model.layers.1.norm.weight'];
    delete dict['model.scale'];
    dict['model.layers.1.extra'] = zeros([2]);
    const q = m.getSubmodule('model.layers.0.self_attn.q_proj') as Linear;
    const qBefore = await values(q.weight);
    let err: unknown;
    try {
      m.loadStateDict(dict);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const report = (err as StateDictError).report;
    expect(report.missingKeys).toEqual(['model.layers.1.norm.weight', 'model.scale']);
    expect(report.unexpectedKeys).toEqual(['model.layers.1.extra']);
    expect((err as Error).message).toMatch(
      /missing keys: model\.layers\.1\.norm\.weight, model\.scale; unexpected keys: model\.layers\.1\.extra/,
    );
    expect(await values(q.weight)).toEqual(qBefore); // nothing loaded
    // non-strict: the same problems are reported, the rest is loaded
    const r2 = m.loadStateDict(dict, { strict: false });
    expect(r2.missingKeys).toEqual(['model.layers.1.norm.weight', 'model.scale']);
    expect(r2.unexpectedKeys).toEqual(['model.layers.1.extra']);
    expect(await values(q.weight)).toEqual(await values(src.stateDict()['model.layers.0.self_attn.q_proj.weight']));
    dict['model.layers.1.extra'].dispose();
    m.dispose();
    src.dispose();
  });

  it('shape and dtype mismatches are errors even when not strict', () => {
    const m = new Tiny();
    const bad = zeros([4, 3]);
    const badType = zeros([4], { dtype: 'i32' });
    let err: unknown;
    try {
      m.loadStateDict({ 'lm_head.weight': bad, 'model.layers.0.norm.weight': badType }, { strict: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateDictError);
    const { mismatched } = (err as StateDictError).report;
    expect(mismatched).toEqual([
      { key: 'model.layers.0.norm.weight', expected: { shape: [4], dtype: 'f32' }, got: { shape: [4], dtype: 'i32' } },
      { key: 'lm_head.weight', expected: { shape: [10, 4], dtype: 'f32' }, got: { shape: [4, 3], dtype: 'f32' } },
    ]);
    expect((err as Error).message).toMatch(/lm_head\.weight \(module has f32\[10, 4\], dict has f32\[4, 3\]\)/);
    bad.dispose();
    badType.dispose();
    m.dispose();
  });

  it('checkStateDict reports from shapes alone and loads nothing', () => {
    const m = new Tiny();
    const report = m.checkStateDict({
      'lm_head.weight': { shape: [10, 4], dtype: 'f32' },
      'model.embed_tokens.weight': { shape: [10, 5], dtype: 'f32' },
      extra: { shape: [1], dtype: 'f32' },
    });
    expect(report.unexpectedKeys).toEqual(['extra']);
    expect(report.mismatched.map((x) => x.key)).toEqual(['model.embed_tokens.weight']);
    expect(report.missingKeys).toHaveLength(7);
    m.dispose();
  });

  it('keeps tied weights tied: either name loads both, and neither is missing', async () => {
    const m = new Tiny(4, { tie: true });
    const src = new Tiny(4, { seed: 5 });
    const dict = { ...src.stateDict() };
    delete dict['model.embed_tokens.weight'];
    // lm_head.weight in the source is [10, 4], the same shape as the embedding table
    const report = m.loadStateDict(dict);
    expect(report.missingKeys).toEqual([]);
    const sd = m.stateDict();
    expect(sd['lm_head.weight']).toBe(sd['model.embed_tokens.weight']);
    expect(await values(sd['model.embed_tokens.weight'])).toEqual(await values(src.stateDict()['lm_head.weight']));
    m.dispose();
    src.dispose();
  });

  it('keeps requiresGrad of the slots it loads', () => {
    const m = new Tiny();
    m.getSubmodule('model.layers.0').freeze();
    const src = new Tiny(4, { seed: 3 });
    m.loadStateDict(src.stateDict());
    for (const [n, p] of m.namedParameters()) expect(p.requiresGrad, n).toBe(!n.startsWith('model.layers.0.'));
    m.dispose();
    src.dispose();
  });

  it('initParameters redraws the named parameters only, keeping ties and requiresGrad', async () => {
    const m = withoutInit(() => new Tiny(4, { tie: true }));
    const sd = m.stateDict();
    expect((await values(sd['model.layers.0.self_attn.q_proj.weight'])).every((v) => v === 0)).toBe(true);
    m.getSubmodule('lm_head').freeze();
    m.initParameters(['lm_head.weight', 'model.layers.1.norm.weight']);
    const after = m.stateDict();
    expect(after['lm_head.weight']).toBe(after['model.embed_tokens.weight']);
    expect((await values(after['lm_head.weight'])).some((v) => v !== 0)).toBe(true);
    expect(after['lm_head.weight'].requiresGrad).toBe(false);
    expect(await values(after['model.layers.1.norm.weight'])).toEqual([1, 1, 1, 1]);
    expect((await values(after['model.layers.0.self_attn.q_proj.weight'])).every((v) => v === 0)).toBe(true);
    expect(() => m.initParameters(['nope.weight'])).toThrow(/no parameter 'nope.weight'/);
    m.dispose();
  });

  it('loading its own state dict is a no-op that leaks nothing', () => {
    const m = new Tiny();
    const before = memory().tensors;
    m.loadStateDict(m.stateDict());
    expect(memory().tensors).toBe(before);
    m.dispose();
  });
});

describe('modes, freezing, gradients and disposal', () => {
  it('train() / eval() propagate to every descendant', () => {
    const m = new Tiny();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.getSubmodule('model.layers.1').train();
    expect(m.getSubmodule('model.layers.1.self_attn.q_proj').training).toBe(true);
    expect(m.getSubmodule('model.layers.0.self_attn.q_proj').training).toBe(false);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.dispose();
  });

  it('frozen parameters get no gradient; the others do', () => {
    const m = new Tiny();
    m.freeze();
    m.getSubmodule('model.layers.1.self_attn').requiresGrad_(true);
    const ids = tensor([1, 2, 3, 4], [4], { dtype: 'i32' });
    tidy(() => sum(m.forward(ids).square()).backward());
    for (const [n, p] of m.namedParameters()) {
      if (n.startsWith('model.layers.1.self_attn.')) {
        expect(p.requiresGrad, n).toBe(true);
        expect(p.grad, n).not.toBeNull();
      } else {
        expect(p.requiresGrad, n).toBe(false);
        expect(p.grad, n).toBeNull();
      }
    }
    expect(m.countParameters()).toEqual({ total: 10 * 4 + 2 * (16 + 16 + 4) + 40, trainable: 32 });
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    m.dispose();
    ids.dispose();
  });

  it('Dropout is the identity in eval mode and a reproducible scaled mask in training', async () => {
    const x = randn([1000], 0, 1, { generator: new Generator(3) });
    const d = new Dropout(0.25, { generator: new Generator(11) });
    d.eval();
    expect(d.forward(x)).toBe(x);
    d.train();
    const y = await values(d.forward(x));
    const xs = await values(x);
    let zerosCount = 0;
    y.forEach((v, i) => {
      if (v === 0) zerosCount++;
      else expect(v).toBeCloseTo(xs[i] / 0.75, 5);
    });
    expect(zerosCount).toBeGreaterThan(180);
    expect(zerosCount).toBeLessThan(320);
    const again = new Dropout(0.25, { generator: new Generator(11) });
    expect(await values(again.forward(x))).toEqual(y);
    expect(() => new Dropout(1)).toThrow(/p must be in/);
    x.dispose();
  });

  it('dispose() frees every parameter and buffer once (tied ones included)', () => {
    const before = memory().tensors;
    const m = new Tiny(4, { tie: true });
    expect(memory().tensors).toBeGreaterThan(before);
    m.dispose();
    expect(memory().tensors).toBe(before);
    expect(m.isDisposed).toBe(true);
  });

  it('modules built inside tidy keep their parameters', async () => {
    const m = tidy(() => new Tiny());
    expect(m.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(await values(m.parameters()[0])).toHaveLength(40);
    m.dispose();
  });

  it('prints a PyTorch-style tree', () => {
    const m = new Tiny();
    const s = m.toString();
    expect(s).toContain('(q_proj): Linear(in_features=4, out_features=4, bias=false)');
    expect(s).toContain('(norm): RMSNorm((4,), eps=0.000001)');
    m.dispose();
  });
});
