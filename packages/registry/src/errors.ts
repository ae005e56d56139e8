/** Misuse of the registry or of a PeftModel (unknown method, duplicate registration, unknown adapter, bad files…). */
export class PeftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeftError';
  }
}

/**
 * A configuration PEFT would reject, or one that does not fit the model. Names the field at fault. A
 * {@link PeftError}, so one `catch` handles both.
 */
export class PeftConfigError extends PeftError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'PeftConfigError';
  }
}
