/**
 * PeftModel with the SHIFT test method (test/toy.ts): injection, errors, freezing and counts, modules_to_save,
 * multiple adapters, disabling, merging, state dicts and PEFT's file layout. Every output is compared with a
 * float64 forward written here from the base weights.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linear } from '@peftjs/nn';
import { loadTensors } from '@peftjs/safetensors';
import { mul, sum, tensor } from '@peftjs/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdapterLayer,
  getPeftModel,
  KEY_PREFIX,
  ModulesToSaveWrapper,
  PeftConfigError,
  PeftError,
  type PeftModel,
  registerAdapter,
} from '../src/index.js';
import { expectClose, f64, linear, rand } from '@peftjs/test-utils';
import { baseWeights, NET_PARAMS, Net, ShiftLayer, shiftMethod } from './toy.js';
import { loadAdapter, loadPeftModel, savePeftModel } from '../src/node.js';
import { TunerModel } from '../src/roots.js';

beforeAll(() => registerAdapter(shiftMethod));
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const X = rand(3 * 4, 7);
const x = () => tensor(X, [3, 4]);
const xs = () => f64(x()); // the f32-rounded input

interface RefOpts {
  /** Extra vectors added after these module paths' outputs (the SHIFT adapters). */
  shifts?: Record<string, number[]>;
  /** Replacement head weights (a modules_to_save copy). */
  head?: { weight: number[]; bias: number[] };
}
/** Float64 forward of Net from its base weights `w` (keys as in the plain model). */
function netRef(w: Record<string, number[]>, input: number[], o: RefOpts = {}): number[] {
  const m = input.length / 4;
  let h = input;
  for (const l of [0, 1]) {
    for (const mod of ['proj', 'gate']) {
      const p = `body.layers.${l}.${mod}`;
      h = linear(h, w[`${p}.weight`], w[`${p}.bias`], m, 4, 4);
      const s = o.shifts?.[p];
      if (s) h = h.map((v, i) => v + s[i % 4]);
    }
  }
  const head = o.head ?? { weight: w['head.weight'], bias: w['head.bias'] };
  return linear(h, head.weight, head.bias, m, 4, 3);
}

const shiftKey = (path: string) => `${KEY_PREFIX}${path}.shift_vector`;
function setShift(peft: PeftModel, path: string, values: number[], adapter = peft.activeAdapter): number[] {
  const t = tensor(values, [values.length]);
  peft.loadAdapterState({ [shiftKey(path)]: t }, adapter, { strict: false });
  return f64(t);
}

describe('getPeftModel: injection and forward', () => {
  it('wraps the targets in place; forward equals the float64 reference', () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'], init_value: 0.25 });
    expect(peft.model).toBe(net);
    expect(net.getSubmodule('body.layers.0.proj')).toBeInstanceOf(ShiftLayer);
    expect(net.getSubmodule('body.layers.0.gate')).toBeInstanceOf(Linear);
    // base parameters gain `.base_layer.` as in PEFT
    expect(net.namedParameters().map(([k]) => k)).toContain('body.layers.0.proj.base_layer.weight');
    expect(peft.namedParameters().map(([k]) => k)).toContain(
      'base_model.model.body.layers.1.proj.shift_vector.default',
    );

    const init = [0.25, 0.25, 0.25, 0.25];
    expectClose(
      net.forward(x()),
      netRef(w, xs(), { shifts: { 'body.layers.0.proj': init, 'body.layers.1.proj': init } }),
      1e-6,
    );

    const s0 = setShift(peft, 'body.layers.0.proj', [1, -2, 0.5, 3]);
    const s1 = setShift(peft, 'body.layers.1.proj', [-0.5, 0.125, 2, -1]);
    expectClose(
      net.forward(x()),
      netRef(w, xs(), { shifts: { 'body.layers.0.proj': s0, 'body.layers.1.proj': s1 } }),
      1e-6,
    );
  });

  it('uses the method default targets for the model_type when target_modules is null', () => {
    const net = new Net('toy');
    const peft = getPeftModel(net, { peft_type: 'SHIFT' });
    expect(peft.adapterLayers().map(([p]) => p)).toEqual(['body.layers.0.gate', 'body.layers.1.gate']);
    expect((peft.peftConfig() as unknown as { target_modules: unknown }).target_modules).toEqual(['gate']);
  });

  it('regex targets skip modules the method cannot adapt; list targets name them as an error', () => {
    const peft = getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: '.*(proj|mix)' });
    expect(peft.adapterLayers().map(([p]) => p)).toEqual(['body.layers.0.proj', 'body.layers.1.proj']);
    expect(() => getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj', 'mix'] })).toThrow(
      /^target_modules: module 'mix' is a Conv1D, which shift cannot adapt \(it adapts Linear\)/,
    );
  });

  it('layers_to_transform limits injection to the named layers', () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, {
      peft_type: 'SHIFT',
      target_modules: ['proj', 'gate'],
      layers_to_transform: [1],
      layers_pattern: 'layers',
      init_value: 0.5,
    });
    expect(peft.adapterLayers().map(([p]) => p)).toEqual(['body.layers.1.proj', 'body.layers.1.gate']);
    const h = [0.5, 0.5, 0.5, 0.5];
    expectClose(
      net.forward(x()),
      netRef(w, xs(), { shifts: { 'body.layers.1.proj': h, 'body.layers.1.gate': h } }),
      1e-6,
    );
  });
});

describe('config errors', () => {
  it('unknown or missing peft_type', () => {
    expect(() => getPeftModel(new Net(), { peft_type: 'NOPE', target_modules: ['proj'] })).toThrow(PeftError);
    expect(() => getPeftModel(new Net(), { peft_type: 'NOPE', target_modules: ['proj'] })).toThrow(
      /no registered method handles peft_type 'NOPE' \(registered: SHIFT\)/,
    );
    expect(() => getPeftModel(new Net(), { target_modules: ['proj'] })).toThrow(PeftConfigError);
    expect(() => getPeftModel(new Net(), { target_modules: ['proj'] })).toThrow(/^peft_type: is required/);
  });

  it('targets that match nothing name the field and list what could be targeted', () => {
    const net = new Net();
    const before = baseWeights(net);
    let err: unknown;
    try {
      getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['q_proj'] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PeftConfigError);
    expect((err as PeftConfigError).field).toBe('target_modules');
    expect((err as Error).message).toMatch(
      /\["q_proj"\] matched no module of the model; targetable modules: gate, head, proj/,
    );
    // the model is left alone
    expect(net.getSubmodule('body.layers.0.proj')).toBeInstanceOf(Linear);
    expect(baseWeights(net)).toEqual(before);

    expect(() =>
      getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj'], layers_to_transform: 5 }),
    ).toThrow(/matched no module of the model \(with layers_to_transform 5\)/);
    expect(() => getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: 'proj' })).toThrow(PeftConfigError);
  });

  it('target_modules null with no default for the model type', () => {
    expect(() => getPeftModel(new Net(), { peft_type: 'SHIFT' })).toThrow(
      /^target_modules: is required for this model \(no default for model_type 'unknown'\); targetable modules: gate, head, proj/,
    );
  });

  it('fields of the wrong type name the field', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ target_modules: 5 }, 'target_modules'],
      [{ target_modules: ['proj', 3] }, 'target_modules'],
      [{ target_modules: ['proj'], layers_to_transform: 'all' }, 'layers_to_transform'],
      [{ target_modules: ['proj'], layers_to_transform: [0.5] }, 'layers_to_transform'],
      [{ target_modules: ['proj'], modules_to_save: 'head' }, 'modules_to_save'],
      [{ target_modules: ['proj'], task_type: 'CAUSAL' }, 'task_type'],
      [{ target_modules: ['proj'], inference_mode: 'yes' }, 'inference_mode'],
      [{ target_modules: ['proj'], init_value: '1' }, 'init_value'],
    ];
    for (const [c, fieldName] of cases) {
      let err: unknown;
      try {
        getPeftModel(new Net(), { peft_type: 'SHIFT', ...c });
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(c)).toBeInstanceOf(PeftConfigError);
      expect((err as PeftConfigError).field).toBe(fieldName);
      expect((err as Error).message).toMatch(new RegExp(`^${fieldName}: expected `));
    }
  });

  it('refuses wrapping twice, bad adapter names, duplicates and mixing methods', () => {
    const peft = getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj'] });
    expect(() => getPeftModel(peft, { peft_type: 'SHIFT', target_modules: ['proj'] })).toThrow(/already a PeftModel/);
    expect(() => peft.addAdapter('a.b', { peft_type: 'SHIFT', target_modules: ['proj'] })).toThrow(
      /invalid adapter name/,
    );
    expect(() => peft.addAdapter('default', { peft_type: 'SHIFT', target_modules: ['proj'] })).toThrow(
      /already exists/,
    );
    registerAdapter({
      ...shiftMethod,
      name: 'shift2',
      peftType: 'SHIFT2',
      normalizeConfig: (r) => ({ ...shiftMethod.normalizeConfig({ ...r, peft_type: 'SHIFT' }) }),
    });
    expect(() => peft.addAdapter('b', { peft_type: 'SHIFT2', target_modules: ['proj'] })).toThrow(
      /mixing methods is not supported/,
    );
    expect(() => peft.setAdapter('missing')).toThrow(/no adapter 'missing' \(adapters: default\)/);
  });
});

describe('freezing and parameter counts', () => {
  it('only adapter parameters train; counts are computed by hand', () => {
    const net = new Net();
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj', 'gate'] });
    for (const [k, t] of net.namedParameters()) expect(t.requiresGrad, k).toBe(k.includes('shift_vector'));
    // 4 adapted Linear(4,4) → 4 vectors of 4
    expect(peft.countTrainable()).toEqual({ trainable: 16, total: NET_PARAMS + 16 });
    const lines: string[] = [];
    expect(peft.printTrainableParameters((s) => lines.push(s))).toBe(
      `trainable params: 16 || all params: 131 || trainable%: ${((100 * 16) / 131).toFixed(4)}`,
    );
    expect(lines).toHaveLength(1);
  });

  it('bias "all" trains every bias, "<method>_only" the adapted layers\' biases', () => {
    const all = getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj'], bias: 'all' });
    // 2 vectors (8) + biases: 4 × 4 (blocks) + 3 (head) + 4 (mix) = 23
    expect(all.countTrainable()).toEqual({ trainable: 8 + 23, total: NET_PARAMS + 8 });
    expect(Object.keys(all.adapterStateDict())).toContain(`${KEY_PREFIX}head.bias`);
    const only = getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj'], bias: 'shift_only' });
    expect(only.countTrainable()).toEqual({ trainable: 8 + 8, total: NET_PARAMS + 8 });
    expect(Object.keys(only.adapterStateDict()).sort()).toEqual([
      `${KEY_PREFIX}body.layers.0.proj.base_layer.bias`,
      `${KEY_PREFIX}body.layers.0.proj.shift_vector`,
      `${KEY_PREFIX}body.layers.1.proj.base_layer.bias`,
      `${KEY_PREFIX}body.layers.1.proj.shift_vector`,
    ]);
  });

  it('gradients reach the adapter only; the value equals the float64 derivative', () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['gate'], layers_to_transform: 1 });
    const R = rand(3 * 3, 99);
    // L = Σ R ⊙ y. y = head(gate1(…) + s) → dL/ds_j = Σ_i Σ_o R[i,o]·Wh[o,j]
    const loss = sum(mul(net.forward(x()), tensor(R, [3, 3])));
    loss.backward();
    const ref = [0, 1, 2, 3].map((j) => {
      let g = 0;
      for (let i = 0; i < 3; i++) for (let o = 0; o < 3; o++) g += R[i * 3 + o] * w['head.weight'][o * 4 + j];
      return g;
    });
    const s = peft.adapterStateDict()[`${KEY_PREFIX}body.layers.1.gate.shift_vector`];
    expectClose(s.grad!, ref, 1e-5);
    for (const [k, t] of net.namedParameters()) if (!k.includes('shift_vector')) expect(t.grad, k).toBeNull();
  });
});

describe('modules_to_save', () => {
  it("trains a copy of the module, saves it under the module's own key, keeps the original", async () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'], modules_to_save: ['head'] });
    const wrapper = net.getSubmodule('head');
    expect(wrapper).toBeInstanceOf(ModulesToSaveWrapper);
    // PEFT counts the original and the copy: 115 + 8 (vectors) + 15 (copy); trainable 8 + 15
    expect(peft.countTrainable()).toEqual({ trainable: 23, total: NET_PARAMS + 8 + 15 });
    expect(net.getSubmodule('head.original_module').param('weight').requiresGrad).toBe(false);
    expect(net.getSubmodule('head.modules_to_save.default').param('weight').requiresGrad).toBe(true);
    expect(Object.keys(peft.adapterStateDict()).sort()).toEqual([
      `${KEY_PREFIX}body.layers.0.proj.shift_vector`,
      `${KEY_PREFIX}body.layers.1.proj.shift_vector`,
      `${KEY_PREFIX}head.bias`,
      `${KEY_PREFIX}head.weight`,
    ]);

    // change the trained copy: forward uses it; the original is untouched
    const hw = tensor(rand(12, 5), [3, 4]);
    const hb = tensor([0.1, -0.2, 0.3], [3]);
    peft.loadAdapterState({ [`${KEY_PREFIX}head.weight`]: hw, [`${KEY_PREFIX}head.bias`]: hb }, 'default', {
      strict: false,
    });
    const head = { weight: f64(hw), bias: f64(hb) };
    expectClose(net.forward(x()), netRef(w, xs(), { head }), 1e-6);
    expect(f64(net.getSubmodule('head.original_module').param('weight'))).toEqual(w['head.weight']);
    // disabled: the original head and no shift
    peft.disableAdapter(() => expectClose(net.forward(x()), netRef(w, xs()), 1e-6));

    // unload keeps the trained copy in place of the wrapper
    const plain = peft.unload();
    expect(plain.getSubmodule('head')).toBeInstanceOf(Linear);
    expectClose(plain.forward(x()), netRef(w, xs(), { head }), 1e-6);
  });
});

describe('several named adapters', () => {
  it('addAdapter / setAdapter / deleteAdapter switch forward, training and state', () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'], init_value: 1 });
    peft.addAdapter('second', { peft_type: 'SHIFT', target_modules: ['gate'], layers_to_transform: 0, init_value: -3 });
    expect(peft.adapterNames).toEqual(['default', 'second']);
    expect(peft.activeAdapter).toBe('default'); // adding does not activate
    const ones = [1, 1, 1, 1];
    const minus3 = [-3, -3, -3, -3];
    const refDefault = netRef(w, xs(), { shifts: { 'body.layers.0.proj': ones, 'body.layers.1.proj': ones } });
    const refSecond = netRef(w, xs(), { shifts: { 'body.layers.0.gate': minus3 } });
    expectClose(net.forward(x()), refDefault, 1e-6);
    const trainable = () => net.namedTrainableParameters().map(([k]) => k);
    expect(trainable()).toEqual(['body.layers.0.proj.shift_vector.default', 'body.layers.1.proj.shift_vector.default']);

    peft.setAdapter('second');
    expect(peft.activeAdapter).toBe('second');
    expectClose(net.forward(x()), refSecond, 1e-6);
    expect(trainable()).toEqual(['body.layers.0.gate.shift_vector.second']);
    expect(Object.keys(peft.adapterStateDict())).toEqual([`${KEY_PREFIX}body.layers.0.gate.shift_vector`]);
    expect(Object.keys(peft.adapterStateDict('default'))).toHaveLength(2);

    // disableAdapter: the base model alone, restored afterwards (also after a throw)
    peft.disableAdapter(() => expectClose(net.forward(x()), netRef(w, xs()), 1e-6));
    expect(() =>
      peft.disableAdapter(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expectClose(net.forward(x()), refSecond, 1e-6);

    peft.deleteAdapter('second');
    expect(peft.adapterNames).toEqual(['default']);
    expect(peft.activeAdapter).toBe('default');
    expect(net.namedParameters().some(([k]) => k.includes('second'))).toBe(false);
    expectClose(net.forward(x()), refDefault, 1e-6);
  });

  it('disableAdapter works with async functions', async () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'], init_value: 2 });
    const out = await peft.disableAdapter(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return f64(net.forward(x()));
    });
    expectClose(out, netRef(w, xs()), 1e-6);
    const two = [2, 2, 2, 2];
    expectClose(
      net.forward(x()),
      netRef(w, xs(), { shifts: { 'body.layers.0.proj': two, 'body.layers.1.proj': two } }),
      1e-6,
    );
  });
});

describe('merging', () => {
  it('merge folds the adapter into the base; unmerge restores; mergeAndUnload returns the plain model', () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'] });
    const s0 = setShift(peft, 'body.layers.0.proj', [0.5, -1, 2, 0.25]);
    const s1 = setShift(peft, 'body.layers.1.proj', [1, 1, -1, 0]);
    const ref = netRef(w, xs(), { shifts: { 'body.layers.0.proj': s0, 'body.layers.1.proj': s1 } });
    peft.merge();
    const b0 = net.getSubmodule('body.layers.0.proj.base_layer').param('bias');
    expectClose(
      b0,
      w['body.layers.0.proj.bias'].map((v, i) => v + s0[i]),
      1e-6,
    );
    expectClose(net.forward(x()), ref, 1e-6);
    peft.unmerge();
    expectClose(net.getSubmodule('body.layers.0.proj.base_layer').param('bias'), w['body.layers.0.proj.bias'], 1e-6);
    expectClose(net.forward(x()), ref, 1e-6);
    const plain = peft.mergeAndUnload();
    expect(plain).toBe(net);
    expect(plain.getSubmodule('body.layers.0.proj')).toBeInstanceOf(Linear);
    expect(plain.namedParameters().map(([k]) => k)).toEqual(new Net().namedParameters().map(([k]) => k));
    expectClose(plain.forward(x()), ref, 1e-6);
    expect(() => peft.model).toThrow(/unloaded/);
  });

  it('a layer that does not implement merge says so (AdapterLayer default)', () => {
    const layer = new ShiftLayer(
      new Linear(2, 2),
      { peft_type: 'SHIFT' },
      { path: 'p', adapterName: 'default', modelType: undefined, shared: new TunerModel(new Linear(1, 1)) },
    );
    expect(() => AdapterLayer.prototype.merge.call(layer)).toThrow(/ShiftLayer cannot be merged/);
    expect(() => AdapterLayer.prototype.unmerge.call(layer)).toThrow(/ShiftLayer cannot be unmerged/);
  });
});

describe('state dicts and PEFT files', () => {
  it('loadAdapterState rejects unexpected keys, wrong shapes and missing keys, changing nothing', () => {
    const peft = getPeftModel(new Net(), { peft_type: 'SHIFT', target_modules: ['proj'], init_value: 1 });
    const good = tensor([9, 9, 9, 9], [4]);
    const before = Object.values(peft.adapterStateDict()).map(f64);
    expect(() =>
      peft.loadAdapterState({ [shiftKey('body.layers.0.proj')]: good, [shiftKey('body.layers.0.gate')]: good }),
    ).toThrow(/keys that match nothing in the model: base_model.model.body.layers.0.gate.shift_vector/);
    expect(() =>
      peft.loadAdapterState({
        [shiftKey('body.layers.0.proj')]: good,
        [shiftKey('body.layers.1.proj')]: tensor([1, 2], [2]),
      }),
    ).toThrow(/has shape \[2\], the model expects \[4\]/);
    expect(() => peft.loadAdapterState({ [shiftKey('body.layers.0.proj')]: good })).toThrow(
      /lack keys: base_model.model.body.layers.1.proj.shift_vector/,
    );
    expect(Object.values(peft.adapterStateDict()).map(f64)).toEqual(before);
    const { missingKeys } = peft.loadAdapterState({ [shiftKey('body.layers.0.proj')]: good }, 'default', {
      strict: false,
    });
    expect(missingKeys).toEqual([shiftKey('body.layers.1.proj')]);
    const loaded = peft.adapterStateDict()[shiftKey('body.layers.0.proj')];
    expect(f64(loaded)).toEqual([9, 9, 9, 9]);
    expect(loaded.requiresGrad).toBe(true);
  });

  it('savePretrained writes PEFT layout; fromPretrained reproduces the outputs', async () => {
    const net = new Net();
    const w = baseWeights(net);
    const peft = getPeftModel(net, { peft_type: 'SHIFT', target_modules: ['proj'], modules_to_save: ['head'] });
    const s0 = setShift(peft, 'body.layers.0.proj', [0.5, -1, 2, 0.25]);
    const s1 = setShift(peft, 'body.layers.1.proj', [1, 1, -1, 0]);
    peft.addAdapter('other', { peft_type: 'SHIFT', target_modules: ['gate'], init_value: 0.75 });
    const dir = await mkdtemp(join(tmpdir(), 'peftjs-registry-'));
    dirs.push(dir);
    await savePeftModel(peft, dir);

    expect((await readdir(dir)).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'other']);
    expect((await readdir(join(dir, 'other'))).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    const text = await readFile(join(dir, 'adapter_config.json'), 'utf8');
    const config = JSON.parse(text);
    expect(Object.keys(config)).toEqual(Object.keys(config).sort());
    expect(config).toMatchObject({
      peft_type: 'SHIFT',
      inference_mode: true,
      target_modules: ['proj'],
      modules_to_save: ['head'],
    });
    expect(text).toBe(`${JSON.stringify(config, null, 2)}\n`);
    const saved = await loadTensors(await readFile(join(dir, 'adapter_model.safetensors')));
    expect(Object.keys(saved).sort()).toEqual([
      shiftKey('body.layers.0.proj'),
      shiftKey('body.layers.1.proj'),
      `${KEY_PREFIX}head.bias`,
      `${KEY_PREFIX}head.weight`,
    ]);
    expect(f64(saved[shiftKey('body.layers.0.proj')])).toEqual(s0);
    expect(f64(saved[`${KEY_PREFIX}head.weight`])).toEqual(w['head.weight']);

    // a fresh model with the same base weights
    const fresh = new Net();
    fresh.loadStateDict(Object.fromEntries(Object.entries(w).map(([k, v]) => [k, tensor(v, shapeOf(k))])));
    const loaded = await loadPeftModel(fresh, dir);
    const ref = netRef(w, xs(), { shifts: { 'body.layers.0.proj': s0, 'body.layers.1.proj': s1 } });
    expectClose(fresh.forward(x()), ref, 1e-6);
    expect(loaded.countTrainable().trainable).toBe(0); // inference mode by default
    expect([...loaded.modules()].filter((m) => m.training)).toEqual([]); // eval mode, as PEFT: dropout off

    await loadAdapter(loaded, join(dir, 'other'), 'other', { isTrainable: true });
    loaded.setAdapter('other');
    const g = [0.75, 0.75, 0.75, 0.75];
    expectClose(
      fresh.forward(x()),
      netRef(w, xs(), { shifts: { 'body.layers.0.gate': g, 'body.layers.1.gate': g } }),
      1e-6,
    );
    expect(loaded.countTrainable().trainable).toBe(8);

    await expect(loadPeftModel(new Net(), join(dir, 'nope'))).rejects.toThrow(/no adapter_config.json/);
  });
});

function shapeOf(key: string): number[] {
  if (key.startsWith('head.')) return key.endsWith('weight') ? [3, 4] : [3];
  return key.endsWith('weight') ? [4, 4] : [4];
}
