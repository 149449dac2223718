import { CommanderError } from 'commander';
import { RedgradError } from '@redgrad/errors';

/** A bad argument or flag, or a name that matches nothing: printed as one line, never a stack trace. */
export class CliError extends RedgradError {
  override name = 'CliError';

  constructor(message: string, code: 'bad-argument' | 'no-such-job' = 'bad-argument') {
    super('user', code, message);
  }
}

/**
 * Exit codes. A failed command exits by the kind of its error; `watch` (and `submit --watch`,
 * `cluster --submit`) exits with the job's fate instead, which shares 0 and 1 with the others.
 */
export const EXIT = {
  ok: 0,
  userError: 1,
  internalError: 2,
  job: { completed: 0, failed: 1, cancelled: 3 },
} as const;

/** The exit code a command that threw `e` ends with; commander's own usage errors keep theirs. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode;
  if (e instanceof RedgradError && e.kind === 'user') return EXIT.userError;
  return EXIT.internalError;
}
