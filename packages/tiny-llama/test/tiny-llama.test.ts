import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ByteTokenizer, type LlamaForCausalLM, type Tokenizer } from '@peftjs/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldOutLoss, heldOutWindows, loadCorpus, loadTinyLlama, mobyDickText, tinyLlamaDir } from '../src/index.js';

/** The last line of the committed pretraining log: the run's summary. */
function finalRecord(): Record<string, number> {
  const lines = readFileSync(join(tinyLlamaDir, 'pretrain-log.jsonl'), 'utf8').trim().split('\n');
  const rec = JSON.parse(lines[lines.length - 1]);
  expect(rec.event).toBe('final');
  return rec;
}

describe('the committed checkpoint', () => {
  let model: LlamaForCausalLM;
  let tokenizer: Tokenizer;

  beforeAll(async () => {
    ({ model, tokenizer } = await loadTinyLlama());
  });
  afterAll(() => model?.dispose());

  it('lives in an absolute weights directory with every file', () => {
    expect(isAbsolute(tinyLlamaDir)).toBe(true);
    for (const f of [
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
      'pretrain-log.jsonl',
      'MODEL_CARD.md',
    ]) {
      expect(existsSync(join(tinyLlamaDir, f)), f).toBe(true);
    }
  });

  it('loads with the expected config, size and byte tokenizer', async () => {
    const { config } = await loadTinyLlama().then((r) => {
      r.model.dispose();
      return r;
    });
    expect(config).toMatchObject({
      model_type: 'llama',
      vocab_size: 259,
      hidden_size: 128,
      intermediate_size: 344,
      num_hidden_layers: 4,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      head_dim: 32,
      max_position_embeddings: 256,
      tie_word_embeddings: true,
      pad_token_id: 256,
      bos_token_id: 257,
      eos_token_id: 258,
    });
    expect(model.loadReport).toMatchObject({ missingKeys: [], unexpectedKeys: [], mismatched: [] });
    expect(model.training).toBe(false);
    let n = 0;
    for (const [, p] of model.namedParameters()) n += p.size;
    expect(n).toBe(759296);
    expect(tokenizer).toBeInstanceOf(ByteTokenizer);
    expect(tokenizer.vocabSize).toBe(config.vocab_size);
    expect(tokenizer.bosTokenId).toBe(257);
    expect(tokenizer.decode(tokenizer.encode('Call me Ishmael.'), { skipSpecialTokens: true })).toBe(
      'Call me Ishmael.',
    );
  });

  it('reproduces the held-out loss its pretraining log recorded, and beats a unigram byte model', async () => {
    const rec = finalRecord();
    const { heldOut } = loadCorpus('moby-dick');
    const loss = await heldOutLoss(model, tokenizer, heldOut, { maxWindows: rec.test_slice_windows });
    expect(Math.abs(loss - rec.test_slice_loss)).toBeLessThan(1e-4);

    // Unigram baseline, independently and in float64: byte frequencies of the whole held-out text, scored on the
    // bytes the model predicts (every byte of the slice's windows).
    const bytes = new TextEncoder().encode(heldOut);
    const counts = new Float64Array(256);
    for (const b of bytes) counts[b]++;
    const targets = rec.test_slice_windows * 127;
    let nll = 0;
    for (let i = 0; i < targets; i++) nll -= Math.log(counts[bytes[i]] / bytes.length);
    const unigram = nll / targets;
    expect(unigram).toBeGreaterThan(2.5); // English text: ~3 nats per byte
    expect(loss).toBeLessThan(unigram - 0.8);
    expect(Math.exp(rec.heldout_loss)).toBeLessThan(8);
  });
});

describe('corpora', () => {
  it('splits Moby Dick deterministically at a paragraph break, without overlap', () => {
    const a = loadCorpus('moby-dick');
    const b = loadCorpus('moby-dick');
    expect(a.train).toBe(b.train);
    expect(a.heldOut).toBe(b.heldOut);
    const text = mobyDickText();
    expect(text.startsWith(a.train)).toBe(true);
    expect(text.endsWith(a.heldOut)).toBe(true);
    expect(a.train.length + a.heldOut.length).toBeLessThanOrEqual(text.length);
    expect(a.train.length + a.heldOut.length).toBeGreaterThan(text.length - 10);
    expect(a.heldOut.length / text.length).toBeCloseTo(0.05, 2);
    expect(a.train.includes(a.heldOut.slice(0, 200))).toBe(false);
    expect(a.heldOut).toMatch(/I ONLY AM ESCAPED ALONE/);
  });

  it('holds out every 10th State of the Union address', () => {
    const a = loadCorpus('sotu');
    const b = loadCorpus('sotu');
    expect(a.heldOut).toBe(b.heldOut);
    expect(a.train).toBe(b.train);
    expect(a.trainDocuments.length + a.heldOutDocuments.length).toBe(233);
    expect(a.heldOutDocuments.length).toBe(23);
    const trainIds = new Set(a.trainDocuments.map((d) => d.id));
    expect(a.heldOutDocuments.every((d) => !trainIds.has(d.id))).toBe(true);
    expect(a.heldOutDocuments[0].id).toBe('1799 John Adams');
    expect(a.train.includes(a.heldOutDocuments[0].text.slice(0, 300))).toBe(false);
    const recent = loadCorpus('sotu', { years: [2001, 2021] });
    expect(recent.trainDocuments.length + recent.heldOutDocuments.length).toBe(21);
    expect(recent.heldOutDocuments.map((d) => d.id)).toEqual(['2010 Barack Obama', '2020 Donald J Trump']);
  });

  it('cuts evaluation windows of <bos> + 127 bytes', () => {
    const tok = new ByteTokenizer();
    const text = 'x'.repeat(127 * 3 + 5);
    const w = heldOutWindows(tok, text);
    expect(w.windows).toBe(3);
    expect(w.ids.length).toBe(3 * 128);
    expect(w.ids[0]).toBe(257);
    expect(w.ids[128]).toBe(257);
    expect(w.ids[1]).toBe(120);
    expect(heldOutWindows(tok, text, { maxWindows: 2 }).windows).toBe(2);
  });
});
