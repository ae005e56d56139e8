import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { makeTinyCheckpoint, sampleText, writeText } from './helpers/tiny-model.js';
import { loadPeftModel } from '@peftjs/registry/node';

/** Run the CLI in-process; stdout and stderr lines captured separately. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let dir: string;
let model: string;
let trainTxt: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peftjs-cli-test-'));
  model = await makeTinyCheckpoint(dir);
  trainTxt = await writeText(dir, 'train.txt', sampleText(12_000));
});

describe('peftjs --help', () => {
  it('lists every command', async () => {
    const r = await cli('--help');
    expect(r.code).toBe(0);
    for (const c of ['train', 'eval', 'merge', 'compare', 'recommend', 'golden'])
      expect(r.out).toMatch(new RegExp(`^  ${c} `, 'm'));
  });
  for (const c of ['train', 'eval', 'merge', 'compare', 'recommend']) {
    it(`peftjs ${c} --help`, async () => {
      const r = await cli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^Usage: peftjs ${c}`));
      expect(r.out).toContain(c === 'recommend' ? '--model-params' : '--backend');
      expect(r.out).toContain('-h, --help');
    });
  }
});

describe('clear errors (exit 2, message on stderr)', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'missing data file',
      () => ['train', '--model', model, '--data', join(dir, 'nope.txt')],
      /training data file '.*nope\.txt' does not exist/,
    ],
    ['data path is a directory', () => ['train', '--model', model, '--data', dir], /is not a file/],
    [
      'empty data file',
      () => ['train', '--model', model, '--data', join(dir, 'empty.txt')],
      /training data file '.*empty\.txt' is empty/,
    ],
    [
      'text too short',
      () => ['train', '--model', model, '--data', join(dir, 'short.txt')],
      /training data .* is too short: \d+ tokens, one sequence needs 127/,
    ],
    [
      'invalid JSON config',
      () => ['train', '--model', model, '--config', join(dir, 'bad.json')],
      /config file '.*bad\.json' is not valid JSON/,
    ],
    [
      'config without peft_type',
      () => ['train', '--model', model, '--config', join(dir, 'nopeft.json')],
      /has no "peft_type"/,
    ],
    [
      'config the method rejects',
      () => ['train', '--model', model, '--config', join(dir, 'badr.json')],
      /config file .*badr\.json.*\br\b/,
    ],
    ['unknown method', () => ['train', '--method', 'vera'], /unknown method 'vera' \(available: lora, dora/],
    ['unknown method in a list', () => ['compare', '--methods', 'lora,bogus'], /unknown method 'bogus'/],
    [
      'missing config file',
      () => ['train', '--config', join(dir, 'none.json')],
      /config file '.*none\.json' does not exist/,
    ],
    [
      'missing model dir',
      () => ['eval', '--model', join(dir, 'no-model')],
      /model directory '.*no-model' does not exist/,
    ],
    [
      'missing adapter dir',
      () => ['eval', '--adapter', join(dir, 'no-adapter')],
      /adapter directory '.*no-adapter' does not exist/,
    ],
    ['not an adapter dir', () => ['eval', '--model', model, '--adapter', dir], /has no adapter_config\.json/],
    ['merge without --out', () => ['merge', '--adapter', dir], /--out DIR is required/],
    ['unknown option', () => ['train', '--stepz', '3'], /Unknown option '--stepz'.*peftjs train --help/],
    ['bad number', () => ['train', '--steps', 'many'], /--steps must be an integer >= 1, got 'many'/],
    ['bad backend', () => ['eval', '--backend', 'tpu'], /--backend must be one of cpu, webgpu, got 'tpu'/],
    [
      'bad size',
      () => ['recommend', '--model-params', '1M', '--examples', '5', '--memory', 'lots'],
      /--memory must be a size/,
    ],
  ];
  beforeAll(async () => {
    await writeFile(join(dir, 'empty.txt'), ' \n');
    await writeFile(join(dir, 'short.txt'), 'too short');
    await writeFile(join(dir, 'bad.json'), '{"peft_type": "LORA", r: 8}');
    await writeFile(join(dir, 'nopeft.json'), '{"r": 8}');
    await writeFile(join(dir, 'badr.json'), '{"peft_type": "LORA", "r": -1}');
  });
  for (const [name, argv, re] of cases) {
    it(name, async () => {
      const r = await cli(...argv());
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err).toMatch(/^peftjs \w+: /);
    });
  }
});

describe('end to end on a small model', () => {
  let adapter: string;
  let trainOut: string;

  it('train: perplexity goes down, the adapter is saved in PEFT format and loads back', async () => {
    adapter = join(dir, 'adapter');
    const r = await cli(
      'train',
      '--model',
      model,
      '--data',
      trainTxt,
      '--steps',
      '12',
      '--seq-len',
      '32',
      '--lr',
      '1e-2',
      '--out',
      adapter,
    );
    trainOut = r.out;
    expect(r.code).toBe(0);
    const before = Number(/perplexity before: ([\d.]+)/.exec(r.out)?.[1]);
    const after = Number(/perplexity after: +([\d.]+)/.exec(r.out)?.[1]);
    expect(before).toBeGreaterThan(0);
    expect(after).toBeLessThan(before);
    expect(r.err).toMatch(/trainable params: [\d,]+ \|\| all params/);
    const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0.05,
      task_type: 'CAUSAL_LM',
    });
    expect([...config.target_modules].sort()).toEqual([
      'down_proj',
      'gate_proj',
      'k_proj',
      'o_proj',
      'q_proj',
      'up_proj',
      'v_proj',
    ]);
    expect(existsSync(join(adapter, 'adapter_model.safetensors'))).toBe(true);

    // eval --adapter reloads it and reproduces the "after" perplexity
    const e = await cli(
      'eval',
      '--model',
      model,
      '--adapter',
      adapter,
      '--data',
      trainTxt,
      '--seq-len',
      '32',
      '--json',
    );
    expect(e.code).toBe(0);
    const m = JSON.parse(e.out);
    expect(m.perplexity).toBeGreaterThan(0);
    const base = await cli('eval', '--model', model, '--data', trainTxt, '--seq-len', '32', '--json');
    expect(m.loss).toBeLessThan(JSON.parse(base.out).loss);
  });

  it('train --method bottleneck: perplexity goes down, eval reloads the adapter, merge refuses it', async () => {
    const bn = join(dir, 'bn-adapter');
    const common = ['--model', model, '--data', trainTxt, '--seq-len', '32'];
    const r = await cli('train', '--method', 'bottleneck', ...common, '--steps', '12', '--lr', '1e-2', '--out', bn);
    expect(r.code).toBe(0);
    const before = Number(/perplexity before: ([\d.]+)/.exec(r.out)?.[1]);
    const after = Number(/perplexity after: +([\d.]+)/.exec(r.out)?.[1]);
    expect(after).toBeLessThan(before);
    const config = JSON.parse(await readFile(join(bn, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ peft_type: 'BOTTLENECK', output_adapter: true, mh_adapter: false });
    const e = await cli('eval', ...common, '--adapter', bn, '--json');
    expect(e.code).toBe(0);
    const baseEval = await cli('eval', ...common, '--json');
    expect(JSON.parse(e.out).loss).toBeLessThan(JSON.parse(baseEval.out).loss);
    const m = await cli('merge', '--model', model, '--adapter', bn, '--out', join(dir, 'bn-merged'));
    expect(m.code).not.toBe(0);
    expect(m.err).toMatch(/cannot be merged/);
  });

  it('merge: the merged checkpoint gives the adapter model’s logits (1e-5)', async () => {
    expect(trainOut).toBeDefined();
    const merged = join(dir, 'merged');
    const r = await cli('merge', '--model', model, '--adapter', adapter, '--out', merged);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/wrote .*model\.safetensors/);
    const { fromPretrained } = await import('@peftjs/models/node');
    const { tensor } = await import('@peftjs/tensor');
    const ids = tensor(
      Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 37) % 256),
      [2, 24],
      { dtype: 'i32' },
    );
    const peft = await loadPeftModel(await fromPretrained(model), adapter);
    peft.eval(); // the freshly added LoRA layers start in training mode (dropout on)
    const plain = await fromPretrained(merged);
    const a = await peft.model.forward({ inputIds: ids }).logits.toArray();
    const b = await plain.forward({ inputIds: ids }).logits.toArray();
    const flatA = (a as number[][][]).flat(2);
    const flatB = (b as number[][][]).flat(2);
    expect(flatB.length).toBe(flatA.length);
    let maxDiff = 0;
    for (let i = 0; i < flatA.length; i++) maxDiff = Math.max(maxDiff, Math.abs(flatA[i] - flatB[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Object.keys(plain.stateDict()).some((k) => k.includes('lora'))).toBe(false);
  });

  it('compare: table on stdout, compare.json and a valid SVG with one loss line per method', async () => {
    const out = join(dir, 'cmp');
    const r = await cli(
      'compare',
      '--model',
      model,
      '--data',
      trainTxt,
      '--methods',
      'lora,dora',
      '--steps',
      '4',
      '--seq-len',
      '32',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const header = lines.findIndex((l) => l.startsWith('method '));
    expect(lines[header + 2]).toMatch(/^lora\s+LORA\s+[\d,]+\s+[\d,]+/);
    expect(lines[header + 3]).toMatch(/^dora\s+LORA\s+[\d,]+\s+[\d,]+/);
    const json = JSON.parse(await readFile(join(out, 'compare.json'), 'utf8'));
    expect(json.methods.map((m: { name: string }) => m.name)).toEqual(['lora', 'dora']);
    // DoRA = LoRA + one magnitude per output row of every adapted layer
    expect(json.methods[1].trainableParams).toBeGreaterThan(json.methods[0].trainableParams);
    const svg = await readFile(join(out, 'compare.svg'), 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false }).parse(svg);
    expect(doc.svg).toBeDefined();
    const lineGroups = svg.match(/<g class="mark-line role-mark loss_curves_marks"[^>]*>\s*<path /g) ?? [];
    expect(lineGroups.length).toBe(2);
    expect((svg.match(/class="mark-symbol role-mark quality_points_marks"/g) ?? []).length).toBe(1);
    expect(svg).toContain('lora');
    expect(svg).toContain('dora');
  });

  it('recommend: counts the model and data, prints a method, config and reasons', async () => {
    const r = await cli('recommend', '--model', model, '--data', trainTxt, '--json');
    expect(r.code).toBe(0);
    const rec = JSON.parse(r.out);
    expect(['lora', 'dora']).toContain(rec.method);
    expect(rec.input.numExamples).toBeGreaterThan(50);
    expect(rec.config.peft_type).toBe('LORA');
    expect(rec.reasons.length).toBeGreaterThan(2);
    const t = await cli('recommend', '--model-params', '7B', '--memory', '16GB', '--examples', '500');
    // 7B params in 16 GB: float32 LoRA does not fit; the installed low-memory preset (quant-nf4's) is chosen
    expect(t.out).toMatch(/^recommended: qlora/);
    expect(t.out).toMatch(/4-bit NF4 base/);
  });
});

describe('the peftjs binary', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const bin = resolve(here, '../src/bin.ts');
  it('prints help, and exits 2 with the error on stderr', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', bin, 'eval', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: peftjs eval/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', bin, 'train', '--data', '/no/such/file.txt'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/peftjs train: training data file '\/no\/such\/file\.txt' does not exist/);
    expect(bad.stdout).toBe('');
  });
});
