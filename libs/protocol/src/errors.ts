/** Why a message read from (or about to be written to) Redis was rejected. */
export type ProtocolErrorCode =
  | 'bad-version' // format version this build does not read
  | 'bad-kind' // a payload of another kind where this one was expected
  | 'bad-shape' // a length, dtype or count that does not match what was expected
  | 'bad-field' // a missing field or one of the wrong type
  | 'non-finite' // NaN or ±Infinity where only finite numbers are allowed
  | 'out-of-range' // a number outside its allowed range (index ≥ n, correct > count, …)
  | 'mismatch' // a well-formed message for another job, step, shard or data set
  | 'truncated' // bytes end before the message does, or not decodable at all
  | 'missing' // a key the protocol needs is absent
  | 'bad-name'; // a job id, prefix or hash that cannot be used in a key

/**
 * A message that can never become valid by retrying: bad data gets a named,
 * non-retryable error (services map it to BullMQ's UnrecoverableError or fail the job).
 * The message says what was expected and what arrived, e.g.
 * `shard result: grad length 1203 expected 1347`.
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  readonly retryable = false;
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
