import { endianness, tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  HOST_LITTLE_ENDIAN,
  InputFileError,
  RedgradError,
  describeValue,
  readInputBytes,
  readInputText,
} from '@redgrad/errors';

describe('describeValue', () => {
  it('shows a value the way it would be written, one line whatever the input', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue('fast')).toBe('"fast"');
    expect(describeValue(-1)).toBe('-1');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(2n)).toBe('2n');
    expect(describeValue(new Float32Array(3))).toBe('Float32Array(3)');
    expect(describeValue(Buffer.alloc(5))).toBe('Uint8Array(5)');
    expect(describeValue([1, 2])).toBe('an array of 2');
    expect(describeValue({ a: 1 })).toBe('an object');
    const long = describeValue('x'.repeat(100) + '\nsecond line');
    expect(long).toBe(`"${'x'.repeat(40)}…"`);
  });
});

describe('reading a file the user named', () => {
  it('fails as a user error naming the file and the reason', async () => {
    const missing = `${tmpdir()}/redgrad-no-such-file-${process.pid}`;
    for (const read of [readInputText, readInputBytes]) {
      const err = await read(missing).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputFileError);
      expect(err).toBeInstanceOf(RedgradError);
      expect(err).toMatchObject({ kind: 'user', code: 'unreadable-file', message: `${missing}: cannot read (ENOENT)` });
    }
    expect(await readInputText(new URL(import.meta.url).pathname)).toContain('reading a file the user named');
  });
});

it('knows the host byte order', () => {
  expect(HOST_LITTLE_ENDIAN).toBe(endianness() === 'LE');
});
