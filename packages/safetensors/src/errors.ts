/**
 * Every way reading or writing safetensors can fail. Each failure is a {@link SafetensorsError} whose `code` is one
 * of these:
 *
 * - `TRUNCATED`: the file is shorter than its 8-byte length prefix, its header, or a tensor it declares; or a read
 *   returned fewer bytes than asked (the file changed underneath).
 * - `HEADER_TOO_LARGE`: the declared header length exceeds the limit (100 MB by default) or is not a safe integer.
 * - `BAD_UTF8`: the header is not valid UTF-8.
 * - `BAD_JSON`: the header is not a JSON document (syntax, empty, nesting too deep, padding other than spaces).
 * - `BAD_HEADER`: the JSON is valid but not a safetensors header (not an object, an entry is not an object, a field
 *   is missing).
 * - `BAD_METADATA`: `__metadata__` is not an object of string values.
 * - `DUPLICATE_NAME`: a key appears twice in a JSON object (a tensor name twice in the header, or a field twice).
 * - `BAD_DTYPE`: a `dtype` that is not a string or not a safetensors dtype.
 * - `UNSUPPORTED_DTYPE`: a known safetensors dtype this package does not read (sub-byte F4/F6, complex, FNUZ FP8).
 * - `BAD_SHAPE`: a shape that is not an array of non-negative safe integers, or whose element count overflows.
 * - `BAD_OFFSETS`: `data_offsets` is not `[begin, end]` of non-negative safe integers with begin ≤ end ≤ buffer length.
 * - `SIZE_MISMATCH`: `end − begin` differs from `product(shape) · itemsize`.
 * - `OVERLAP`: two tensors share bytes.
 * - `GAP`, `TRAILING_DATA`: (only with `strict: true`) unused bytes between tensors / after the last tensor.
 * - `PICKLE_REFUSED`: a pickle checkpoint (`.bin`, `.pt`, `.pth`, `.ckpt`, `.pkl`, or pickle/zip content). Pickle
 *   files can execute code when loaded; this package has no path that reads them.
 * - `NOT_FOUND`: a tensor name, file or checkpoint that does not exist.
 * - `BAD_INDEX`: a sharded checkpoint's `*.safetensors.index.json` is invalid or disagrees with its shards.
 * - `OUT_OF_RANGE`: a conversion the caller asked for cannot represent a value (e.g. an I64 beyond int32).
 * - `BAD_CONVERSION`: a conversion that is not defined (e.g. a non-integral float to i32).
 * - `BAD_ARGUMENT`: invalid input to a writer or reader function (shape/data mismatch, reserved name, …).
 * - `IO_ERROR`: the file system failed (the cause is attached).
 */
export type SafetensorsErrorCode =
  | 'TRUNCATED'
  | 'HEADER_TOO_LARGE'
  | 'BAD_UTF8'
  | 'BAD_JSON'
  | 'BAD_HEADER'
  | 'BAD_METADATA'
  | 'DUPLICATE_NAME'
  | 'BAD_DTYPE'
  | 'UNSUPPORTED_DTYPE'
  | 'BAD_SHAPE'
  | 'BAD_OFFSETS'
  | 'SIZE_MISMATCH'
  | 'OVERLAP'
  | 'GAP'
  | 'TRAILING_DATA'
  | 'PICKLE_REFUSED'
  | 'NOT_FOUND'
  | 'BAD_INDEX'
  | 'OUT_OF_RANGE'
  | 'BAD_CONVERSION'
  | 'BAD_ARGUMENT'
  | 'IO_ERROR';

/** All error codes, for exhaustive tests and switch statements. */
export const SAFETENSORS_ERROR_CODES: readonly SafetensorsErrorCode[] = [
  'TRUNCATED',
  'HEADER_TOO_LARGE',
  'BAD_UTF8',
  'BAD_JSON',
  'BAD_HEADER',
  'BAD_METADATA',
  'DUPLICATE_NAME',
  'BAD_DTYPE',
  'UNSUPPORTED_DTYPE',
  'BAD_SHAPE',
  'BAD_OFFSETS',
  'SIZE_MISMATCH',
  'OVERLAP',
  'GAP',
  'TRAILING_DATA',
  'PICKLE_REFUSED',
  'NOT_FOUND',
  'BAD_INDEX',
  'OUT_OF_RANGE',
  'BAD_CONVERSION',
  'BAD_ARGUMENT',
  'IO_ERROR',
];

/** The one error type this package throws. `code` says what went wrong, `tensor` and `file` where, when known. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  readonly code: SafetensorsErrorCode;
  /** The tensor the failure concerns, if any. */
  readonly tensor?: string;
  /** The file the failure concerns, if known (Node layer). */
  readonly file?: string;

  constructor(
    code: SafetensorsErrorCode,
    message: string,
    options: { tensor?: string; file?: string; cause?: unknown } = {},
  ) {
    super(`${code}: ${message}${options.file !== undefined ? ` (file: ${options.file})` : ''}`, {
      cause: options.cause,
    });
    this.code = code;
    if (options.tensor !== undefined) this.tensor = options.tensor;
    if (options.file !== undefined) this.file = options.file;
  }

  /** The same error, annotated with the file it came from (used by the Node layer). */
  withFile(file: string): SafetensorsError {
    if (this.file !== undefined) return this;
    const e = new SafetensorsError(this.code, this.message.slice(this.code.length + 2), {
      tensor: this.tensor,
      file,
      cause: this.cause,
    });
    return e;
  }
}

/** True when `e` is a {@link SafetensorsError}, optionally with the given code. */
export function isSafetensorsError(e: unknown, code?: SafetensorsErrorCode): e is SafetensorsError {
  return e instanceof SafetensorsError && (code === undefined || e.code === code);
}
