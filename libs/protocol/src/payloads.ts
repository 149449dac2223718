// Weights and shard results: the two binary payloads of every training step.
import { checkHeader, packPayload, readTensor, unpackPayload, wireTensor } from './codec.js';
import { ProtocolError } from './errors.js';
import { JOB_ID_PATTERN, WORKER_ID_PATTERN } from './keys.js';
import type { ShardResult, WeightsPayload } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { Fields } from './validate.js';
import { expectAllFinite, expectEqual, expectFinite, expectInt, expectRecord, expectString } from './validate.js';
import { fromBf16 } from './bf16.js';

export interface WeightsExpect {
  jobId: string;
  step: number;
  length: number; // the model's parameter count
}

export function encodeWeights(w: { jobId: string; step: number; params: Float32Array }): Buffer {
  return packPayload({
    v: PROTOCOL_VERSION,
    kind: 'weights',
    jobId: w.jobId,
    step: w.step,
    params: wireTensor('f32', w.params),
  });
}

/** Decode and check weights against the job, step and parameter count the reader expects. */
export function decodeWeights(buf: Uint8Array, expect: WeightsExpect): WeightsPayload {
  const what = 'weights';
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, 'weights');
  const jobId = expectString(obj, 'jobId', what, { pattern: JOB_ID_PATTERN });
  const step = expectInt(obj, 'step', what);
  expectEqual(what, 'jobId', jobId, expect.jobId);
  expectEqual(what, 'step', step, expect.step);
  const params = readTensor(obj, 'params', what, 'f32', expect.length, buf);
  expectAllFinite(params, what, 'params');
  return { v: PROTOCOL_VERSION, kind: 'weights', jobId, step, params };
}

export type ShardResultInit = Omit<ShardResult, 'v' | 'kind' | 'grad'> & {
  /** float32 gradient, or its bfloat16 encoding (the job's optional compact gradients). */
  grad: Float32Array | Uint16Array;
};

export type ShardResultExpect = {
  jobId: string;
  step: number;
  length: number; // parameter count
} & (
  | { shard: number; count: number } // one known shard and the samples its task carried
  | { counts: readonly number[] } // any shard of the step; counts[shard] samples each
);

/**
 * Encode a worker's result. Non-finite gradients are encoded as they are: the
 * coordinator's decode rejects them with 'non-finite', so a diverging job fails
 * with that reason instead of a worker error.
 */
export function encodeShardResult(r: ShardResultInit): Buffer {
  return packPayload({
    v: PROTOCOL_VERSION,
    kind: 'shard-result',
    jobId: r.jobId,
    step: r.step,
    shard: r.shard,
    count: r.count,
    lossSum: r.lossSum,
    correct: r.correct,
    grad: r.grad instanceof Uint16Array ? wireTensor('bf16', r.grad) : wireTensor('f32', r.grad),
    workerId: r.workerId,
    computeMs: r.computeMs,
  });
}

/** Decode and check everything: identity, count, gradient length, finiteness, 0 ≤ correct ≤ count. */
export function decodeShardResult(buf: Uint8Array, expect: ShardResultExpect): ShardResult {
  const what = 'shard result';
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, 'shard-result');
  return shardResultFields(obj, buf, what, expect);
}

/**
 * The job, step and shard a results-list message names, checked against the step the reader waits
 * for; returns the shard and the sample count its task carried.
 */
export function readShardIdentity(obj: Fields, what: string, expect: ShardResultExpect): { jobId: string; step: number; shard: number; expectedCount: number } {
  const jobId = expectString(obj, 'jobId', what, { pattern: JOB_ID_PATTERN });
  const step = expectInt(obj, 'step', what);
  const shard = expectInt(obj, 'shard', what);
  expectEqual(what, 'jobId', jobId, expect.jobId);
  expectEqual(what, 'step', step, expect.step);
  if (!('counts' in expect)) {
    expectEqual(what, 'shard', shard, expect.shard);
    return { jobId, step, shard, expectedCount: expect.count };
  }
  if (shard >= expect.counts.length) throw new ProtocolError('out-of-range', `${what}: shard ${shard} but step ${step} has ${expect.counts.length} shards`);
  return { jobId, step, shard, expectedCount: expect.counts[shard] };
}

/** The checks of decodeShardResult on an already unpacked payload (`buf` is its bytes). */
export function shardResultFields(obj: Fields, buf: Uint8Array, what: string, expect: ShardResultExpect): ShardResult {
  const { jobId, step, shard, expectedCount } = readShardIdentity(obj, what, expect);
  const count = expectInt(obj, 'count', what, 1);
  if (count !== expectedCount) throw new ProtocolError('bad-shape', `${what}: count ${count} expected ${expectedCount}`);
  const lossSum = expectFinite(obj, 'lossSum', what);
  const correct = expectInt(obj, 'correct', what, 0, count);
  const gradField = expectRecord(obj.grad, `${what}: grad`);
  const grad = gradField.dtype === 'bf16'
    ? fromBf16(readTensor(obj, 'grad', what, 'bf16', expect.length, buf), new Float32Array(expect.length))
    : readTensor(obj, 'grad', what, 'f32', expect.length, buf);
  expectAllFinite(grad, what, 'grad');
  const workerId = expectString(obj, 'workerId', what, { pattern: WORKER_ID_PATTERN });
  const computeMs = expectFinite(obj, 'computeMs', what, 0);
  return { v: PROTOCOL_VERSION, kind: 'shard-result', jobId, step, shard, count, lossSum, correct, grad, workerId, computeMs };
}
