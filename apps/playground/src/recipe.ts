/**
 * What a playground run is, as plain data → the adapter config, the datasets and the trainer options. The page's
 * worker and the Node test (which checks the page's losses against Node's) both build their run from this module,
 * so the two can only differ in the backend that computes.
 */
import type { Tokenizer } from '@peftjs/models';
import { availableMethods, chunkTokens, defaultMethodConfig, type TokenExample } from '@peftjs/trainer';

/** The knobs of a run (every one is in the page's form). */
export interface RunSpec {
  /** A registered method name (`availableMethods()`: lora, dora, …). */
  method: string;
  /** Adapter rank (or the method's size knob). */
  r: number;
  /** Adapter dropout. */
  dropout: number;
  steps: number;
  lr: number;
  batchSize: number;
  /** Tokens per training sequence (`<bos>` not added: windows of the byte stream). */
  seqLen: number;
  seed: number;
  /** Train on at most this many sequences (the first ones of the text). */
  maxTrainSequences: number;
  /** Held-out sequences the held-out loss is the mean over. */
  heldOutSequences: number;
}

export const DEFAULT_SPEC: RunSpec = {
  method: 'lora',
  r: 8,
  dropout: 0.05,
  steps: 30,
  lr: 3e-3,
  batchSize: 4,
  seqLen: 64,
  seed: 42,
  maxTrainSequences: 256,
  heldOutSequences: 16,
};

/** Methods the playground offers: every registered one that trains on the tiny LLaMA's linear layers. */
export function playgroundMethods(): string[] {
  return availableMethods().filter((m) => {
    try {
      defaultMethodConfig(m, { r: 4 });
      return true;
    } catch {
      return false;
    }
  });
}

/** The adapter config of a run (the method's default for LLaMA, every linear layer targeted). */
export function adapterConfig(spec: RunSpec): Record<string, unknown> {
  return defaultMethodConfig(spec.method, { r: spec.r, dropout: spec.dropout, taskType: 'CAUSAL_LM' });
}

/** Train and held-out sequences of `seqLen` tokens cut from the two texts. */
export function datasets(
  tokenizer: Tokenizer,
  train: string,
  heldOut: string,
  spec: RunSpec,
): { train: TokenExample[]; heldOut: TokenExample[] } {
  const enc = (text: string, n: number) =>
    // encode only what is needed: a byte per token, plus slack for multi-byte characters
    chunkTokens(tokenizer.encode(text.slice(0, (n + 1) * spec.seqLen), { addSpecialTokens: false }), spec.seqLen).slice(
      0,
      n,
    );
  const t = enc(train, spec.maxTrainSequences);
  const h = enc(heldOut, spec.heldOutSequences);
  if (t.length < spec.batchSize)
    throw new Error(
      `the training text gives ${t.length} sequences of ${spec.seqLen} tokens; it needs ${spec.batchSize}`,
    );
  if (h.length === 0) throw new Error(`the held-out text is shorter than one sequence of ${spec.seqLen} tokens`);
  return { train: t, heldOut: h };
}

/** The trainer options of a run (model, data and callbacks are added by the caller). */
export function trainerOptions(spec: RunSpec) {
  return {
    optimizer: 'adamw' as const,
    lr: spec.lr,
    maxSteps: spec.steps,
    batchSize: spec.batchSize,
    seed: spec.seed,
    schedule: 'constant' as const,
    maxGradNorm: 1.0,
  };
}

/** Split a pasted text: the last tenth (from a line break) is held out. */
export function splitPasted(text: string): { train: string; heldOut: string } {
  const at = Math.floor(text.length * 0.9);
  const brk = text.indexOf('\n', at);
  const cut = brk < 0 ? at : brk;
  return { train: text.slice(0, cut), heldOut: text.slice(cut).replace(/^\n+/, '') };
}
