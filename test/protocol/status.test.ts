import { describe, expect, it } from 'vitest';
import type { JobProgress, WorkerHeartbeat } from '@redgrad/protocol';
import {
  JOB_STATUSES,
  ProtocolError,
  encodeHeartbeat,
  encodeProgress,
  isJobStatus,
  validateHeartbeat,
  validateProgress,
} from '@redgrad/protocol';

describe('worker heartbeat', () => {
  const hb: WorkerHeartbeat = {
    workerId: 'w-1@host-a',
    host: 'host-a',
    pid: 4242,
    kernel: 'js',
    startedAt: 1_700_000_000_000,
    lastSeen: 1_700_000_005_000,
    current: { jobId: 'job-1', step: 9, level: 0, index: 1 },
  };
  it('round-trips as JSON', () => {
    expect(validateHeartbeat(encodeHeartbeat(hb))).toEqual(hb);
    const { current: _c, ...idle } = hb;
    expect(validateHeartbeat(encodeHeartbeat(idle))).toEqual(idle);
  });
  it('rejects bad JSON and bad fields', () => {
    expect(() => validateHeartbeat('{')).toThrow(/worker heartbeat: not valid JSON/);
    expect(() => validateHeartbeat({ ...hb, pid: 'x' })).toThrow('worker heartbeat: pid must be an integer, got "x"');
    expect(() => validateHeartbeat({ ...hb, current: { jobId: 'j', step: -1, shard: 0 } })).toThrow(
      'worker heartbeat: current: step -1 is not ≥ 0',
    );
  });
});

describe('job progress', () => {
  const p: JobProgress = {
    jobId: 'job-1',
    epoch: 2,
    epochs: 10,
    step: 300,
    steps: 1500,
    loss: 0.4321,
    accuracy: 0.87,
    samplesPerSecond: 12_000.5,
    workersSeen: 3,
    elapsedMs: 25_000,
    etaMs: 100_000,
  };
  it('round-trips through JSON as BullMQ progress', () => {
    expect(validateProgress(JSON.parse(JSON.stringify(encodeProgress(p))))).toEqual(p);
    expect(validateProgress(JSON.stringify(p))).toEqual(p);
    const { accuracy: _a, etaMs: _e, ...minimal } = p;
    expect(validateProgress(minimal)).toEqual(minimal);
  });
  it('rejects out-of-range and non-finite values', () => {
    expect(() => validateProgress({ ...p, accuracy: 1.5 })).toThrow('job progress: accuracy 1.5 is not in 0..1');
    expect(() => validateProgress({ ...p, loss: null })).toThrow('job progress: loss must be a number, got null');
    expect(() => encodeProgress({ ...p, loss: NaN })).toThrow(ProtocolError);
  });
});

describe('job status', () => {
  it('knows the five statuses', () => {
    expect(JOB_STATUSES).toEqual(['queued', 'running', 'completed', 'failed', 'cancelled']);
    expect(isJobStatus('running')).toBe(true);
    expect(isJobStatus('paused')).toBe(false);
  });
});
