import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ByteTokenizer, LlamaForCausalLM } from '@peftjs/models';
import { savePretrained } from '@peftjs/models/node';
import { manualSeed } from '@peftjs/tensor';

/** A small random byte-level LLaMA saved as a Hugging Face checkpoint directory (with tokenizer), for fast CLI tests. */
export async function makeTinyCheckpoint(root?: string): Promise<string> {
  const dir = join(root ?? (await mkdtemp(join(tmpdir(), 'peftjs-cli-'))), 'model');
  manualSeed(7);
  const model = new LlamaForCausalLM({
    vocab_size: 259,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    tie_word_embeddings: true,
    pad_token_id: 256,
    bos_token_id: 257,
    eos_token_id: 258,
  } as ConstructorParameters<typeof LlamaForCausalLM>[0]);
  model.tokenizer = new ByteTokenizer();
  await savePretrained(model, dir);
  model.dispose();
  return dir;
}

/** Repetitive English-like text: easy to learn in a few steps. */
export function sampleText(chars: number): string {
  const words = ['the', 'whale', 'sea', 'ship', 'captain', 'sailed', 'on', 'a', 'grey', 'morning', 'and', 'we'];
  let s = '';
  let i = 0;
  while (s.length < chars) {
    s += `${words[(i * 7 + (i >> 3)) % words.length]}${i % 11 === 10 ? '.\n' : ' '}`;
    i++;
  }
  return s.slice(0, chars);
}

export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}
