/** A user-facing failure: printed as one line, exit code 1, never a stack trace. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Errors that are the user's input, not our bug: their message is the whole story. */
const USER_ERRORS = new Set(['CliError', 'SpecError', 'DataError', 'ModelFileError', 'ProtocolError', 'TrainingError', 'CommanderError']);

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}
