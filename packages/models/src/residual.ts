import { type LayerModule, Module } from '@peftjs/nn';
import { add, type Tensor } from '@peftjs/tensor';

/** Which sublayer of a transformer block a {@link ResidualAdd} closes. */
export type ResidualSublayer = 'attention' | 'feed_forward';

/**
 * A block's residual connection as a module: `output + residual`, or `norm(output + residual)` in post-LN blocks
 * (BERT), where `output` is the sublayer's output and `residual` its input. It holds no parameters. Blocks call it
 * rather than adding inline so that a module wrapped around it sees the sublayer output, the residual and the norm
 * together (modules inserted after a sublayer need all three).
 */
export class ResidualAdd extends Module {
  constructor(
    /** The sublayer whose output this connection adds back. */
    readonly sublayer: ResidualSublayer,
  ) {
    super();
  }

  /** `norm` is the block's own LayerNorm in post-LN blocks, else null. */
  forward(output: Tensor, residual: Tensor, norm: LayerModule | null = null): Tensor {
    const sum = add(output, residual);
    return norm ? norm.forward(sum) : sum;
  }
}
