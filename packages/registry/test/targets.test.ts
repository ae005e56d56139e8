/**
 * Target matching, checked against PEFT's rules (check_target_module_exists, reference doc §1.3):
 * list → `key == t || key.endswith("." + t)`; string → re.fullmatch; layers_to_transform reads the first numbered
 * segment (`.*?\.[^.]*\.(\d+)\.`, or `.*?\.{pattern}\.(\d+)\.`); exclude_modules and modules_to_save win.
 */
import { Conv1D, Embedding, Linear, type Module } from '@peftjs/nn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdapterLayer,
  candidateModules,
  describeTargetable,
  getPeftModel,
  layerIndex,
  listAdapterMethods,
  matchesTarget,
  PeftConfigError,
  registerAdapter,
  type TunerConfig,
  unregisterAdapter,
} from '../src/index.js';
import { Net, shiftMethod } from './toy.js';

const lin = new Linear(2, 2);
const cfg = (c: Partial<TunerConfig>): TunerConfig => ({ peft_type: 'SHIFT', ...c });
const match = (c: Partial<TunerConfig>, key: string, m: Module = lin, heads: string[] = ['lm_head']) =>
  matchesTarget(cfg(c), key, m, heads);

const KEYS = [
  'model.layers.0.self_attn.q_proj',
  'model.layers.0.self_attn.k_proj',
  'model.layers.1.self_attn.q_proj',
  'model.layers.12.mlp.up_proj',
  'model.layers.1.self_attn.xq_proj',
  'q_proj',
  'q_proj.inner',
  'transformer.h.3.attn.c_attn',
  'lm_head',
];
const matching = (c: Partial<TunerConfig>) => KEYS.filter((k) => match(c, k));

describe('matchesTarget: list form (suffix on dot boundaries)', () => {
  it('matches the whole name or a suffix after a dot, nothing else', () => {
    expect(matching({ target_modules: ['q_proj'] })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.1.self_attn.q_proj',
      'q_proj',
    ]);
    expect(matching({ target_modules: ['self_attn.q_proj', 'up_proj'] })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.12.mlp.up_proj',
    ]);
    expect(matching({ target_modules: ['proj'] })).toEqual([]);
    expect(matching({ target_modules: [] })).toEqual([]);
    expect(matching({ target_modules: null })).toEqual([]);
  });

  it('layers_to_transform picks the first numbered segment (int or list)', () => {
    expect(matching({ target_modules: ['q_proj'], layers_to_transform: 1 })).toEqual([
      'model.layers.1.self_attn.q_proj',
    ]);
    expect(matching({ target_modules: ['q_proj', 'up_proj'], layers_to_transform: [0, 12] })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.12.mlp.up_proj',
    ]);
    // a name without a numbered segment never matches when layers_to_transform is set
    expect(match({ target_modules: ['q_proj'], layers_to_transform: [0] }, 'q_proj')).toBe(false);
  });

  it('layers_pattern names the layer list', () => {
    expect(match({ target_modules: ['c_attn'], layers_to_transform: 3, layers_pattern: 'h' }, KEYS[7])).toBe(true);
    expect(match({ target_modules: ['c_attn'], layers_to_transform: 3, layers_pattern: 'layers' }, KEYS[7])).toBe(
      false,
    );
    expect(
      match({ target_modules: ['c_attn'], layers_to_transform: 3, layers_pattern: ['layers', 'h'] }, KEYS[7]),
    ).toBe(true);
  });

  it('layerIndex follows PEFT regexes', () => {
    expect(layerIndex('model.layers.0.self_attn.q_proj', null)).toBe(0);
    expect(layerIndex('model.layers.12.mlp.up_proj', null)).toBe(12);
    expect(layerIndex('transformer.h.3.attn.c_attn', undefined)).toBe(3);
    // `.*?\.[^.]*\.(\d+)\.` needs a dot before the list name and one after the index
    expect(layerIndex('layers.0.q_proj', null)).toBeNull();
    expect(layerIndex('model.layers.7', null)).toBeNull();
    // first numbered segment only: encoder.block.2.layer.0.x → 2
    expect(layerIndex('encoder.block.2.layer.0.x', null)).toBe(2);
    expect(layerIndex('encoder.block.2.layer.0.x', 'layer')).toBe(0);
    expect(layerIndex('transformer.h.3.attn.c_attn', 'layers')).toBeNull();
  });
});

describe('matchesTarget: string form (regex, full match)', () => {
  it('must match the whole name, as re.fullmatch', () => {
    expect(matching({ target_modules: 'q_proj' })).toEqual(['q_proj']);
    expect(matching({ target_modules: '.*q_proj' })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.xq_proj',
      'q_proj',
    ]);
    expect(matching({ target_modules: '.*\\.layers\\.1\\..*_proj' })).toEqual([
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.xq_proj',
    ]);
    // alternation is grouped: `a|b` must not become `^a|b$`
    expect(matching({ target_modules: 'q_proj|.*up_proj' })).toEqual(['model.layers.12.mlp.up_proj', 'q_proj']);
  });

  it('an invalid regex is a PeftConfigError naming target_modules', () => {
    expect(() => match({ target_modules: '(' }, 'q_proj')).toThrow(PeftConfigError);
    expect(() => match({ target_modules: '(' }, 'q_proj')).toThrow(/^target_modules: invalid regular expression/);
  });

  it('"all-linear" takes every Linear and Conv1D except the output heads', () => {
    const conv = new Conv1D(2, 2);
    const emb = new Embedding(3, 2);
    for (const t of ['all-linear', 'ALL-LINEAR']) {
      expect(match({ target_modules: t }, 'a.b.q_proj', lin)).toBe(true);
      expect(match({ target_modules: t }, 'transformer.h.0.attn.c_attn', conv)).toBe(true);
      expect(match({ target_modules: t }, 'model.embed_tokens', emb)).toBe(false);
      expect(match({ target_modules: t }, 'lm_head', lin)).toBe(false);
      expect(match({ target_modules: t }, 'classifier', lin, ['classifier'])).toBe(false);
      expect(match({ target_modules: t }, 'bert.classifier', lin, ['classifier'])).toBe(false);
    }
  });
});

describe('exclusions', () => {
  it('exclude_modules (list: suffix; string: full-match regex) wins over targets', () => {
    expect(matching({ target_modules: ['q_proj'], exclude_modules: ['layers.0.self_attn.q_proj'] })).toEqual([
      'model.layers.1.self_attn.q_proj',
      'q_proj',
    ]);
    expect(matching({ target_modules: '.*q_proj', exclude_modules: '.*\\.1\\..*' })).toEqual([
      'model.layers.0.self_attn.q_proj',
      'q_proj',
    ]);
  });

  it('modules_to_save names are never targeted (dot-boundary regex)', () => {
    expect(matching({ target_modules: ['q_proj'], modules_to_save: ['self_attn'] })).toEqual(['q_proj']);
    expect(matching({ target_modules: '.*', modules_to_save: ['lm_head', 'layers'] })).toEqual([
      'q_proj',
      'q_proj.inner',
      'transformer.h.3.attn.c_attn',
    ]);
  });
});

describe('candidateModules / describeTargetable', () => {
  beforeAll(() => registerAdapter(shiftMethod));
  afterAll(() => {
    for (const n of listAdapterMethods()) unregisterAdapter(n);
  });

  it('lists every submodule path, and stops at adapter layers', () => {
    const net = new Net();
    const names = candidateModules(net).map(([k]) => k);
    expect(names).toEqual([
      'body',
      'body.layers',
      'body.layers.0',
      'body.layers.0.proj',
      'body.layers.0.gate',
      'body.layers.1',
      'body.layers.1.proj',
      'body.layers.1.gate',
      'head',
      'mix',
    ]);
    expect(describeTargetable(net, (m) => m instanceof Linear)).toBe('gate, head, proj');
    getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'] });
    const after = candidateModules(net);
    expect(after.map(([k]) => k)).toEqual(names); // base_layer / shift_vector inside the wrapper are not listed
    expect(after.filter(([, m]) => m instanceof AdapterLayer).map(([k]) => k)).toEqual([
      'body.layers.0.proj',
      'body.layers.1.proj',
    ]);
  });
});
