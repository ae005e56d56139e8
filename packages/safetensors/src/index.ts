/**
 * `@peftjs/safetensors`: read and write [safetensors](https://github.com/huggingface/safetensors) files — Hugging
 * Face model checkpoints and PEFT adapters (`adapter_model.safetensors`).
 *
 * This entry point works everywhere (no Node built-ins): it parses bytes in memory, `Blob`s/`File`s, or any
 * {@link ByteSource}. File and directory access (lazy file reads, sharded checkpoint directories, streaming writes)
 * is in `@peftjs/safetensors/node`.
 *
 * ```ts
 * import { SafetensorsReader, loadTensors, saveTensors, serialize } from '@peftjs/safetensors';
 * const reader = SafetensorsReader.fromBytes(bytes);   // validates the header; nothing else is decoded
 * reader.info('lm_head.weight');                       // { dtype: 'F32', shape: [128, 64], … }
 * const w = await reader.read('lm_head.weight');       // { dtype: 'f32', data: Float32Array, shape }
 * const raw = await reader.raw('lm_head.weight');      // stored bytes + safetensors dtype
 * const tensors = await loadTensors(bytes);            // Record<string, Tensor>
 * const out = await saveTensors(tensors, { format: 'pt' });
 * ```
 *
 * The parser is hand-written and validates everything before use: header size (≤ 100 MB and within the file),
 * UTF-8, strict JSON with duplicate-key detection, dtypes, shapes, offsets, sizes and overlaps. Every failure is a
 * {@link SafetensorsError} with a {@link SafetensorsErrorCode}. Pickle checkpoints are refused (`PICKLE_REFUSED`).
 * @packageDocumentation
 */

export type { AllocationKind, AllocationObserver } from './alloc.js';
export { setAllocationObserver } from './alloc.js';
export type { DecodeInput, TensorValues } from './convert.js';
export {
  bf16ToNumber,
  decodeBytes,
  encodeMinifloat,
  encodeValues,
  f16BitsToF32Bits,
  f16ToNumber,
  fp8Values,
  inferDType,
  numberToBF16,
  numberToF16,
} from './convert.js';
export type { SafetensorsDType, TargetDType } from './dtypes.js';
export type { DTypeSpec } from './dtypes.js';
export { DTYPES, defaultTargetDType, isSafetensorsDType, itemsize, UNSUPPORTED_DTYPES } from './dtypes.js';
export type { SafetensorsErrorCode } from './errors.js';
export { isSafetensorsError, SAFETENSORS_ERROR_CODES, SafetensorsError } from './errors.js';
export type { ParseOptions, SafetensorsHeader, TensorInfo } from './header.js';
export { DEFAULT_MAX_HEADER_SIZE, looksLikePickle, parseHeader, readHeaderLength } from './header.js';
export type { DecodedTensor, RawTensor, ReadOptions, SafetensorsInput, TensorReader } from './reader.js';
export { SafetensorsReader, toByteSource } from './reader.js';
export type { ShardIndex } from './sharded.js';
export { isPickleCheckpointName, parseShardIndex, pickleRefusedError, ShardedReader } from './sharded.js';
export type { BlobLike, ByteSource } from './source.js';
export { blobSource, bytesSource } from './source.js';
export type { LoadTensorsOptions, SaveTensorsOptions, TensorRecord } from './tensors.js';
export { loadTensors, planTensorRecord, saveTensors, tensorRecordSpecs } from './tensors.js';
export type {
  PlannedTensor,
  RawTensorData,
  SafetensorsPlan,
  TensorData,
  TensorSpec,
  WritableTensor,
  WritableTensors,
} from './writer.js';
export { compareCodePoints, planSafetensors, planTensors, serialize, toTensorSpec } from './writer.js';
