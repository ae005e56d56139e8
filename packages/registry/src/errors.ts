/** A configuration PEFT would reject, or one that does not fit the model. Names the field at fault. */
export class PeftConfigError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = 'PeftConfigError';
  }
}

/** Misuse of the registry or of a PeftModel (unknown method, duplicate registration, unknown adapter, …). */
export class PeftError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeftError';
  }
}
