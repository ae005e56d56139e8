/** A user error (bad option, path, config or data): printed as `peftjs <command>: <message>`, exit code 2. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
