/**
 * `--methods all` is every installed method: the CLI ships LoRA, DoRA, IA³ and bottleneck adapters (src/installed.ts), and a third-party
 * method that registers a preset joins them with no change to the CLI or the trainer.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Module, ParameterDict } from '@peftjs/nn';
import {
  AdapterLayer,
  type AdapterSlot,
  listPresets,
  normalizeTunerFields,
  registerAdapter,
  registerPreset,
} from '@peftjs/registry';
import { add, composite, mul, type Tensor, zeros } from '@peftjs/tensor';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { resolveMethods } from '../src/methods.js';
import { makeTinyCheckpoint, sampleText, writeText } from './helpers/tiny-model.js';

/** y = base(x) ⊙ (1 + s): the smallest method there is. */
class OutScale extends AdapterLayer {
  constructor(base: Module, name: string) {
    super(base);
    this.registerModule('out_scale', new ParameterDict());
    this.addAdapter(name);
  }
  addAdapter(name: string): void {
    const s = zeros([(this.baseLayer as unknown as { outFeatures: number }).outFeatures]);
    s.requiresGrad = true;
    this.child<ParameterDict>('out_scale').set(name, s);
    this.adapterNames.push(name);
  }
  deleteAdapter(name: string): void {
    this.child<ParameterDict>('out_scale').delete(name)?.dispose();
    this.adapterNames.splice(this.adapterNames.indexOf(name), 1);
  }
  adapterSlots(name: string): AdapterSlot[] {
    return [{ key: 'out_scale', owner: this.child('out_scale'), param: name }];
  }
  forward(x: Tensor): Tensor {
    const names = this.adaptersToApply();
    return composite(() => {
      let y = this.baseLayer.forward(x);
      for (const a of names) y = mul(y, add(this.child<ParameterDict>('out_scale').get(a), 1));
      return y;
    });
  }
}

registerAdapter({
  name: 'outscale',
  peftType: 'OUTSCALE',
  supportedModules: ['Linear'],
  normalizeConfig: (raw) => ({ ...normalizeTunerFields(raw), peft_type: 'OUTSCALE' }),
  toJSON: (c) => ({ peft_type: 'OUTSCALE', target_modules: c.target_modules ?? null }),
  canAdapt: (m) => (m as { linearLike?: boolean }).linearLike === true,
  createLayer: (m, _c, ctx) => new OutScale(m, ctx.adapterName),
});
registerPreset({
  name: 'outscale',
  method: 'outscale',
  summary: 'a learned scale per output',
  config: (o) => ({ peft_type: 'OUTSCALE', target_modules: o.targetModules ?? 'all-linear' }),
  learningRate: () => 2e-2,
});

let dir: string;
let model: string;
let trainTxt: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-methods-all-'));
  model = await makeTinyCheckpoint(dir);
  trainTxt = await writeText(dir, 'train.txt', sampleText(8_000));
});

describe('--methods all', () => {
  it('resolves to every installed preset, the third-party one included', async () => {
    const specs = await resolveMethods('all', {});
    const names = specs.map((s) => s.name);
    expect(names).toEqual(listPresets().map((p) => p.name));
    for (const n of ['lora', 'dora', 'ia3', 'bottleneck', 'houlsby', 'outscale']) expect(names).toContain(n);
    expect(specs.find((s) => s.name === 'ia3')!.config.peft_type).toBe('IA3');
    expect(specs.at(-1)!.config.peft_type).toBe('OUTSCALE'); // registered last, listed last
  });

  it('compares shipped and third-party methods, each with its own suggested learning rate without --lr', async () => {
    const out = join(dir, 'cmp');
    const lines: string[] = [];
    const code = await runCli(
      [
        'compare',
        '--model',
        model,
        '--data',
        trainTxt,
        '--methods',
        'lora,ia3,outscale,qlora',
        '--steps',
        '2',
        '--seq-len',
        '32',
        '--out',
        out,
      ],
      (s) => lines.push(s),
      () => {},
    );
    expect(code).toBe(0);
    const json = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8'));
    expect(json.methods.map((m: { name: string }) => m.name)).toEqual(['lora', 'ia3', 'outscale', 'qlora']);
    const byName = Object.fromEntries(json.methods.map((m: { name: string; lr: number }) => [m.name, m]));
    expect(byName.outscale.lr).toBe(2e-2);
    expect(byName.lora.lr).toBe(3e-3); // no suggestion: the shared default
    expect(byName.outscale.trainableParams).toBeGreaterThan(0);
    expect(byName.ia3.trainableParams).toBeLessThan(byName.lora.trainableParams);
    // the qlora preset quantizes the base at load (NF4 + double quant): same LoRA, far fewer base bytes
    expect(byName.qlora.trainableParams).toBe(byName.lora.trainableParams);
    expect(byName.qlora.baseWeightBytes).toBeLessThan(0.6 * byName.lora.baseWeightBytes);
  });
});
