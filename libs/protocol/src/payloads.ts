// Weights and shard results: the two binary payloads of every training step, as frames (frame.ts).
import { fromBf16 } from './bf16.js';
import { ProtocolError } from './errors.js';
import type { FrameBuffer, FrameHeader } from './frame.js';
import { FRAME_VERSION, bf16Elements, copyF32Elements, f32Elements, readFrameHeader, writeFrame } from './frame.js';
import { JOB_ID_PATTERN, WORKER_ID_PATTERN } from './keys.js';
import type { ShardResult, WeightsPayload } from './messages.js';
import { MAX_BLOCK_LEVEL } from './messages.js';
import type { Fields } from './validate.js';
import { expectAllFinite, expectEqual, expectFinite, expectInt, expectString } from './validate.js';

export interface WeightsExpect {
  jobId: string;
  step: number;
  length: number; // the model's parameter count
}

/** Encode weights into `out` (reused; the frame is valid until its next encode) or a new Buffer. */
export function encodeWeights(w: { jobId: string; step: number; params: Float32Array }, out?: FrameBuffer): Buffer {
  return writeFrame(
    {
      kind: 'weights',
      step: w.step,
      level: 0,
      index: 0,
      count: 0,
      correct: 0,
      lossSum: 0,
      computeMs: 0,
      jobId: w.jobId,
      workerId: '',
      data: w.params,
    },
    out,
  );
}

function weightsHeader(buf: Uint8Array, expect: WeightsExpect): FrameHeader {
  const what = 'weights';
  const h = readFrameHeader(buf, what, 'weights');
  if (h.dtype !== 'f32') throw new ProtocolError('bad-shape', `${what}: params dtype "${h.dtype}" expected "f32"`);
  const jobId = expectString(h as unknown as Fields, 'jobId', what, { pattern: JOB_ID_PATTERN });
  expectEqual(what, 'jobId', jobId, expect.jobId);
  expectEqual(what, 'step', h.step, expect.step);
  if (h.elements !== expect.length)
    throw new ProtocolError('bad-shape', `${what}: params length ${h.elements} expected ${expect.length}`);
  return h;
}

/**
 * Decode and check weights against the job, step and parameter count the reader expects. `params`
 * is a view of `buf` when its elements are 4-byte aligned (no copy), else an aligned copy.
 */
export function decodeWeights(buf: Uint8Array, expect: WeightsExpect): WeightsPayload {
  const h = weightsHeader(buf, expect);
  const params = f32Elements(buf, h);
  expectAllFinite(params, 'weights', 'params');
  return { v: FRAME_VERSION, kind: 'weights', jobId: h.jobId, step: h.step, params };
}

/**
 * Decode weights straight into `into` (a network's parameter block): one byte copy from any offset,
 * no intermediate array. On a ProtocolError, `into` may hold part of the frame.
 */
export function decodeWeightsInto(buf: Uint8Array, expect: WeightsExpect, into: Float32Array): Float32Array {
  if (into.length !== expect.length)
    throw new RangeError(`weights: target of ${into.length} values, expected ${expect.length}`);
  const h = weightsHeader(buf, expect);
  copyF32Elements(buf, h, into);
  expectAllFinite(into, 'weights', 'params');
  return into;
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
 * Encode a worker's result into `out` (reused; valid until its next encode) or a new Buffer.
 * Non-finite gradients are encoded as they are: the coordinator's decode rejects them with
 * 'non-finite', so a diverging job fails with that reason instead of a worker error.
 */
export function encodeShardResult(r: ShardResultInit, out?: FrameBuffer): Buffer {
  return writeFrame(
    {
      kind: 'shard-result',
      step: r.step,
      level: r.level,
      index: r.index,
      count: r.count,
      correct: r.correct,
      lossSum: r.lossSum,
      computeMs: r.computeMs,
      jobId: r.jobId,
      workerId: r.workerId,
      data: r.grad,
    },
    out,
  );
}

/**
 * Decode and check everything: identity, count, gradient length, finiteness, 0 ≤ correct ≤ count.
 * An f32 `grad` is a view of `buf` when aligned (consume it before `buf` is reused), else a copy.
 */
export function decodeShardResult(buf: Uint8Array, expect: ShardResultExpect): ShardResult {
  const what = 'shard result';
  const h = readFrameHeader(buf, what, 'shard-result');
  const id = readShardIdentity(h as unknown as Fields, what, expect);
  return shardResultFields(h, buf, what, expect, id);
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
  if (start >= shards || (level > 0 && 2 ** (level - 1) >= shards)) {
    // past the step, or above its root
    throw new ProtocolError(
      'out-of-range',
      `${what}: block (level ${level}, index ${index}) but step ${step} has ${shards} shards`,
    );
  }
  let expectedCount = 0;
  for (let s = start; s < Math.min(start + 2 ** level, shards); s++) expectedCount += expect.counts[s];
  return { jobId, step, level, index, expectedCount };
}

/** The checks of decodeShardResult after the identity: counts, loss, gradient, worker. */
export function shardResultFields(
  h: FrameHeader,
  buf: Uint8Array,
  what: string,
  expect: ShardResultExpect,
  id: BlockIdentity,
): ShardResult {
  const { jobId, step, level, index, expectedCount } = id;
  const fields = h as unknown as Fields;
  const count = expectInt(fields, 'count', what, 1);
  if (count !== expectedCount)
    throw new ProtocolError('bad-shape', `${what}: count ${count} expected ${expectedCount}`);
  const lossSum = expectFinite(fields, 'lossSum', what);
  const correct = expectInt(fields, 'correct', what, 0, count);
  if (h.elements !== expect.length)
    throw new ProtocolError('bad-shape', `${what}: grad length ${h.elements} expected ${expect.length}`);
  const grad = h.dtype === 'bf16' ? fromBf16(bf16Elements(buf, h), new Float32Array(h.elements)) : f32Elements(buf, h);
  expectAllFinite(grad, what, 'grad');
  const workerId = expectString(fields, 'workerId', what, { pattern: WORKER_ID_PATTERN });
  const computeMs = expectFinite(fields, 'computeMs', what, 0);
  return {
    v: FRAME_VERSION,
    kind: 'shard-result',
    jobId,
    step,
    level,
    index,
    count,
    lossSum,
    correct,
    grad,
    workerId,
    computeMs,
  };
}
