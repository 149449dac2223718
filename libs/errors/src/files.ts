import { readFile } from 'node:fs/promises';
import { RedgradError } from './errors.js';

/** A file the user named that cannot be read (missing, a directory, no permission). */
export class InputFileError extends RedgradError {
  override name = 'InputFileError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'unreadable-file', message, options);
  }
}

function unreadable(path: string, e: unknown): InputFileError {
  return new InputFileError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
    cause: e,
  });
}

/** The text of a file the user named; an InputFileError naming it and the reason (ENOENT, …) when unreadable. */
export async function readInputText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw unreadable(path, e);
  }
}

/** The bytes of a file the user named, as readInputText. */
export async function readInputBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw unreadable(path, e);
  }
}
