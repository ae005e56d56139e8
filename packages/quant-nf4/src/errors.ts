/** Why a quantized tensor or checkpoint was refused. */
export type QuantizationErrorCode =
  | 'BAD_ARGUMENT'
  | 'BAD_BLOCKSIZE'
  | 'BAD_QUANT_TYPE'
  | 'BAD_SHAPE'
  | 'BAD_LENGTH'
  | 'BAD_DTYPE'
  | 'BAD_QUANT_STATE'
  | 'MISSING_TENSOR'
  | 'BAD_CONFIG'
  | 'PENDING_WEIGHT';

/**
 * A quantized tensor, quant state or quantization config that does not describe a valid bitsandbytes layout.
 * `tensor` names the checkpoint tensor (or module weight) concerned, when there is one.
 */
export class QuantizationError extends Error {
  override readonly name = 'QuantizationError';
  constructor(
    readonly code: QuantizationErrorCode,
    message: string,
    readonly tensor?: string,
  ) {
    super(tensor ? `${tensor}: ${message}` : message);
  }
}

export function isQuantizationError(e: unknown): e is QuantizationError {
  return e instanceof QuantizationError;
}
