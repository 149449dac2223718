import { RedgradError } from '@redgrad/errors';

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
  | 'bad-name'; // a job id, prefix or hash that cannot be used in a key (usually one a user typed)

/**
 * A message that can never become valid by retrying: bad data gets a named,
 * non-retryable error (services map it to BullMQ's UnrecoverableError or fail the job).
 * The message says what was expected and what arrived, e.g.
 * `shard result: grad length 1203 expected 1347`. A bad name is the user's (an id given to the CLI);
 * anything else was read from Redis, so it is an internal fault.
 */
export class ProtocolError extends RedgradError {
  override name = 'ProtocolError';
  declare readonly code: ProtocolErrorCode;
  readonly retryable = false;

  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(code === 'bad-name' ? 'user' : 'internal', code, message, options);
  }
}
