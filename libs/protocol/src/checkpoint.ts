// A coordinator's checkpoint (Keys.checkpoint): the position in the run, the three buffers (weights,
// optimizer state) and the metrics so far. The epoch order is derived from (seed, epoch), so the
// position is all a resume needs to replay the same steps.
import { checkHeader, packPayload, unpackPayload } from './codec.js';
import { ProtocolError } from './errors.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { Fields } from './validate.js';
import { describeValue, expectAllFinite, expectFinite, expectInt, expectRecord, expectString } from './validate.js';

/** One epoch's record; structurally libs/train's EpochMetrics. */
export interface EpochRecord {
  epoch: number;
  step: number;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  testR2?: number;
}

/** What a checkpoint holds; structurally libs/train's Checkpoint. */
export interface CheckpointState {
  step: number; // global steps completed
  epoch: number; // 0-based epoch in progress
  stepInEpoch: number;
  params: Float32Array; // [paramCount]
  optimizer: { t: number; buffers: Float32Array[] }; // each [paramCount]
  epochLossSum: number;
  epochCorrect: number;
  epochCount: number;
  history: EpochRecord[];
}

/** Epoch records kept in a checkpoint at most (one per epoch, and a job has at most 1e6 epochs). */
const MAX_HISTORY = 1_000_000;
const OPTIONAL_METRICS = ['trainAccuracy', 'testLoss', 'testAccuracy', 'testR2'] as const;

export function encodeCheckpoint(jobId: string, c: CheckpointState): Buffer {
  return packPayload({
    v: PROTOCOL_VERSION,
    kind: 'checkpoint',
    jobId,
    paramCount: c.params.length,
    step: c.step,
    epoch: c.epoch,
    stepInEpoch: c.stepInEpoch,
    optimizerT: c.optimizer.t,
    params: c.params,
    optimizer: c.optimizer.buffers,
    epochLossSum: c.epochLossSum,
    epochCorrect: c.epochCorrect,
    epochCount: c.epochCount,
    history: c.history,
  });
}

/** Decodes and checks a checkpoint of `jobId` for a model of `paramCount` parameters. */
export function decodeCheckpoint(buf: Uint8Array, jobId: string, paramCount: number): CheckpointState {
  const what = `checkpoint of ${jobId}`;
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, 'checkpoint');
  const owner = expectString(obj, 'jobId', what);
  if (owner !== jobId) throw new ProtocolError('mismatch', `${what}: belongs to job ${owner}`);
  const buffer = (a: unknown, name: string): Float32Array => {
    if (!(a instanceof Float32Array) || a.length !== paramCount)
      throw new ProtocolError('bad-shape', `${what}: ${name} must be ${paramCount} float32 values`);
    expectAllFinite(a, what, name);
    return Float32Array.from(a); // aligned, and not a view into `buf`
  };
  if (!Array.isArray(obj.optimizer))
    throw new ProtocolError('bad-field', `${what}: optimizer must be an array of buffers`);
  if (!Array.isArray(obj.history) || obj.history.length > MAX_HISTORY)
    throw new ProtocolError('bad-field', `${what}: history must be an array of epoch records`);
  return {
    step: expectInt(obj, 'step', what),
    epoch: expectInt(obj, 'epoch', what),
    stepInEpoch: expectInt(obj, 'stepInEpoch', what),
    params: buffer(obj.params, 'params'),
    optimizer: {
      t: expectInt(obj, 'optimizerT', what),
      buffers: obj.optimizer.map((b, i) => buffer(b, `optimizer[${i}]`)),
    },
    epochLossSum: expectFinite(obj, 'epochLossSum', what),
    epochCorrect: expectInt(obj, 'epochCorrect', what),
    epochCount: expectInt(obj, 'epochCount', what),
    history: obj.history.map((h, i) => epochRecord(h, `${what}: history[${i}]`)),
  };
}

function epochRecord(v: unknown, what: string): EpochRecord {
  const h: Fields = expectRecord(v, what);
  const r: EpochRecord = {
    epoch: expectInt(h, 'epoch', what, 1),
    step: expectInt(h, 'step', what),
    trainLoss: expectFinite(h, 'trainLoss', what),
  };
  for (const k of OPTIONAL_METRICS) {
    const m = h[k];
    if (m === undefined) continue;
    // NaN is a legitimate figure here (R² of a constant target), so only the type is checked
    if (typeof m !== 'number')
      throw new ProtocolError('bad-field', `${what}: ${k} must be a number, got ${describeValue(m)}`);
    r[k] = m;
  }
  return r;
}
