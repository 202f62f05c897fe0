/** An error that says whether trying again can help, and carries its cause. */
export class PulsegateError extends Error {
  readonly retriable: boolean;
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PulsegateError';
    this.retriable = options.retriable;
  }
}

/** Bad input: retrying cannot help; the record goes to the dead-letter topic. */
export class NonRetriableError extends PulsegateError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: false, cause });
    this.name = 'NonRetriableError';
  }
}

/** True unless the error says it is not retriable. Unknown errors are treated as transient. */
export function isRetriable(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && 'retriable' in err) return (err as { retriable: unknown }).retriable !== false;
  return true;
}
