/**
 * Whose fault a failure is, which decides what happens next: 'user' means the input is wrong (a job
 * spec, a data or model file, an id, a setting) and the message is the whole story, so it is shown
 * without a stack and retrying the same input fails the same way; 'internal' means our bug or the
 * environment's fault (Redis, a worker, a corrupt record), worth a stack trace and a report.
 */
export type ErrorKind = 'user' | 'internal';

/**
 * The base of every error redgrad throws on purpose. Callers decide with `instanceof` (a class, or
 * `kind` on this base), never by comparing names; `code` is stable, so logs and scripts can match it
 * while messages stay free to improve.
 */
export class RedgradError extends Error {
  override name = 'RedgradError';

  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
