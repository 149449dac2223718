import { Packr } from 'msgpackr';
import type { Checkpoint, EpochMetrics } from '@redgrad/train';

// Same msgpackr settings as libs/protocol: Float32Arrays travel as typed-array extensions.
const packr = new Packr({ moreTypes: true, useRecords: false });

/** A coordinator checkpoint in Redis: header, then the three buffers (weights, optimizer state). */
interface CheckpointPayload {
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
}

export function encodeCheckpoint(jobId: string, c: Checkpoint): Buffer {
  const p: CheckpointPayload = {
    v: 1, kind: 'checkpoint', jobId, paramCount: c.params.length, step: c.step, epoch: c.epoch, stepInEpoch: c.stepInEpoch,
    optimizerT: c.optimizer.t, params: c.params, optimizer: c.optimizer.buffers,
    epochLossSum: c.epochLossSum, epochCorrect: c.epochCorrect, epochCount: c.epochCount, history: c.history,
  };
  return packr.pack(p);
}

/** Decodes and checks a checkpoint; a bad one is an Error saying what was wrong (the job then starts over). */
export function decodeCheckpoint(buf: Buffer, jobId: string, paramCount: number): Checkpoint {
  let p: CheckpointPayload;
  try {
    p = packr.unpack(buf) as CheckpointPayload;
  } catch (e) {
    throw new Error(`checkpoint of ${jobId}: not decodable (${(e as Error).message})`);
  }
  if (p?.v !== 1 || p.kind !== 'checkpoint') throw new Error(`checkpoint of ${jobId}: version/kind ${p?.v}/${p?.kind} expected 1/checkpoint`);
  if (p.jobId !== jobId) throw new Error(`checkpoint of ${jobId}: belongs to job ${p.jobId}`);
  const f32 = (a: unknown, what: string) => {
    if (!(a instanceof Float32Array) || a.length !== paramCount) throw new Error(`checkpoint of ${jobId}: ${what} must be ${paramCount} float32 values`);
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`checkpoint of ${jobId}: ${what}[${i}] is not finite`);
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
