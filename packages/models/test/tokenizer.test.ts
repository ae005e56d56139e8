import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteTokenizer, bytesToUnicode, HFTokenizer } from '../src/index.js';
import { fromPretrained, loadTokenizer, savePretrained, saveTokenizer } from '../src/node.js';
import { goldenRoot } from './helpers/golden.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'peftjs-tok-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const TEXTS = ['hello', 'héllo wörld 🙂', '', 'a<eos>b', '<bos><pad>', 'tab\tnew\nline', '日本語'];

describe('ByteTokenizer', () => {
  it('one id per UTF-8 byte, specials from 256, BOS by default', () => {
    const t = new ByteTokenizer();
    expect(t.vocabSize).toBe(259);
    expect([t.padTokenId, t.bosTokenId, t.eosTokenId]).toEqual([256, 257, 258]);
    expect(t.encode('hé')).toEqual([257, 104, 0xc3, 0xa9]);
    expect(t.encode('hé', { addSpecialTokens: false })).toEqual([104, 0xc3, 0xa9]);
    expect(t.encode('a<eos>b', { addSpecialTokens: false })).toEqual([97, 258, 98]);
    expect(new ByteTokenizer({ addEos: true }).encode('a')).toEqual([257, 97, 258]);
    for (const s of TEXTS) {
      expect(t.decode(t.encode(s, { addSpecialTokens: false }))).toBe(s);
      expect(t.decode(t.encode(s), { skipSpecialTokens: true })).toBe(s.replace(/<(bos|eos|pad)>/g, ''));
    }
    expect(t.decode([257, 104, 258])).toBe('<bos>h<eos>');
    expect(() => t.decode([259])).toThrow(/out of range/);
    expect(() => new ByteTokenizer({ specialTokens: ['<x>', '<x>'] })).toThrow(/distinct/);
    expect(() => new ByteTokenizer({ specialTokens: ['<eos>'] })).toThrow(/addBos needs a <bos>/);
  });

  it('encodeBatch pads (right by default) with the pad id and masks the padding', async () => {
    const t = new ByteTokenizer();
    const { inputIds, attentionMask } = t.encodeBatch(['ab', 'abcd']);
    expect(inputIds.shape).toEqual([2, 5]);
    expect(inputIds.dtype).toBe('i32');
    expect(await inputIds.toArray()).toEqual([
      [257, 97, 98, 256, 256],
      [257, 97, 98, 99, 100],
    ]);
    expect(await attentionMask.toArray()).toEqual([
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ]);
    const left = t.encodeBatch(['ab', 'abcdef'], { paddingSide: 'left', maxLength: 4, padding: 'max_length' });
    expect(await left.inputIds.toArray()).toEqual([
      [256, 257, 97, 98],
      [257, 97, 98, 99],
    ]);
    expect(await left.attentionMask.toArray()).toEqual([
      [0, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
  });

  it('its tokenizer.json, run by @huggingface/tokenizers, encodes and decodes identically', () => {
    for (const opts of [{}, { addEos: true }, { addBos: false }]) {
      const t = new ByteTokenizer(opts);
      const hf = new HFTokenizer(t.toTokenizerJson(), t.toTokenizerConfig());
      expect(hf.vocabSize).toBe(t.vocabSize);
      expect([hf.bosTokenId, hf.eosTokenId, hf.padTokenId]).toEqual([t.bosTokenId, t.eosTokenId, t.padTokenId]);
      for (const s of TEXTS) {
        expect(hf.encode(s), s).toEqual(t.encode(s));
        expect(hf.encode(s, { addSpecialTokens: false }), s).toEqual(t.encode(s, { addSpecialTokens: false }));
        const ids = t.encode(s);
        expect(hf.decode(ids), s).toBe(t.decode(ids));
        expect(hf.decode(ids, { skipSpecialTokens: true }), s).toBe(t.decode(ids, { skipSpecialTokens: true }));
      }
    }
  });

  it('bytesToUnicode is GPT-2 table: printable bytes map to themselves, the rest to 256+', () => {
    const table = bytesToUnicode();
    expect(new Set(table).size).toBe(256);
    expect(table[65]).toBe('A');
    expect(table[32]).toBe('Ġ');
    expect(table[10]).toBe('Ċ');
  });
});

describe('HFTokenizer (tokenizer.json via @huggingface/tokenizers)', () => {
  /** A tiny byte-level BPE in the style of GPT-2, with merges. */
  const bpeJson = () => {
    const table = bytesToUnicode();
    const vocab: Record<string, number> = {};
    table.forEach((ch, b) => {
      vocab[ch] = b;
    });
    const merges = ['l o', 'lo w', 'Ġ l', 'Ġl ow', 'e r', 'low er'];
    let next = 256;
    for (const m of merges) vocab[m.replace(' ', '')] = next++;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [
        {
          id: next,
          content: '<|endoftext|>',
          single_word: false,
          lstrip: false,
          rstrip: false,
          normalized: false,
          special: true,
        },
      ],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges,
      },
    };
  };

  it('byte-level BPE applies the merges and decodes back', () => {
    const t = new HFTokenizer(bpeJson(), { eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' });
    // merges apply by rank: "Ġlow" → Ġ,l,o,w → Ġ,lo,w → Ġ,low (Ġ l never applies: l is gone); "Ġlx" → Ġl,x
    expect(t.encode('low')).toEqual([257]);
    expect(t.encode('lower')).toEqual([261]);
    expect(t.encode('low low')).toEqual([257, 32, 257]);
    expect(t.encode('x lx')).toEqual([120, 258, 120]);
    expect(t.encode('lowx<|endoftext|>')).toEqual([257, 120, 262]);
    expect(t.eosTokenId).toBe(262);
    expect(t.vocabSize).toBe(263);
    for (const s of ['low lower', 'héllo', 'x y z']) expect(t.decode(t.encode(s))).toBe(s);
    expect(t.tokenToId('low')).toBe(257);
    expect(t.tokenToId('nope')).toBeUndefined();
  });

  it('WordPiece with a BERT post-processor adds [CLS] / [SEP]', () => {
    const vocab: Record<string, number> = {
      '[PAD]': 0,
      '[UNK]': 1,
      '[CLS]': 2,
      '[SEP]': 3,
      hello: 4,
      world: 5,
      '##s': 6,
      un: 7,
    };
    const json = {
      version: '1.0',
      added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map((content, id) => ({
        id,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: true,
        handle_chinese_chars: true,
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab,
      },
    };
    const t = new HFTokenizer(json, { pad_token: '[PAD]' });
    expect(t.encode('Hello worlds unknown')).toEqual([2, 4, 5, 6, 1, 3]);
    expect(t.encode('Hello', { addSpecialTokens: false })).toEqual([4]);
    expect(t.padTokenId).toBe(0);
    expect(t.decode([2, 4, 5, 6, 3], { skipSpecialTokens: true })).toBe('hello worlds');
    expect(() => new HFTokenizer({ version: '1.0' })).toThrow(/no "model" section/);
  });
});

describe('tokenizers next to checkpoints', () => {
  it('savePretrained writes the model tokenizer; fromPretrained and loadTokenizer read it back', async () => {
    const dir = join(tmp, 'with-tokenizer');
    const m = await fromPretrained(join(goldenRoot(), 'base', 'llama'));
    expect(m.tokenizer).toBeNull(); // the golden folder has no tokenizer
    m.tokenizer = new ByteTokenizer({ addEos: true });
    await savePretrained(m, dir);
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    expect(json.model.type).toBe('BPE');
    const back = await fromPretrained(dir);
    expect(back.tokenizer).toBeInstanceOf(ByteTokenizer);
    expect(back.tokenizer!.encode('hi')).toEqual([257, 104, 105, 258]);
    // a plain Hugging Face tokenizer.json (no peftjs marker) loads as HFTokenizer
    const hfDir = join(tmp, 'hf-tokenizer');
    await saveTokenizer(new HFTokenizer(new ByteTokenizer().toTokenizerJson(), { bos_token: '<bos>' }), hfDir);
    const hf = await loadTokenizer(hfDir);
    expect(hf).toBeInstanceOf(HFTokenizer);
    expect(hf!.encode('hi')).toEqual([257, 104, 105]);
    expect(await loadTokenizer(tmp)).toBeNull();
    m.dispose();
    back.dispose();
  });
});
