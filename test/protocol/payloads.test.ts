import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { ProtocolErrorCode, ShardResultInit } from '@redgrad/protocol';
import {
  FRAME_VERSION,
  FrameBuffer,
  ProtocolError,
  decodeShardMessage,
  decodeShardResult,
  decodeWeights,
  decodeWeightsInto,
  encodeShardError,
  encodeShardResult,
  encodeWeights,
  fromBf16,
  toBf16,
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

/** A copy of `buf` with `edit` applied through a little-endian DataView. */
function patched(buf: Buffer, edit: (dv: DataView, bytes: Buffer) => void): Buffer {
  const copy = Buffer.from(buf);
  edit(new DataView(copy.buffer, copy.byteOffset, copy.byteLength), copy);
  return copy;
}

describe('weights payload', () => {
  it('round-trips a Float32Array bit for bit', () => {
    const params = ramp(1000, 3);
    params[5] = -0;
    params[6] = 1e-45; // denormal
    const buf = encodeWeights({ jobId: 'job-1', step: 7, params });
    expect(buf.length).toBe(1000 * 4 + 60); // header, 'job-1', padding to 4, raw float32
    const w = decodeWeights(buf, { jobId: 'job-1', step: 7, length: 1000 });
    expect(w).toMatchObject({ v: FRAME_VERSION, kind: 'weights', jobId: 'job-1', step: 7 });
    expect(w.params).toBeInstanceOf(Float32Array);
    expect(new Uint32Array(w.params.buffer, w.params.byteOffset, 1000)).toEqual(new Uint32Array(params.buffer));
  });

  it('decodes an aligned frame as a view of its bytes, without a copy', () => {
    const params = ramp(64, 1);
    const buf = encodeWeights({ jobId: 'j', step: 1, params });
    const w = decodeWeights(buf, { jobId: 'j', step: 1, length: 64 });
    expect(w.params.buffer).toBe(buf.buffer);
    expect(w.params).toEqual(params);
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

  it('decodes straight into a parameter block from any offset', () => {
    const params = ramp(333, 2);
    for (const src of [
      encodeWeights({ jobId: 'j', step: 2, params }),
      atOffset1(encodeWeights({ jobId: 'j', step: 2, params })),
    ]) {
      const into = new Float32Array(333);
      expect(decodeWeightsInto(src, { jobId: 'j', step: 2, length: 333 }, into)).toBe(into);
      expect(into).toEqual(params);
    }
    expect(() =>
      decodeWeightsInto(
        encodeWeights({ jobId: 'j', step: 2, params }),
        { jobId: 'j', step: 2, length: 333 },
        new Float32Array(10),
      ),
    ).toThrow(RangeError);
  });

  it('encodes into a reused buffer that grows when a frame does not fit', () => {
    const frames = new FrameBuffer();
    const a = encodeWeights({ jobId: 'j', step: 1, params: ramp(10, 1) }, frames);
    const b = encodeWeights({ jobId: 'j', step: 2, params: ramp(10, 2) }, frames);
    expect(b.buffer).toBe(a.buffer); // same memory, step after step
    expect(decodeWeights(b, { jobId: 'j', step: 2, length: 10 }).params).toEqual(ramp(10, 2));
    const big = encodeWeights({ jobId: 'j', step: 3, params: ramp(100_000, 1) }, frames);
    expect(decodeWeights(big, { jobId: 'j', step: 3, length: 100_000 }).params).toEqual(ramp(100_000, 1));
    const again = encodeWeights({ jobId: 'j', step: 4, params: ramp(10, 3) }, frames);
    expect(again.buffer).toBe(big.buffer);
    expect(again.length).toBe(10 * 4 + 56);
  });

  it('rejects the wrong job, step or length', () => {
    const buf = encodeWeights({ jobId: 'job-1', step: 7, params: ramp(10, 1) });
    expectProtocolError(
      () => decodeWeights(buf, { jobId: 'job-2', step: 7, length: 10 }),
      'mismatch',
      'weights: jobId "job-1" expected "job-2"',
    );
    expectProtocolError(
      () => decodeWeights(buf, { jobId: 'job-1', step: 8, length: 10 }),
      'mismatch',
      'weights: step 7 expected 8',
    );
    expectProtocolError(
      () => decodeWeights(buf, { jobId: 'job-1', step: 7, length: 11 }),
      'bad-shape',
      'weights: params length 10 expected 11',
    );
  });

  it('rejects non-finite weights, also when decoding into a parameter block', () => {
    const params = ramp(10, 1);
    params[4] = Infinity;
    const buf = encodeWeights({ jobId: 'j', step: 0, params });
    expectProtocolError(
      () => decodeWeights(buf, { jobId: 'j', step: 0, length: 10 }),
      'non-finite',
      'weights: params[4] is Infinity, expected finite values only',
    );
    expectProtocolError(
      () => decodeWeightsInto(buf, { jobId: 'j', step: 0, length: 10 }, new Float32Array(10)),
      'non-finite',
      'weights: params[4] is Infinity, expected finite values only',
    );
  });

  it('rejects a bf16 frame and a msgpack payload of the old format', () => {
    const bf16 = encodeShardResult({ ...shardInit(10), grad: toBf16(ramp(10, 1), new Uint16Array(10)) });
    const asWeights = patched(bf16, (dv) => dv.setUint8(5, 1));
    expectProtocolError(
      () => decodeWeights(asWeights, { jobId: 'job-1', step: 12, length: 10 }),
      'bad-shape',
      'weights: params dtype "bf16" expected "f32"',
    );
    const old = packr.pack({
      v: 1,
      kind: 'weights',
      jobId: 'j',
      step: 0,
      params: { dtype: 'f32', length: 1, data: new Float32Array(1) },
    });
    expectProtocolError(
      () => decodeWeights(old, { jobId: 'j', step: 0, length: 1 }),
      'bad-version',
      /^weights: magic 0x[0-9a-f]+ expected 0x32464752/,
    );
  });
});

describe('shard result payload', () => {
  it('round-trips every field', () => {
    const init = shardInit();
    const r = decodeShardResult(encodeShardResult(init), shardExpect);
    expect(r).toEqual({ v: FRAME_VERSION, kind: 'shard-result', ...init });
    expect(r.lossSum).toBe(0.1 + 0.2); // float64 survives
    expect(r.grad).toBeInstanceOf(Float32Array);
  });

  it('decodes from an unaligned Buffer slice', () => {
    const init = shardInit();
    const r = decodeShardResult(atOffset1(encodeShardResult(init)), shardExpect);
    expect(r.grad.byteOffset % 4).toBe(0);
    expect(r.grad).toEqual(init.grad);
  });

  it('round-trips a bf16 gradient, from aligned and unaligned bytes', () => {
    const grad = ramp(1347, 1e-3);
    const init = { ...shardInit(), grad: toBf16(grad, new Uint16Array(1347)) };
    const buf = encodeShardResult(init);
    expect(buf.length).toBe(68 + 1347 * 2);
    for (const src of [buf, atOffset1(buf)]) {
      const r = decodeShardResult(src, shardExpect);
      expect(r.grad).toEqual(fromBf16(init.grad, new Float32Array(1347)));
    }
  });

  it('says what length it expected and what arrived', () => {
    const buf = encodeShardResult(shardInit(1203));
    expectProtocolError(
      () => decodeShardResult(buf, shardExpect),
      'bad-shape',
      'shard result: grad length 1203 expected 1347',
    );
  });

  it('rejects NaN in the gradient and a non-finite loss or compute time', () => {
    const init = shardInit();
    init.grad[900] = NaN;
    expectProtocolError(
      () => decodeShardResult(encodeShardResult(init), shardExpect),
      'non-finite',
      'shard result: grad[900] is NaN, expected finite values only',
    );
    const tail = shardInit(); // 1347 values: the last three are past the unrolled loop
    tail.grad[1346] = -Infinity;
    expectProtocolError(
      () => decodeShardResult(encodeShardResult(tail), shardExpect),
      'non-finite',
      'shard result: grad[1346] is -Infinity, expected finite values only',
    );
    expectProtocolError(
      () => decodeShardResult(encodeShardResult({ ...shardInit(), lossSum: -Infinity }), shardExpect),
      'non-finite',
      'shard result: lossSum is -Infinity, expected a finite number',
    );
    const good = encodeShardResult(shardInit());
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setFloat64(40, NaN, true)),
          shardExpect,
        ),
      'non-finite',
      'shard result: computeMs is NaN, expected a finite number',
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setFloat64(40, -1, true)),
          shardExpect,
        ),
      'out-of-range',
      'shard result: computeMs -1 is below 0',
    );
  });

  it('checks count and 0 ≤ correct ≤ count', () => {
    expectProtocolError(
      () => decodeShardResult(encodeShardResult({ ...shardInit(), count: 31 }), shardExpect),
      'bad-shape',
      'shard result: count 31 expected 32',
    );
    expectProtocolError(
      () => decodeShardResult(encodeShardResult({ ...shardInit(), correct: 33 }), shardExpect),
      'out-of-range',
      'shard result: correct 33 is not in 0..32',
    );
    expectProtocolError(
      () => decodeShardResult(encodeShardResult({ ...shardInit(), count: 0 }), { ...shardExpect, count: 0 }),
      'out-of-range',
      'shard result: count 0 is not ≥ 1',
    );
    expect(() => encodeShardResult({ ...shardInit(), correct: -1 })).toThrow(/correct -1 does not fit in 32 bits/);
  });

  it('rejects a result for another job, step or block', () => {
    const buf = encodeShardResult(shardInit());
    expectProtocolError(
      () => decodeShardResult(buf, { ...shardExpect, index: 4 }),
      'mismatch',
      'shard result: index 3 expected 4',
    );
    expectProtocolError(
      () => decodeShardResult(buf, { ...shardExpect, level: 1 }),
      'mismatch',
      'shard result: level 0 expected 1',
    );
    expectProtocolError(
      () => decodeShardResult(buf, { ...shardExpect, step: 13 }),
      'mismatch',
      'shard result: step 12 expected 13',
    );
    expectProtocolError(
      () => decodeShardResult(buf, { ...shardExpect, jobId: 'job-2' }),
      'mismatch',
      'shard result: jobId "job-1" expected "job-2"',
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(buf, (dv) => dv.setUint32(12, 31, true)),
          shardExpect,
        ),
      'out-of-range',
      'shard result: level 31 is not in 0..30',
    );
  });

  it('rejects a wrong magic, format version, kind, dtype or reserved byte', () => {
    const good = encodeShardResult(shardInit());
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setUint8(0, 0x51)),
          shardExpect,
        ),
      'bad-version',
      /^shard result: magic 0x32464751 expected 0x32464752/,
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setUint8(4, 3)),
          shardExpect,
        ),
      'bad-version',
      'shard result: format version 3 expected 2',
    );
    const weights = encodeWeights({ jobId: 'job-1', step: 12, params: ramp(1347, 1) });
    expectProtocolError(
      () => decodeShardResult(weights, shardExpect),
      'bad-kind',
      'shard result: kind "weights" expected "shard-result"',
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setUint8(5, 9)),
          shardExpect,
        ),
      'bad-kind',
      'shard result: kind 9 expected "shard-result"',
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setUint8(6, 7)),
          shardExpect,
        ),
      'bad-shape',
      'shard result: dtype code 7 expected 1 (f32) or 2 (bf16)',
    );
    expectProtocolError(
      () =>
        decodeShardResult(
          patched(good, (dv) => dv.setUint8(7, 1)),
          shardExpect,
        ),
      'bad-field',
      'shard result: reserved byte 1 expected 0',
    );
    const msgpack = packr.pack({
      v: 1,
      kind: 'shard-result',
      jobId: 'job-1',
      grad: { dtype: 'f32', length: 100, data: new Float32Array(100) },
    });
    expectProtocolError(() => decodeShardResult(msgpack, shardExpect), 'bad-version', /^shard result: magic/);
  });

  it('checks the size before anything else: cut short, too long, or lengths that do not add up', () => {
    const buf = encodeShardResult(shardInit());
    expectProtocolError(
      () => decodeShardResult(Buffer.alloc(0), shardExpect),
      'truncated',
      'shard result: 0 bytes, a frame header alone is 52',
    );
    expectProtocolError(
      () => decodeShardResult(buf.subarray(0, 10), shardExpect),
      'truncated',
      'shard result: 10 bytes, a frame header alone is 52',
    );
    expectProtocolError(
      () => decodeShardResult(buf.subarray(0, buf.length - 100), shardExpect),
      'truncated',
      `shard result: ${buf.length - 100} bytes, the header declares ${buf.length}`,
    );
    expectProtocolError(
      () => decodeShardResult(Buffer.concat([buf, Buffer.alloc(4)]), shardExpect),
      'bad-shape',
      `shard result: ${buf.length + 4} bytes, the header declares ${buf.length}`,
    );
    const longer = patched(buf, (dv) => dv.setUint32(28, 1348, true));
    expectProtocolError(
      () => decodeShardResult(longer, shardExpect),
      'truncated',
      `shard result: ${buf.length} bytes, the header declares ${buf.length + 4}`,
    );
    const hugeId = patched(buf, (dv) => dv.setUint16(48, 60_000, true));
    expectProtocolError(
      () => decodeShardResult(hugeId, shardExpect),
      'truncated',
      /^shard result: \d+ bytes, the header declares \d+$/,
    );
    expectProtocolError(
      () => decodeShardResult('nope' as unknown as Uint8Array, shardExpect),
      'bad-field',
      'shard result: expected bytes, got "nope"',
    );
  });

  it('names an id that is empty or not of its alphabet', () => {
    const buf = encodeShardResult(shardInit());
    const noJob = encodeShardResult({ ...shardInit(), jobId: '' });
    expectProtocolError(
      () => decodeShardResult(noJob, shardExpect),
      'bad-field',
      'shard result: jobId must not be empty',
    );
    const badJob = patched(buf, (_dv, bytes) => bytes.write(' ', 52, 'latin1'));
    expectProtocolError(
      () => decodeShardResult(badJob, shardExpect),
      'bad-field',
      /^shard result: jobId " ob-1" does not match/,
    );
    const badWorker = patched(buf, (_dv, bytes) => bytes.write('/', 52 + 5, 'latin1'));
    expectProtocolError(
      () => decodeShardResult(badWorker, shardExpect),
      'bad-field',
      /^shard result: workerId "\/-1@host-a" does not match/,
    );
    const noWorker = encodeShardResult({ ...shardInit(), workerId: '' });
    expectProtocolError(
      () => decodeShardResult(noWorker, shardExpect),
      'bad-field',
      'shard result: workerId must not be empty',
    );
  });
});

describe('shard message (a results-stream entry)', () => {
  const expectAny = { jobId: 'job-1', step: 12, length: 1347, counts: [32, 32, 32, 32] };

  it('reads a result frame, and drops a covered block before its gradient is read', () => {
    const buf = encodeShardResult(shardInit());
    expect(decodeShardMessage(buf, expectAny)).toMatchObject({ kind: 'shard-result', level: 0, index: 3, count: 32 });
    const nanGrad = encodeShardResult({ ...shardInit(), grad: new Float32Array(1347).fill(NaN) });
    expect(
      decodeShardMessage(nanGrad, { ...expectAny, covered: (level, index) => level === 0 && index === 3 }),
    ).toBeNull();
  });

  it('reads an error report (msgpack) and refuses a result in the old msgpack format', () => {
    const err = encodeShardError({
      jobId: 'job-1',
      step: 12,
      level: 1,
      index: 1,
      workerId: 'w-1',
      error: 'no data set',
    });
    expect(decodeShardMessage(err, expectAny)).toMatchObject({
      kind: 'shard-error',
      level: 1,
      index: 1,
      error: 'no data set',
    });
    const old = packr.pack({ v: 1, kind: 'shard-result', jobId: 'job-1', step: 12, level: 0, index: 3 });
    expectProtocolError(
      () => decodeShardMessage(old, expectAny),
      'bad-version',
      'shard message: a msgpack shard result (format version 1); results are format 2 frames',
    );
  });
});
