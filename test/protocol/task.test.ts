import { describe, expect, it } from 'vitest';
import type { GradientTask } from '@redgrad/protocol';
import {
  Keys,
  PROTOCOL_VERSION,
  checkTaskIdentity,
  decodeIndices,
  encodeIndices,
  makeGradientTask,
  validateGradientTask,
} from '@redgrad/protocol';
import { errorOf } from './error-of.js';

const keys = new Keys();
const base = (): GradientTask => ({
  v: PROTOCOL_VERSION,
  jobId: 'job-1',
  step: 40,
  level: 1,
  index: 2,
  weightsKey: keys.weights('job-1', 40),
  dataHash: 'f'.repeat(64),
  kernel: 'js',
  paramCount: 1347,
  indices: encodeIndices(Uint32Array.of(5, 0, 59_999, 17)),
});

describe('sample indices', () => {
  it('round-trip through base64 of little-endian uint32', () => {
    const idx = Uint32Array.from({ length: 1000 }, (_, i) => (i * 7919) % 60_000);
    const b64 = encodeIndices(idx);
    expect(b64.length).toBe(4 * Math.ceil((1000 * 4) / 3));
    expect(decodeIndices(b64, 60_000)).toEqual(idx);
    // little-endian on the wire whatever the host
    expect(Buffer.from(encodeIndices(Uint32Array.of(1)), 'base64')).toEqual(Buffer.from([1, 0, 0, 0]));
  });

  it('encodes a subarray view, not its whole buffer', () => {
    const all = Uint32Array.of(9, 8, 7, 6);
    expect(decodeIndices(encodeIndices(all.subarray(1, 3)), 10)).toEqual(Uint32Array.of(8, 7));
  });

  it('rejects an index out of range', () => {
    const e = errorOf(() => decodeIndices(encodeIndices(Uint32Array.of(1, 2, 60_000)), 60_000));
    expect(e.code).toBe('out-of-range');
    expect(e.message).toBe('gradient task: indices: index 60000 at position 2 is out of range, expected < 60000');
  });

  it('rejects bytes that are not a multiple of 4', () => {
    const e = errorOf(() => decodeIndices(Buffer.from([1, 0, 0, 0, 2, 0, 0]).toString('base64'), 10));
    expect(e.code).toBe('bad-shape');
    expect(e.message).toBe('gradient task: indices: 7 bytes is not a multiple of 4 (uint32 indices)');
  });

  it('rejects base64 whose length is not a multiple of 4, and non-base64 text', () => {
    const e = errorOf(() => decodeIndices('AQAAAA', 10));
    expect(e.code).toBe('bad-shape');
    expect(e.message).toBe(
      'gradient task: indices: not canonical base64 (6 characters, expected a multiple of 4 from [A-Za-z0-9+/=])',
    );
    expect(errorOf(() => decodeIndices('AQ$AAA==', 10)).code).toBe('bad-shape');
  });

  it('rejects an empty shard', () => {
    expect(errorOf(() => decodeIndices('', 10)).message).toMatch(/no indices/);
  });
});

describe('gradient task', () => {
  it('validates and survives JSON (as BullMQ stores it)', () => {
    const task = base();
    const back = validateGradientTask(JSON.parse(JSON.stringify(task)));
    expect(back).toEqual(task);
    expect(makeGradientTask({ ...task })).toEqual(task);
    expect(decodeIndices(back.indices, 60_000)).toEqual(Uint32Array.of(5, 0, 59_999, 17));
    checkTaskIdentity(back, { jobId: 'job-1', step: 40, level: 1, index: 2 });
    expect(() => checkTaskIdentity(back, { jobId: 'job-1', step: 40, level: 1, index: 3 })).toThrow(
      'gradient task: index 2 expected 3',
    );
  });

  it('names the bad field', () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ v: 2 }, 'bad-version', 'gradient task: format version 2 expected 1'],
      [{ jobId: 'a:b' }, 'bad-field', 'gradient task: jobId "a:b" does not match /^[A-Za-z0-9_-]{1,64}$/'],
      [{ step: -1 }, 'out-of-range', 'gradient task: step -1 is not ≥ 0'],
      [{ index: 1.5 }, 'bad-field', 'gradient task: index must be an integer, got 1.5'],
      [{ level: 31 }, 'out-of-range', 'gradient task: level 31 is not in 0..30'],
      [{ paramCount: 0 }, 'out-of-range', 'gradient task: paramCount 0 is not in 1..1073741824'],
      [{ kernel: undefined }, 'bad-field', 'gradient task: kernel must be a string, got nothing'],
      [
        { dataHash: 'has space' },
        'bad-field',
        'gradient task: dataHash "has space" does not match /^[A-Za-z0-9_-]{1,128}$/',
      ],
      [{ indices: 'AQAAAA' }, 'bad-shape', 'gradient task: indices is not canonical base64 (6 characters)'],
      [
        { weightsKey: keys.weights('job-1', 39) },
        'mismatch',
        'gradient task: weightsKey "redgrad:job:{job-1}:w:39" is not the weights of job job-1 step 40',
      ],
    ];
    for (const [patch, code, message] of cases) {
      const e = errorOf(() => validateGradientTask({ ...base(), ...patch }));
      expect({ code: e.code, message: e.message }).toEqual({ code, message });
    }
    expect(errorOf(() => validateGradientTask(null)).message).toBe('gradient task: expected an object, got null');
    expect(errorOf(() => validateGradientTask('x')).message).toBe('gradient task: expected an object, got "x"');
  });
});
