/**
 * Placements and options the golden cases do not cover (parallel adapters, new LayerNorms, the residual options,
 * gating, learned and per-channel scaling), on a post-LN (BERT) and a pre-LN (LLaMA) block: the layer's output
 * against a float64 reimplementation of AdapterHub's `Adapter` / `ParallelAdapter` pre_forward → forward →
 * post_forward (adapters 1.2, methods/modeling.py), with random adapter parameters.
 */
import { join } from 'node:path';
import type { LayerModule } from '@peftjs/nn';
import { fromPretrained } from '@peftjs/models/node';
import { type PeftModel, getPeftModel } from '@peftjs/registry';
import { noGrad, randn, type Tensor } from '@peftjs/tensor';
import { addArr, f64, goldenRoot, linear } from '@peftjs/test-utils';
import { describe, expect, it } from 'vitest';
import { BottleneckLayer, bottleneckConfig, type BottleneckConfig } from '../src/index.js';

const B = 2;
const T = 3;

function layerNorm(x: number[], w: number[], b: number[], h: number, eps: number): number[] {
  const out = new Array<number>(x.length);
  for (let r = 0; r < x.length / h; r++) {
    const row = x.slice(r * h, r * h + h);
    const mu = row.reduce((a, v) => a + v, 0) / h;
    const varc = row.reduce((a, v) => a + (v - mu) ** 2, 0) / h;
    for (let j = 0; j < h; j++) out[r * h + j] = ((row[j]! - mu) / Math.sqrt(varc + eps)) * w[j]! + b[j]!;
  }
  return out;
}

const ACT: Record<string, (v: number) => number> = {
  relu: (v) => Math.max(0, v),
  swish: (v) => v / (1 + Math.exp(-v)),
  tanh: Math.tanh,
  leakyrelu: (v) => (v > 0 ? v : 0.01 * v),
};

type P = Record<string, number[]>;

/** AdapterHub's computation for one adapter, in float64. */
function reference(
  c: Required<Omit<BottleneckConfig, 'peft_type'>>,
  p: P,
  hidden: number[],
  input: number[],
  norm: ((v: number[]) => number[]) | null,
  h: number,
  d: number,
): number[] {
  const rows = hidden.length / h;
  const adapterLn = (v: number[], name: string) => layerNorm(v, p[`${name}.weight`]!, p[`${name}.bias`]!, h, 1e-5);
  // pre_forward
  let x: number[];
  let residual: number[];
  if (c.is_parallel) {
    x = input;
    residual = input;
  } else {
    let hs = hidden;
    let res: number[] | null = c.residual_before_ln === true ? hidden : null;
    if (c.original_ln_before) {
      hs = addArr(hs, input);
      if (norm) {
        if (c.residual_before_ln === 'post_add') res = hs;
        hs = norm(hs);
      }
    }
    if (c.residual_before_ln === false) res = hs;
    x = hs;
    residual = res!;
  }
  // forward
  const downIn = c.ln_before ? adapterLn(x, 'adapter_down.0') : x;
  const li = c.ln_before ? 1 : 0;
  const act = ACT[c.non_linearity]!;
  const down = linear(downIn, p[`adapter_down.${li}.weight`]!, p[`adapter_down.${li}.bias`]!, rows, h, d).map(act);
  let out = linear(down, p['adapter_up.weight']!, p['adapter_up.bias']!, rows, d, h);
  if (c.scaling === 'learned') out = out.map((v) => v * p.scaling![0]!);
  else if (c.scaling === 'channel') out = out.map((v, i) => v * p.scaling![i % h]!);
  else out = out.map((v) => v * (c.scaling as number));
  if (c.use_gating) {
    const g = linear(x, p['gate.weight']!, p['gate.bias']!, rows, h, 1).map((v) => 1 / (1 + Math.exp(-v)));
    const perSeq = Array.from({ length: B }, (_, b) => g.slice(b * T, b * T + T).reduce((a, v) => a + v, 0) / T);
    out = out.map((v, i) => v * perSeq[Math.floor(i / (T * h))]!);
  }
  if (c.is_parallel) {
    if (c.ln_after) out = adapterLn(out, 'adapter_norm_after');
    out = addArr(out, hidden);
  } else {
    if (c.adapter_residual_before_ln) out = addArr(out, residual);
    if (c.ln_after) out = adapterLn(out, 'adapter_norm_after');
    if (!c.adapter_residual_before_ln) out = addArr(out, residual);
  }
  // post_forward
  if (c.original_ln_after) {
    out = addArr(out, input);
    if (norm) out = norm(out);
  }
  return out;
}

const CONFIGS: Record<string, BottleneckConfig> = {
  par_bn: bottleneckConfig('par_bn', { reduction_factor: 4 }),
  scaled_par_bn_ln_after: bottleneckConfig('scaled_par_bn', { reduction_factor: 4, ln_after: true }),
  seq_bn_new_lns: bottleneckConfig('seq_bn', { reduction_factor: 8, ln_before: true, ln_after: true }),
  seq_bn_adapter_residual_before_ln: bottleneckConfig('seq_bn', {
    reduction_factor: 8,
    ln_after: true,
    adapter_residual_before_ln: true,
    non_linearity: 'tanh',
  }),
  seq_bn_residual_after_ln: bottleneckConfig('seq_bn', { reduction_factor: 8, residual_before_ln: false }),
  double_seq_bn_gated_channel: bottleneckConfig('double_seq_bn', {
    reduction_factor: 8,
    use_gating: true,
    scaling: 'channel',
    non_linearity: 'leakyrelu',
  }),
  double_seq_bn_no_ln_after: bottleneckConfig('double_seq_bn', {
    reduction_factor: 16,
    original_ln_after: false,
    original_ln_before: true,
    scaling: 'learned',
  }),
};

/** Fill every adapter parameter with N(0, 0.3²) draws (inits such as mam_adapter zero some of them). */
function randomize(peft: PeftModel): void {
  for (const [, s] of peft.adapterSlots()) {
    const old = s.owner.param(s.param);
    if (s.key === 'weight' || s.key === 'bias') continue; // the classifier head
    const t = noGrad(() => randn([...old.shape], 0.3, 0.3));
    t.requiresGrad = true;
    s.owner.setParameter(s.param, t);
    old.dispose();
  }
}

async function check(arch: 'bert' | 'llama', name: string, config: BottleneckConfig): Promise<void> {
  const model = await fromPretrained(join(goldenRoot(), 'base', arch), { tokenizer: false });
  const peft = getPeftModel(model, config, { adapterName: 'ref' });
  try {
    randomize(peft);
    peft.eval();
    const c = peft.peftConfig() as unknown as Required<Omit<BottleneckConfig, 'peft_type'>>;
    const layers = peft.adapterLayers().filter(([, l]) => l instanceof BottleneckLayer);
    expect(layers.length).toBe((c.mh_adapter ? 2 : 0) + (c.output_adapter ? 2 : 0));
    for (const [path, layer] of layers as [string, BottleneckLayer][]) {
      const h = layer.hiddenSize;
      const block = layer.adapter('ref');
      const p: P = Object.fromEntries(block.namedParameters().map(([k, t]) => [k, f64(t)]));
      const hidden = randn([B, T, h]);
      const input = randn([B, T, h]);
      let norm: LayerModule | null = null;
      let normRef: ((v: number[]) => number[]) | null = null;
      if (arch === 'bert') {
        const ln = peft.model.getSubmodule(path.replace(/\.residual$/, '.LayerNorm'));
        norm = ln as unknown as LayerModule;
        const [w, b] = [f64(ln.param('weight')), f64(ln.param('bias'))];
        normRef = (v) => layerNorm(v, w, b, h, 1e-12);
      }
      const ours = noGrad(() => layer.forward(hidden, input, norm));
      const ref = reference(c, p, f64(hidden), f64(input), normRef, h, block.downSize);
      const got = f64(ours);
      const scale = Math.max(...ref.map(Math.abs));
      const err = Math.max(...got.map((v, i) => Math.abs(v - ref[i]!))) / scale;
      expect(err, `${arch} ${name} ${path}`).toBeLessThan(2e-5);
      for (const t of [hidden, input, ours] as Tensor[]) t.dispose();
    }
  } finally {
    peft.dispose();
  }
}

describe('bottleneck placements against a float64 reimplementation of AdapterHub', () => {
  for (const [name, config] of Object.entries(CONFIGS)) {
    it(`${name} (BERT, post-LN)`, () => check('bert', name, config));
    it(`${name} (LLaMA, pre-LN)`, () => check('llama', name, config));
  }
  it('residual_before_ln "post_add" on BERT (residual after the sum, before the LayerNorm)', () =>
    check('bert', 'post_add', bottleneckConfig('seq_bn', { reduction_factor: 8, residual_before_ln: 'post_add' })));
  it('residual_before_ln "post_add" on a pre-LN block is a clear error, as the library fails there', async () => {
    const model = await fromPretrained(join(goldenRoot(), 'base', 'llama'), { tokenizer: false });
    const peft = getPeftModel(model, bottleneckConfig('seq_bn', { residual_before_ln: 'post_add' }));
    const [, layer] = peft.adapterLayers()[0] as [string, BottleneckLayer];
    const x = randn([1, 2, layer.hiddenSize]);
    expect(() => layer.forward(x, x, null)).toThrow(/post_add/);
    x.dispose();
    peft.dispose();
  });
});
