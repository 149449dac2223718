export { RedgradError, type ErrorKind } from './errors.js';
