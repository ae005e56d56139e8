/**
 * `peftjs train --method prompt-tuning|p-tuning|prefix-tuning` and `peftjs generate` on a small checkpoint: each
 * prompt method lowers held-out perplexity, saves PEFT's layout, and `generate --adapter` prints exactly what the
 * library's `generate` produces with the loaded adapter.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteTokenizer, generate } from '@peftjs/models';
import { fromPretrained } from '@peftjs/models/node';
import { loadPeftModel } from '@peftjs/registry/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';
import { makeTinyCheckpoint, sampleText, writeText } from './helpers/tiny-model.js';

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
  dir = await mkdtemp(join(tmpdir(), 'peftjs-cli-generate-'));
  model = await makeTinyCheckpoint(dir);
  trainTxt = await writeText(dir, 'train.txt', sampleText(12_000));
});

describe('prompt methods from the command line', () => {
  for (const [method, peftType] of [
    ['prompt-tuning', 'PROMPT_TUNING'],
    ['p-tuning', 'P_TUNING'],
    ['prefix-tuning', 'PREFIX_TUNING'],
  ] as const) {
    it(`train --method ${method} lowers perplexity; generate --adapter matches the library`, async () => {
      const adapter = join(dir, method);
      const r = await cli(
        'train',
        '--model',
        model,
        '--data',
        trainTxt,
        '--steps',
        '10',
        '--seq-len',
        '32',
        '--method',
        method,
        '--out',
        adapter,
      );
      expect(r.code).toBe(0);
      const before = Number(/perplexity before: ([\d.]+)/.exec(r.out)?.[1]);
      const after = Number(/perplexity after: +([\d.]+)/.exec(r.out)?.[1]);
      expect(after).toBeLessThan(before);
      const config = JSON.parse(await readFile(join(adapter, 'adapter_config.json'), 'utf8'));
      expect(config).toMatchObject({ peft_type: peftType, task_type: 'CAUSAL_LM', num_virtual_tokens: 20 });

      const g = await cli(
        'generate',
        '--model',
        model,
        '--adapter',
        adapter,
        '--prompt',
        'the whale ',
        '--max-new-tokens',
        '16',
        '--json',
      );
      expect(g.code).toBe(0);
      const printed = JSON.parse(g.out) as { prompt: string; completion: string; tokens: number[] };
      const tokenizer = new ByteTokenizer();
      const ids = tokenizer.encode('the whale ');
      const peft = await loadPeftModel(await fromPretrained(model), adapter);
      const [tokens] = await generate(peft, ids, { maxNewTokens: 16, eos: tokenizer.eosTokenId ?? undefined });
      peft.dispose();
      expect(printed.tokens).toEqual(tokens.slice(ids.length));
      expect(printed.completion).toBe(tokenizer.decode(tokens.slice(ids.length), { skipSpecialTokens: true }));
      // nothing to fold into the weights: a clear usage error
      const merged = await cli('merge', '--model', model, '--adapter', adapter, '--out', join(dir, `${method}-merged`));
      expect(merged.code).toBe(2);
      expect(merged.err).toMatch(/cannot merge adapter .*cannot be merged into the model/);
    });
  }

  it('generate: plain text output, sampling by seed, and usage errors', async () => {
    const a = await cli(
      'generate',
      '--model',
      model,
      '--prompt',
      'the sea',
      '--max-new-tokens',
      '12',
      '--temperature',
      '1',
      '--seed',
      '4',
    );
    const b = await cli(
      'generate',
      '--model',
      model,
      '--prompt',
      'the sea',
      '--max-new-tokens',
      '12',
      '--temperature',
      '1',
      '--seed',
      '4',
    );
    expect(a.code).toBe(0);
    expect(a.out.startsWith('the sea')).toBe(true);
    expect(a.out).toBe(b.out);
    const help = await cli('generate', '--help');
    expect(help.out).toMatch(/^Usage: peftjs generate/);
    const missing = await cli('generate', '--model', model);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/--prompt TEXT is required/);
    const badP = await cli('generate', '--model', model, '--prompt', 'x', '--top-p', '0');
    expect(badP.code).toBe(2);
    const noAdapter = await cli('generate', '--model', model, '--prompt', 'x', '--adapter', join(dir, 'nope'));
    expect(noAdapter.err).toMatch(/does not exist/);
  });
});
