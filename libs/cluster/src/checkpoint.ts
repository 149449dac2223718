import { checkHeader, expectAllFinite, packPayload, unpackPayload } from '@redgrad/protocol';
import type { Checkpoint, EpochMetrics } from '@redgrad/train';

/** A coordinator checkpoint in Redis: header, then the three buffers (weights, optimizer state). */
type CheckpointPayload = {
  v: 1;
  kind: 'checkpoint';
  jobId: string;
  paramCount: number;
  step: number;
  epoch: number;
  stepInEpoch: number;
  optimizerT: number;
  params: Float32Array;
  optimizer: Float32Array[];
  epochLossSum: number;
  epochCorrect: number;
  epochCount: number;
  history: EpochMetrics[];
};

export function encodeCheckpoint(jobId: string, c: Checkpoint): Buffer {
  const p: CheckpointPayload = {
    v: 1, kind: 'checkpoint', jobId, paramCount: c.params.length, step: c.step, epoch: c.epoch, stepInEpoch: c.stepInEpoch,
    optimizerT: c.optimizer.t, params: c.params, optimizer: c.optimizer.buffers,
    epochLossSum: c.epochLossSum, epochCorrect: c.epochCorrect, epochCount: c.epochCount, history: c.history,
  };
  return packPayload(p);
}

/** Decodes and checks a checkpoint; a bad one is an Error saying what was wrong (the job then starts over). */
export function decodeCheckpoint(buf: Buffer, jobId: string, paramCount: number): Checkpoint {
  const what = `checkpoint of ${jobId}`;
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, 'checkpoint');
  const p = obj as unknown as CheckpointPayload;
  if (p.jobId !== jobId) throw new Error(`checkpoint of ${jobId}: belongs to job ${p.jobId}`);
  const f32 = (a: unknown, what: string) => {
    if (!(a instanceof Float32Array) || a.length !== paramCount) throw new Error(`checkpoint of ${jobId}: ${what} must be ${paramCount} float32 values`);
    expectAllFinite(a, `checkpoint of ${jobId}`, what);
    return Float32Array.from(a); // aligned copy
  };
  for (const k of ['step', 'epoch', 'stepInEpoch', 'optimizerT', 'epochCorrect', 'epochCount'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new Error(`checkpoint of ${jobId}: ${k} must be an integer ≥ 0`);
  }
  if (!Array.isArray(p.optimizer) || !Array.isArray(p.history)) throw new Error(`checkpoint of ${jobId}: malformed optimizer state or history`);
  return {
    step: p.step, epoch: p.epoch, stepInEpoch: p.stepInEpoch,
    params: f32(p.params, 'params'),
    optimizer: { t: p.optimizerT, buffers: p.optimizer.map((b, i) => f32(b, `optimizer[${i}]`)) },
    epochLossSum: p.epochLossSum, epochCorrect: p.epochCorrect, epochCount: p.epochCount, history: p.history,
  };
}
