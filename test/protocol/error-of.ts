import { ProtocolError } from '@redgrad/protocol';

/** The ProtocolError `fn` throws (its code and message are what the tests check). */
export function errorOf(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err;
    throw err;
  }
  throw new Error('expected a ProtocolError');
}
