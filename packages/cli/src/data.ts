import { readFile, stat } from 'node:fs/promises';
import type { Tokenizer } from '@peftjs/models';
import type { TokenExample } from '@peftjs/trainer/node';
import { CliError } from './errors.js';

/** Read a UTF-8 text file for training or evaluation, with clear errors for a missing, non-file or empty path. */
export async function readTextFile(path: string, what: string): Promise<string> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new CliError(`${what} file '${path}' does not exist`);
  if (!st.isFile()) throw new CliError(`${what} path '${path}' is not a file`);
  const text = await readFile(path, 'utf8');
  if (text.trim().length === 0) throw new CliError(`${what} file '${path}' is empty`);
  return text;
}

/** Split a user's text into training text and a held-out tail (`fraction` of it, cut at a line break when possible). */
export function splitHeldOut(text: string, fraction = 0.1): { train: string; heldOut: string } {
  const at = Math.floor(text.length * (1 - fraction));
  const nl = text.indexOf('\n', at);
  const cut = nl >= 0 && nl < text.length - 1 ? nl + 1 : at;
  return { train: text.slice(0, cut), heldOut: text.slice(cut) };
}

/** Options of {@link textToSequences}. */
export interface SequenceOptions {
  /** Tokens per sequence, including a leading `<bos>` when the tokenizer has one. */
  seqLen: number;
  /** Keep at most this many sequences, spread evenly over the text (default: all). */
  max?: number;
  /** What the text is, for errors ("training data", "evaluation data"). */
  what: string;
}

/**
 * Cut `text` into consecutive, non-overlapping sequences of `seqLen` tokens: `seqLen − 1` text tokens preceded by
 * `<bos>` (as the tiny LLaMA saw in pretraining), or `seqLen` text tokens when the tokenizer has no `<bos>`. A
 * trailing partial chunk is dropped. Too little text for one sequence is a {@link CliError}.
 */
export function textToSequences(tokenizer: Tokenizer, text: string, opts: SequenceOptions): TokenExample[] {
  const body = tokenizer.encode(text, { addSpecialTokens: false });
  const bos = tokenizer.bosTokenId;
  const chunk = bos === null ? opts.seqLen : opts.seqLen - 1;
  const total = Math.floor(body.length / chunk);
  if (total < 1) {
    throw new CliError(
      `${opts.what} is too short: ${body.length} tokens, one sequence needs ${chunk} (give more text or lower --seq-len)`,
    );
  }
  const n = opts.max === undefined ? total : Math.min(total, opts.max);
  const out: TokenExample[] = [];
  for (let i = 0; i < n; i++) {
    const w = n === total ? i : Math.floor((i * total) / n);
    const ids = new Int32Array(opts.seqLen);
    let o = 0;
    if (bos !== null) ids[o++] = bos;
    for (let j = 0; j < chunk; j++) ids[o++] = body[w * chunk + j];
    out.push({ inputIds: ids });
  }
  return out;
}
