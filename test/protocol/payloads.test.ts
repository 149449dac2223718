import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type {
  ProtocolErrorCode,
  ShardResultInit,
} from '@redgrad/protocol';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  decodeShardResult,
  decodeWeights,
  encodeShardResult,
  encodeWeights,
} from '@redgrad/protocol';

const packr = new Packr({ moreTypes: true, useRecords: false });

function ramp(n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(Math.sin(i * 0.37) * scale);
  return a;
}

function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode, message: RegExp | string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const pe = caught as ProtocolError;
  expect(pe.code).toBe(code);
  expect(pe.retryable).toBe(false);
  if (typeof message === 'string') expect(pe.message).toBe(message);
  else expect(pe.message).toMatch(message);
}

/** Copy `buf` into a larger Buffer at byte offset 1, so typed-array views would be unaligned. */
function atOffset1(buf: Buffer): Buffer {
  const big = Buffer.alloc(buf.length + 3);
  buf.copy(big, 1);
  return big.subarray(1, 1 + buf.length);
}

const shardInit = (length = 1347): ShardResultInit => ({
  jobId: 'job-1',
  step: 12,
  level: 0,
  index: 3,
  count: 32,
  lossSum: 0.1 + 0.2, // a float64 that float32 would change
  correct: 27,
  grad: ramp(length, 1e-3),
  workerId: 'w-1@host-a',
  computeMs: 4.25,
});
const shardExpect = { jobId: 'job-1', step: 12, level: 0, index: 3, count: 32, length: 1347 };

describe('weights payload', () => {
  it('round-trips a Float32Array bit for bit', () => {
    const params = ramp(1000, 3);
    params[5] = -0;
    params[6] = 1e-45; // denormal
    const buf = encodeWeights({ jobId: 'job-1', step: 7, params });
    expect(buf.length).toBeLessThan(1000 * 4 + 100); // binary, not JSON numbers
    const w = decodeWeights(buf, { jobId: 'job-1', step: 7, length: 1000 });
    expect(w).toMatchObject({ v: PROTOCOL_VERSION, kind: 'weights', jobId: 'job-1', step: 7 });
    expect(w.params).toBeInstanceOf(Float32Array);
    expect(new Uint32Array(w.params.buffer, w.params.byteOffset, 1000)).toEqual(new Uint32Array(params.buffer));
  });

  it('decodes from an unaligned Buffer slice into a fresh aligned array', () => {
    const params = ramp(257, 2);
    const src = atOffset1(encodeWeights({ jobId: 'j', step: 1, params }));
    expect(src.byteOffset % 4).not.toBe(0);
    const w = decodeWeights(src, { jobId: 'j', step: 1, length: 257 });
    expect(w.params.byteOffset % 4).toBe(0);
    expect(w.params.buffer).not.toBe(src.buffer);
    expect(w.params).toEqual(params);
    src.fill(0); // the decoded array must not alias the source
    expect(w.params).toEqual(params);
  });

  it('rejects the wrong job, step or length', () => {
    const buf = encodeWeights({ jobId: 'job-1', step: 7, params: ramp(10, 1) });
    expectProtocolError(() => decodeWeights(buf, { jobId: 'job-2', step: 7, length: 10 }), 'mismatch', 'weights: jobId "job-1" expected "job-2"');
    expectProtocolError(() => decodeWeights(buf, { jobId: 'job-1', step: 8, length: 10 }), 'mismatch', 'weights: step 7 expected 8');
    expectProtocolError(() => decodeWeights(buf, { jobId: 'job-1', step: 7, length: 11 }), 'bad-shape', 'weights: params length 10 expected 11');
  });

  it('rejects non-finite weights', () => {
    const params = ramp(10, 1);
    params[4] = Infinity;
    const buf = encodeWeights({ jobId: 'j', step: 0, params });
    expectProtocolError(() => decodeWeights(buf, { jobId: 'j', step: 0, length: 10 }), 'non-finite', 'weights: params[4] is Infinity, expected finite values only');
  });
});

describe('shard result payload', () => {
  it('round-trips every field', () => {
    const init = shardInit();
    const r = decodeShardResult(encodeShardResult(init), shardExpect);
    expect(r).toEqual({ v: PROTOCOL_VERSION, kind: 'shard-result', ...init });
    expect(r.lossSum).toBe(0.1 + 0.2); // float64 survives
    expect(r.grad).toBeInstanceOf(Float32Array);
  });

  it('decodes from an unaligned Buffer slice', () => {
    const init = shardInit();
    const r = decodeShardResult(atOffset1(encodeShardResult(init)), shardExpect);
    expect(r.grad.byteOffset % 4).toBe(0);
    expect(r.grad).toEqual(init.grad);
  });

  it('says what length it expected and what arrived', () => {
    const buf = encodeShardResult(shardInit(1203));
    expectProtocolError(() => decodeShardResult(buf, shardExpect), 'bad-shape', 'shard result: grad length 1203 expected 1347');
  });

  it('rejects NaN in the gradient and a non-finite loss', () => {
    const init = shardInit();
    init.grad[900] = NaN;
    expectProtocolError(() => decodeShardResult(encodeShardResult(init), shardExpect), 'non-finite', 'shard result: grad[900] is NaN, expected finite values only');
    expectProtocolError(
      () => decodeShardResult(encodeShardResult({ ...shardInit(), lossSum: -Infinity }), shardExpect),
      'non-finite',
      'shard result: lossSum is -Infinity, expected a finite number',
    );
  });

  it('checks count and 0 ≤ correct ≤ count', () => {
    expectProtocolError(() => decodeShardResult(encodeShardResult({ ...shardInit(), count: 31 }), shardExpect), 'bad-shape', 'shard result: count 31 expected 32');
    expectProtocolError(() => decodeShardResult(encodeShardResult({ ...shardInit(), correct: 33 }), shardExpect), 'out-of-range', 'shard result: correct 33 is not in 0..32');
    expectProtocolError(() => decodeShardResult(encodeShardResult({ ...shardInit(), correct: -1 }), shardExpect), 'out-of-range', 'shard result: correct -1 is not in 0..32');
  });

  it('rejects a result for another step or shard', () => {
    const buf = encodeShardResult(shardInit());
    expectProtocolError(() => decodeShardResult(buf, { ...shardExpect, index: 4 }), 'mismatch', 'shard result: index 3 expected 4');
    expectProtocolError(() => decodeShardResult(buf, { ...shardExpect, step: 13 }), 'mismatch', 'shard result: step 12 expected 13');
  });

  it('rejects a wrong format version and a wrong kind', () => {
    const good = packr.unpack(encodeShardResult(shardInit())) as Record<string, unknown>;
    expectProtocolError(() => decodeShardResult(packr.pack({ ...good, v: 2 }), shardExpect), 'bad-version', 'shard result: format version 2 expected 1');
    expectProtocolError(() => decodeShardResult(packr.pack({ ...good, v: undefined }), shardExpect), 'bad-version', /format version (nothing|null) expected 1/);
    const weights = encodeWeights({ jobId: 'job-1', step: 12, params: ramp(1347, 1) });
    expectProtocolError(() => decodeShardResult(weights, shardExpect), 'bad-kind', 'shard result: kind "weights" expected "shard-result"');
  });

  it('rejects truncated msgpack bytes and non-msgpack bytes', () => {
    const buf = encodeShardResult(shardInit());
    expectProtocolError(() => decodeShardResult(buf.subarray(0, buf.length - 100), shardExpect), 'truncated', /^shard result: \d+ bytes are not one complete msgpack message/);
    expectProtocolError(() => decodeShardResult(buf.subarray(0, 10), shardExpect), 'truncated', /not one complete msgpack message/);
    expectProtocolError(() => decodeShardResult(Buffer.alloc(0), shardExpect), 'truncated', 'shard result: empty payload (0 bytes)');
    expectProtocolError(() => decodeShardResult(Buffer.from('"hello"'), shardExpect), 'truncated', /not one complete msgpack message/);
    expectProtocolError(() => decodeShardResult(packr.pack(34), shardExpect), 'bad-field', 'shard result: expected an object, got 34');
    expectProtocolError(() => decodeShardResult(packr.pack([1, 2]), shardExpect), 'bad-field', 'shard result: expected an object, got an array of 2');
  });

  it('rejects a tensor whose dtype, declared length or data type is wrong', () => {
    const good = packr.unpack(encodeShardResult(shardInit())) as Record<string, unknown>;
    const grad = good.grad as { dtype: string; length: number; data: Float32Array };
    expectProtocolError(
      () => decodeShardResult(packr.pack({ ...good, grad: { ...grad, dtype: 'f64' } }), shardExpect),
      'bad-shape',
      'shard result: grad dtype "f64" expected "f32"',
    );
    expectProtocolError(
      () => decodeShardResult(packr.pack({ ...good, grad: { ...grad, length: 1348 } }), shardExpect),
      'truncated',
      'shard result: grad holds 1347 values but declares length 1348',
    );
    expectProtocolError(
      () => decodeShardResult(packr.pack({ ...good, grad: { ...grad, data: Array.from(grad.data) } }), shardExpect),
      'bad-shape',
      'shard result: grad data is an array of 1347 expected Float32Array',
    );
    expectProtocolError(
      () => decodeShardResult(packr.pack({ ...good, grad: { ...grad, data: new Float64Array(grad.data) } }), shardExpect),
      'bad-shape',
      'shard result: grad data is Float64Array(1347) expected Float32Array',
    );
  });

  it('names missing or mistyped fields', () => {
    const good = packr.unpack(encodeShardResult(shardInit())) as Record<string, unknown>;
    expectProtocolError(() => decodeShardResult(packr.pack({ ...good, workerId: 7 }), shardExpect), 'bad-field', 'shard result: workerId must be a string, got 7');
    expectProtocolError(() => decodeShardResult(packr.pack({ ...good, step: '12' }), shardExpect), 'bad-field', 'shard result: step must be an integer, got "12"');
    const { grad: _grad, ...noGrad } = good;
    expectProtocolError(() => decodeShardResult(packr.pack(noGrad), shardExpect), 'bad-field', 'shard result: grad: expected an object, got nothing');
  });
});
