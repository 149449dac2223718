import { describe, expect, it } from 'vitest';
import {
  JobRecordError,
  ProtocolError,
  decodeCheckpoint,
  decodeJobRecord,
  decodeJobState,
  encodeCheckpoint,
  encodeJobRecord,
  encodeJobState,
} from '@redgrad/protocol';
import { parseJobRecord } from '@redgrad/cluster';

describe('checkpoint codec', () => {
  it('round-trips and rejects a checkpoint of the wrong job or size', async () => {
    const c = {
      step: 7,
      epoch: 1,
      stepInEpoch: 2,
      params: Float32Array.from([1, 2, 3]),
      optimizer: { t: 7, buffers: [Float32Array.from([4, 5, 6])] },
      epochLossSum: 1.25,
      epochCorrect: 3,
      epochCount: 16,
      history: [{ epoch: 1, step: 5, trainLoss: 0.5 }],
    };
    const buf = encodeCheckpoint('job-a', c);
    expect(decodeCheckpoint(buf, 'job-a', 3)).toEqual(c);
    expect(() => decodeCheckpoint(buf, 'job-b', 3)).toThrow(/belongs to job job-a/);
    expect(() => decodeCheckpoint(buf, 'job-a', 4)).toThrow(/params must be 4 float32 values/);
    expect(() => decodeCheckpoint(buf.subarray(0, 20), 'job-a', 3)).toThrow(/checkpoint of job-a/);
    expect(() => decodeCheckpoint(buf, 'job-b', 3)).toThrow(ProtocolError);
    const nan = encodeCheckpoint('job-a', { ...c, history: [{ epoch: 1, step: 5, trainLoss: Number.NaN }] });
    expect(() => decodeCheckpoint(nan, 'job-a', 3)).toThrow(/history\[0\]: trainLoss is NaN/);
    const r2 = { ...c, history: [{ epoch: 1, step: 5, trainLoss: 0.5, testR2: Number.NaN }] };
    expect(decodeCheckpoint(encodeCheckpoint('job-a', r2), 'job-a', 3)).toEqual(r2);
  });
});

describe('job record', () => {
  const record = {
    v: 1 as const,
    jobId: 'job-a',
    kernel: 'js',
    trainHash: 'ab'.repeat(32),
    submittedAt: 5,
    spec: { data: { builtin: 'iris' } },
    scaling: { method: 'none', offset: [0, 0, 0, 0], scale: [1, 1, 1, 1] },
  };

  it('checks the envelope in protocol and the spec and scaling in cluster, every fault a JobRecordError', () => {
    const text = encodeJobRecord(record);
    expect(decodeJobRecord(text, 'job-a')).toMatchObject({
      jobId: 'job-a',
      spec: record.spec,
      trainHash: record.trainHash,
    });
    expect(parseJobRecord(text, 'job-a').spec.epochs).toBe(10); // defaults filled in by the spec's validator
    expect(() => decodeJobRecord(null, 'job-a')).toThrow(/no job record in Redis/);
    expect(() => decodeJobRecord(text, 'job-b')).toThrow(/names job "job-a"/);
    expect(() => decodeJobRecord('{', 'job-a')).toThrow(JobRecordError);
    expect(() => decodeJobRecord(encodeJobRecord({ ...record, trainHash: 'a:b' }), 'job-a')).toThrow(
      /no valid data hashes/,
    );
    const badSpec = encodeJobRecord({ ...record, spec: { data: { builtin: 'iris' }, epochs: 0 } });
    expect(() => parseJobRecord(badSpec, 'job-a')).toThrow(JobRecordError);
    expect(() => parseJobRecord(badSpec, 'job-a')).toThrow(/job record spec\.epochs/);
    const badScaling = encodeJobRecord({ ...record, scaling: { method: 'none', offset: [0], scale: [0] } });
    expect(() => parseJobRecord(badScaling, 'job-a')).toThrow(/job record scaling\.scale\[0\]: must not be 0/);
  });
});

describe('job state hash', () => {
  it('writes flat string fields and reads them back, tolerating a field it cannot parse', () => {
    const progress = {
      jobId: 'a',
      epoch: 1,
      epochs: 2,
      step: 3,
      steps: 4,
      loss: 0.5,
      samplesPerSecond: 10,
      workersSeen: 1,
      elapsedMs: 9,
    };
    const fields = encodeJobState({ status: 'running', startedAt: 7, resumes: 1, progress, error: undefined });
    expect(fields).toEqual({ status: 'running', startedAt: '7', resumes: '1', progress: JSON.stringify(progress) });
    expect(decodeJobState('a', fields, true)).toMatchObject({
      jobId: 'a',
      status: 'running',
      startedAt: 7,
      resumes: 1,
      progress,
      cancelRequested: true,
    });
    expect(decodeJobState('a', { status: 'weird', result: '{' }, false)).toMatchObject({
      status: 'unknown',
      result: undefined,
      resumes: 0,
    });
    expect(decodeJobState('a', {}, false)).toBeNull();
  });
});
