// The gradient task: BullMQ job data (JSON) telling a worker which block of shards to compute.
import { HOST_LITTLE_ENDIAN } from '@redgrad/errors';
import { ProtocolError } from './errors.js';
import { DATA_HASH_PATTERN, JOB_ID_PATTERN } from './keys.js';
import type { GradientTask } from './messages.js';
import { MAX_BLOCK_LEVEL, PROTOCOL_VERSION } from './messages.js';
import { describeValue, expectEqual, expectInt, expectRecord, expectString } from './validate.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Upper bound on indices per task (a block is a slice of one mini-batch). */
export const MAX_TASK_INDICES = 1 << 20;

/** base64 of the indices as little-endian uint32 — 4 bytes per index inside JSON job data. */
export function encodeIndices(indices: Uint32Array): string {
  if (HOST_LITTLE_ENDIAN) return Buffer.from(indices.buffer, indices.byteOffset, indices.byteLength).toString('base64');
  const bytes = Buffer.alloc(indices.length * 4);
  for (let i = 0; i < indices.length; i++) bytes.writeUInt32LE(indices[i], 4 * i);
  return bytes.toString('base64');
}

/** Decode base64 indices; each must be < maxIndex (the data set's row count). */
export function decodeIndices(b64: string, maxIndex: number): Uint32Array {
  const what = 'gradient task: indices';
  if (typeof b64 !== 'string')
    throw new ProtocolError('bad-field', `${what}: expected a base64 string, got ${describeValue(b64)}`);
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) {
    throw new ProtocolError(
      'bad-shape',
      `${what}: not canonical base64 (${b64.length} characters, expected a multiple of 4 from [A-Za-z0-9+/=])`,
    );
  }
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) {
    throw new ProtocolError('bad-shape', `${what}: ${bytes.length} bytes is not a multiple of 4 (uint32 indices)`);
  }
  const n = bytes.length / 4;
  if (n === 0) throw new ProtocolError('bad-shape', `${what}: no indices (a block holds at least one sample)`);
  if (n > MAX_TASK_INDICES)
    throw new ProtocolError('out-of-range', `${what}: ${n} indices, at most ${MAX_TASK_INDICES}`);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const idx = bytes.readUInt32LE(4 * i);
    if (idx >= maxIndex) {
      throw new ProtocolError(
        'out-of-range',
        `${what}: index ${idx} at position ${i} is out of range, expected < ${maxIndex}`,
      );
    }
    out[i] = idx;
  }
  return out;
}

export type GradientTaskInit = Omit<GradientTask, 'v'>;

export function makeGradientTask(init: GradientTaskInit): GradientTask {
  return validateGradientTask({ v: PROTOCOL_VERSION, ...init });
}

/**
 * Check BullMQ job data before a worker touches Redis for it. The indices are
 * checked for form here; their range needs the data set (decodeIndices(task.indices, meta.n)).
 */
export function validateGradientTask(data: unknown): GradientTask {
  const what = 'gradient task';
  const obj = expectRecord(data, what);
  if (obj.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'bad-version',
      `${what}: format version ${describeValue(obj.v)} expected ${PROTOCOL_VERSION}`,
    );
  }
  const jobId = expectString(obj, 'jobId', what, { pattern: JOB_ID_PATTERN });
  const step = expectInt(obj, 'step', what);
  const level = expectInt(obj, 'level', what, 0, MAX_BLOCK_LEVEL);
  const index = expectInt(obj, 'index', what);
  const weightsKey = expectString(obj, 'weightsKey', what, { maxLength: 512 });
  // The weights must belong to this job and step: …:job:{<jobId>}:w:<step>.
  if (!weightsKey.endsWith(`:job:{${jobId}}:w:${step}`)) {
    throw new ProtocolError(
      'mismatch',
      `${what}: weightsKey "${weightsKey}" is not the weights of job ${jobId} step ${step}`,
    );
  }
  const dataHash = expectString(obj, 'dataHash', what, { pattern: DATA_HASH_PATTERN });
  const kernel = expectString(obj, 'kernel', what, { pattern: /^[A-Za-z0-9_.-]{1,32}$/ });
  const paramCount = expectInt(obj, 'paramCount', what, 1, 1 << 30);
  const indices = expectString(obj, 'indices', what, { maxLength: Math.ceil((MAX_TASK_INDICES * 4) / 3) + 4 });
  if (indices.length % 4 !== 0 || !BASE64.test(indices)) {
    throw new ProtocolError('bad-shape', `${what}: indices is not canonical base64 (${indices.length} characters)`);
  }
  return { v: PROTOCOL_VERSION, jobId, step, level, index, weightsKey, dataHash, kernel, paramCount, indices };
}

/** Ensure a task's identity is the one its BullMQ job id names (see taskId). */
export function checkTaskIdentity(
  task: GradientTask,
  id: { jobId: string; step: number; level: number; index: number },
): void {
  expectEqual('gradient task', 'jobId', task.jobId, id.jobId);
  expectEqual('gradient task', 'step', task.step, id.step);
  expectEqual('gradient task', 'level', task.level, id.level);
  expectEqual('gradient task', 'index', task.index, id.index);
}
