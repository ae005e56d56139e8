import { Tokenizer as HFTokenizerImpl } from '@huggingface/tokenizers';
import { type Backend, type Tensor, tensor } from '@peftjs/tensor';

/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokenizer's special tokens (BOS, CLS/SEP, …) as its post-processor says. Default true. */
  addSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens from the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** Options of {@link Tokenizer.encodeBatch}. */
export interface BatchEncodeOptions extends EncodeOptions {
  /** Cut sequences longer than this (from the end). */
  maxLength?: number;
  /** 'longest' (default): pad to the longest sequence; 'max_length': pad to `maxLength`. */
  padding?: 'longest' | 'max_length';
  /** Where padding goes. Default 'right' (what training uses). */
  paddingSide?: 'left' | 'right';
  /** Backend for the tensors (the active one otherwise). */
  backend?: Backend;
}

/** A padded batch, as Hugging Face tokenizers return it. */
export interface BatchEncoding {
  /** i32 [batch, length]. */
  inputIds: Tensor;
  /** i32 [batch, length]: 1 for real tokens, 0 for padding. */
  attentionMask: Tensor;
}

/** Text ↔ token ids. {@link ByteTokenizer} is built in; {@link HFTokenizer} reads a Hugging Face tokenizer.json. */
export abstract class Tokenizer {
  /** One more than the largest id the tokenizer produces. */
  abstract readonly vocabSize: number;
  abstract readonly bosTokenId: number | null;
  abstract readonly eosTokenId: number | null;
  abstract readonly padTokenId: number | null;

  /** Token ids of `text`. */
  abstract encode(text: string, opts?: EncodeOptions): number[];
  /** The text of `ids`. */
  abstract decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** The id of a token string, if it is in the vocabulary. */
  abstract tokenToId(token: string): number | undefined;

  /**
   * Encode several texts into one padded batch. Padding uses the pad token (else EOS, else 0) and is masked out in
   * `attentionMask`.
   */
  encodeBatch(texts: readonly string[], opts: BatchEncodeOptions = {}): BatchEncoding {
    if (texts.length === 0) throw new Error('encodeBatch: no texts');
    let rows = texts.map((t) => this.encode(t, opts));
    if (opts.maxLength !== undefined) rows = rows.map((r) => r.slice(0, opts.maxLength));
    const longest = Math.max(...rows.map((r) => r.length));
    const length = opts.padding === 'max_length' ? (opts.maxLength ?? longest) : longest;
    const pad = this.padTokenId ?? this.eosTokenId ?? 0;
    const ids = new Int32Array(rows.length * length).fill(pad);
    const mask = new Int32Array(rows.length * length);
    rows.forEach((r, i) => {
      const start = opts.paddingSide === 'left' ? length - r.length : 0;
      for (let j = 0; j < r.length; j++) {
        ids[i * length + start + j] = r[j];
        mask[i * length + start + j] = 1;
      }
    });
    return {
      inputIds: tensor(ids, [rows.length, length], { backend: opts.backend }),
      attentionMask: tensor(mask, [rows.length, length], { backend: opts.backend }),
    };
  }
}

/** GPT-2's byte ↔ printable-character table (`bytes_to_unicode`), used by byte-level BPE vocabularies. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  }
  return table;
}

/** Options of {@link ByteTokenizer}. */
export interface ByteTokenizerOptions {
  /** Special tokens, given ids 256, 257, … in order. Default `['<pad>', '<bos>', '<eos>']`. */
  specialTokens?: readonly string[];
  /** Prepend `<bos>` when encoding with special tokens. Default true. */
  addBos?: boolean;
  /** Append `<eos>` when encoding with special tokens. Default false. */
  addEos?: boolean;
}

/**
 * The built-in tokenizer for the project's own small models: one token per UTF-8 byte (ids 0–255) plus special
 * tokens from 256 (`<pad>` 256, `<bos>` 257, `<eos>` 258 by default). Special-token strings in the text encode as
 * their ids, as Hugging Face's added tokens do. {@link toTokenizerJson} writes an equivalent Hugging Face
 * tokenizer.json (byte-level BPE without merges).
 */
export class ByteTokenizer extends Tokenizer {
  readonly specialTokens: readonly string[];
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly vocabSize: number;
  readonly padTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  private readonly utf8 = new TextEncoder();
  private readonly splitter: RegExp | null;

  constructor(opts: ByteTokenizerOptions = {}) {
    super();
    this.specialTokens = [...(opts.specialTokens ?? ['<pad>', '<bos>', '<eos>'])];
    if (new Set(this.specialTokens).size !== this.specialTokens.length || this.specialTokens.some((t) => t === '')) {
      throw new Error('ByteTokenizer: special tokens must be distinct and non-empty');
    }
    this.addBos = opts.addBos ?? true;
    this.addEos = opts.addEos ?? false;
    this.vocabSize = 256 + this.specialTokens.length;
    this.padTokenId = this.tokenToId('<pad>') ?? null;
    this.bosTokenId = this.tokenToId('<bos>') ?? null;
    this.eosTokenId = this.tokenToId('<eos>') ?? null;
    if (this.addBos && this.bosTokenId === null) throw new Error('ByteTokenizer: addBos needs a <bos> special token');
    if (this.addEos && this.eosTokenId === null) throw new Error('ByteTokenizer: addEos needs an <eos> special token');
    const escaped = [...this.specialTokens]
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.splitter = escaped.length ? new RegExp(`(${escaped.join('|')})`) : null;
  }

  tokenToId(token: string): number | undefined {
    const i = this.specialTokens.indexOf(token);
    return i >= 0 ? 256 + i : undefined;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const special = opts.addSpecialTokens ?? true;
    if (special && this.addBos) out.push(this.bosTokenId!);
    const parts = this.splitter ? text.split(this.splitter) : [text];
    parts.forEach((part, i) => {
      if (i % 2 === 1) out.push(this.tokenToId(part)!);
      else for (const b of this.utf8.encode(part)) out.push(b);
    });
    if (special && this.addEos) out.push(this.eosTokenId!);
    return out;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    let text = '';
    let bytes: number[] = [];
    const flush = () => {
      text += new TextDecoder('utf-8').decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize)
        throw new RangeError(`ByteTokenizer: id ${id} out of range`);
      if (id < 256) bytes.push(id);
      else {
        flush();
        if (!opts.skipSpecialTokens) text += this.specialTokens[id - 256];
      }
    }
    flush();
    return text;
  }

  /** A Hugging Face tokenizer.json that encodes and decodes exactly as this tokenizer. */
  toTokenizerJson(): Record<string, unknown> {
    const table = bytesToUnicode();
    const vocab: Record<string, number> = {};
    table.forEach((ch, b) => {
      vocab[ch] = b;
    });
    const bos = this.addBos ? [{ SpecialToken: { id: '<bos>', type_id: 0 } }] : [];
    const eos = this.addEos ? [{ SpecialToken: { id: '<eos>', type_id: 0 } }] : [];
    const specials: Record<string, unknown> = {};
    if (this.addBos) specials['<bos>'] = { id: '<bos>', ids: [this.bosTokenId], tokens: ['<bos>'] };
    if (this.addEos) specials['<eos>'] = { id: '<eos>', ids: [this.eosTokenId], tokens: ['<eos>'] };
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map((content, i) => ({
        id: 256 + i,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: {
        type: 'TemplateProcessing',
        single: [...bos, { Sequence: { id: 'A', type_id: 0 } }, ...eos],
        pair: [
          ...bos,
          { Sequence: { id: 'A', type_id: 0 } },
          ...eos,
          ...bos,
          { Sequence: { id: 'B', type_id: 1 } },
          ...eos,
        ],
        special_tokens: specials,
      },
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }

  /**
   * The tokenizer_config.json to save next to {@link toTokenizerJson}'s file. `peftjs_tokenizer: "byte"` makes
   * `loadTokenizer` rebuild a ByteTokenizer; other readers use tokenizer.json.
   */
  toTokenizerConfig(): Record<string, unknown> {
    return {
      tokenizer_class: 'PreTrainedTokenizerFast',
      peftjs_tokenizer: 'byte',
      special_tokens: [...this.specialTokens],
      add_bos_token: this.addBos,
      add_eos_token: this.addEos,
      bos_token: this.bosTokenId !== null ? '<bos>' : null,
      eos_token: this.eosTokenId !== null ? '<eos>' : null,
      pad_token: this.padTokenId !== null ? '<pad>' : null,
      model_max_length: 1e30,
    };
  }

  /** Rebuild from {@link toTokenizerConfig}'s output. */
  static fromTokenizerConfig(config: Record<string, unknown>): ByteTokenizer {
    const specials = config.special_tokens;
    if (!Array.isArray(specials) || !specials.every((s) => typeof s === 'string')) {
      throw new Error('tokenizer_config.json: special_tokens must be a list of strings for a byte tokenizer');
    }
    return new ByteTokenizer({
      specialTokens: specials as string[],
      addBos: config.add_bos_token !== false,
      addEos: config.add_eos_token === true,
    });
  }
}

function tokenName(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

/**
 * A Hugging Face `tokenizer.json` (BPE, WordPiece, Unigram …, with their normalizers, pre-tokenizers,
 * post-processors and decoders), run by the `@huggingface/tokenizers` package. Special-token ids come from
 * tokenizer_config.json (`bos_token`, `eos_token`, `pad_token`) when given.
 */
export class HFTokenizer extends Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  private readonly impl: HFTokenizerImpl;

  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown> = {},
  ) {
    super();
    if (!tokenizerJson || typeof tokenizerJson !== 'object' || !tokenizerJson.model) {
      throw new Error('HFTokenizer: tokenizer.json has no "model" section');
    }
    this.impl = new HFTokenizerImpl(tokenizerJson, tokenizerConfig);
    let max = -1;
    for (const id of this.impl.get_vocab(true).values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const id = (key: string) => {
      const name = tokenName(tokenizerConfig[key]);
      return name === null ? null : (this.impl.token_to_id(name) ?? null);
    };
    this.bosTokenId = id('bos_token');
    this.eosTokenId = id('eos_token');
    this.padTokenId = id('pad_token');
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return [...this.impl.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids];
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    return this.impl.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }
}

/**
 * The tokenizer described by a tokenizer.json / tokenizer_config.json pair: a {@link ByteTokenizer} when the config
 * says `peftjs_tokenizer: "byte"`, else an {@link HFTokenizer}.
 */
export function tokenizerFromJson(
  tokenizerJson: Record<string, unknown> | null,
  tokenizerConfig: Record<string, unknown> = {},
): Tokenizer {
  if (tokenizerConfig.peftjs_tokenizer === 'byte') return ByteTokenizer.fromTokenizerConfig(tokenizerConfig);
  if (!tokenizerJson) throw new Error('no tokenizer.json');
  return new HFTokenizer(tokenizerJson, tokenizerConfig);
}
