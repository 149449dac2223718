// @redgrad/errors — the error model every package shares, and the few helpers every reader of outside
// input uses to reject it the same way: one description of a value, one way to read a named file,
// one endianness check for the binary formats.
export { RedgradError, type ErrorKind } from './errors.js';
export { describeValue, typedArrayTag } from './describe.js';
export { InputFileError, readInputBytes, readInputText } from './files.js';
export { HOST_LITTLE_ENDIAN } from './bytes.js';
