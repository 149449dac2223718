// Weights and shard results: the two binary payloads of every training step.
import { checkHeader, packPayload, readTensor, unpackPayload, wireTensor } from './codec.js';
import { ProtocolError } from './errors.js';
import { JOB_ID_PATTERN, WORKER_ID_PATTERN } from './keys.js';
import type { ShardResult, WeightsPayload } from './messages.js';
import { MAX_BLOCK_LEVEL, PROTOCOL_VERSION } from './messages.js';
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
  | { level: number; index: number; count: number } // one known block and the samples its task carried
  | {
      /** Any block of the step; counts[shard] samples in each shard. */
      counts: readonly number[];
      /**
       * True when the block's result is no longer wanted (its shards are covered): the message is
       * then dropped before any other check, so a duplicate can never fail a step that has its block.
       */
      covered?: (level: number, index: number) => boolean;
    }
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
    level: r.level,
    index: r.index,
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
  const id = readShardIdentity(obj, what, expect);
  return shardResultFields(obj, buf, what, expect, id);
}

/** The identity a results-stream message names, checked against the step the reader waits for. */
export interface BlockIdentity {
  jobId: string;
  step: number;
  level: number;
  index: number;
  /** Samples in the block's shards. */
  expectedCount: number;
}

/**
 * The job, step and block a results-stream message names, checked against the step the reader
 * waits for; returns the block and the sample count its task carried.
 */
export function readShardIdentity(obj: Fields, what: string, expect: ShardResultExpect): BlockIdentity {
  const jobId = expectString(obj, 'jobId', what, { pattern: JOB_ID_PATTERN });
  const step = expectInt(obj, 'step', what);
  const level = expectInt(obj, 'level', what, 0, MAX_BLOCK_LEVEL);
  const index = expectInt(obj, 'index', what);
  expectEqual(what, 'jobId', jobId, expect.jobId);
  expectEqual(what, 'step', step, expect.step);
  if (!('counts' in expect)) {
    expectEqual(what, 'level', level, expect.level);
    expectEqual(what, 'index', index, expect.index);
    return { jobId, step, level, index, expectedCount: expect.count };
  }
  const shards = expect.counts.length;
  const start = index * 2 ** level;
  if (start >= shards || (level > 0 && 2 ** (level - 1) >= shards)) { // past the step, or above its root
    throw new ProtocolError('out-of-range', `${what}: block (level ${level}, index ${index}) but step ${step} has ${shards} shards`);
  }
  let expectedCount = 0;
  for (let s = start; s < Math.min(start + 2 ** level, shards); s++) expectedCount += expect.counts[s];
  return { jobId, step, level, index, expectedCount };
}

/** The checks of decodeShardResult on an already unpacked payload (`buf` is its bytes). */
export function shardResultFields(obj: Fields, buf: Uint8Array, what: string, expect: ShardResultExpect, id: BlockIdentity): ShardResult {
  const { jobId, step, level, index, expectedCount } = id;
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
  return { v: PROTOCOL_VERSION, kind: 'shard-result', jobId, step, level, index, count, lossSum, correct, grad, workerId, computeMs };
}
