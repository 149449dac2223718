// Field checks for untrusted objects read from Redis. Every failure names the
// message, the field, what was expected and what arrived.
import { describeValue } from '@redgrad/errors';
import { ProtocolError } from './errors.js';

// the protocol's readers describe values as every other reader does
export { describeValue, typedArrayTag } from '@redgrad/errors';

export type Fields = Record<string, unknown>;

export function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function expectRecord(v: unknown, what: string): Fields {
  if (!isRecord(v)) throw new ProtocolError('bad-field', `${what}: expected an object, got ${describeValue(v)}`);
  return v;
}

export function expectString(
  obj: Fields,
  key: string,
  what: string,
  opts: { pattern?: RegExp; maxLength?: number; allowEmpty?: boolean } = {},
): string {
  const v = obj[key];
  if (typeof v !== 'string')
    throw new ProtocolError('bad-field', `${what}: ${key} must be a string, got ${describeValue(v)}`);
  if (!opts.allowEmpty && v.length === 0) throw new ProtocolError('bad-field', `${what}: ${key} must not be empty`);
  const max = opts.maxLength ?? 4096;
  if (v.length > max)
    throw new ProtocolError('bad-field', `${what}: ${key} is ${v.length} characters, at most ${max} allowed`);
  if (opts.pattern && !opts.pattern.test(v)) {
    throw new ProtocolError('bad-field', `${what}: ${key} ${describeValue(v)} does not match ${opts.pattern}`);
  }
  return v;
}

/** A safe integer in [min, max]. */
export function expectInt(obj: Fields, key: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new ProtocolError('bad-field', `${what}: ${key} must be an integer, got ${describeValue(v)}`);
  }
  if (v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in ${min}..${max}`;
    throw new ProtocolError('out-of-range', `${what}: ${key} ${v} is not ${range}`);
  }
  return v;
}

/** A finite number (NaN/±Infinity → 'non-finite'), optionally ≥ min. */
export function expectFinite(obj: Fields, key: string, what: string, min = -Infinity): number {
  const v = obj[key];
  if (typeof v !== 'number')
    throw new ProtocolError('bad-field', `${what}: ${key} must be a number, got ${describeValue(v)}`);
  if (!Number.isFinite(v)) throw new ProtocolError('non-finite', `${what}: ${key} is ${v}, expected a finite number`);
  if (v < min) throw new ProtocolError('out-of-range', `${what}: ${key} ${v} is below ${min}`);
  return v;
}

export function expectOptionalFinite(obj: Fields, key: string, what: string, min = -Infinity): number | undefined {
  return obj[key] === undefined ? undefined : expectFinite(obj, key, what, min);
}

export function expectOneOf<T extends string>(obj: Fields, key: string, what: string, allowed: readonly T[]): T {
  const v = obj[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ProtocolError(
      'bad-field',
      `${what}: ${key} must be one of ${allowed.join(', ')}, got ${describeValue(v)}`,
    );
  }
  return v as T;
}

export function expectStringArray(obj: Fields, key: string, what: string, maxItems = 1 << 16): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || v.length > maxItems || !v.every((s) => typeof s === 'string')) {
    throw new ProtocolError('bad-field', `${what}: ${key} must be an array of strings, got ${describeValue(v)}`);
  }
  return v as string[];
}

/** Throw 'mismatch' when a decoded field is not the one the reader asked for. */
export function expectEqual<T extends string | number>(what: string, key: string, got: T, expected: T): void {
  if (got !== expected) {
    throw new ProtocolError('mismatch', `${what}: ${key} ${JSON.stringify(got)} expected ${JSON.stringify(expected)}`);
  }
}

/**
 * Index of the first non-finite element, or -1. x·0 is ±0 for finite x and NaN for NaN/±Infinity,
 * so four branch-free sums are 0 exactly when all elements are finite; only then is the index
 * looked for. Measured at 235k values: 0.09–0.10 ms against 0.20–0.21 ms for the loop below alone,
 * once per result and per weights version.
 */
function firstNonFinite(a: Float32Array): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i] * 0;
    s1 += a[i + 1] * 0;
    s2 += a[i + 2] * 0;
    s3 += a[i + 3] * 0;
  }
  for (; i < n; i++) s0 += a[i] * 0;
  if (s0 + s1 + s2 + s3 === 0) return -1;
  for (let i = 0; i < a.length; i++) {
    // x - x is 0 for finite x and NaN for NaN/±Infinity: one compare per element.
    const d = a[i] - a[i];
    if (d !== 0) return i;
  }
  return -1;
}

export function expectAllFinite(a: Float32Array, what: string, name: string): void {
  const i = firstNonFinite(a);
  if (i >= 0) throw new ProtocolError('non-finite', `${what}: ${name}[${i}] is ${a[i]}, expected finite values only`);
}
