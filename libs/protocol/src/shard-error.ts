// A worker's report that it could not compute a block of shards for a reason that is the job's, not
// the worker's (missing data set, bad job record, unsupported kernel). It travels on the step's results
// stream with the ShardResults, so the coordinator learns at once instead of waiting for a timeout.
import { checkHeader, packPayload, unpackPayload } from './codec.js';
import { ProtocolError } from './errors.js';
import { FRAME_VERSION, isFrame, readFrameHeader } from './frame.js';
import { WORKER_ID_PATTERN } from './keys.js';
import type { ShardResult } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { ShardResultExpect } from './payloads.js';
import { readShardIdentity, shardResultFields } from './payloads.js';
import type { Fields } from './validate.js';
import { expectString } from './validate.js';

export interface ShardError {
  v: number;
  kind: 'shard-error';
  jobId: string;
  step: number;
  level: number;
  index: number;
  workerId: string;
  error: string;
}

export function encodeShardError(e: Omit<ShardError, 'v' | 'kind'>): Buffer {
  return packPayload({
    v: PROTOCOL_VERSION,
    kind: 'shard-error',
    jobId: e.jobId,
    step: e.step,
    level: e.level,
    index: e.index,
    workerId: e.workerId,
    error: e.error.slice(0, 2000),
  });
}

/**
 * Decodes whatever a worker appended to a results stream: a result or an error report, fully
 * checked; null when `expect.covered` says its block is no longer wanted (checked right after the
 * identity, before the gradient is read).
 */
export function decodeShardMessage(
  buf: Uint8Array,
  expect: Extract<ShardResultExpect, { counts: readonly number[] }>,
): ShardResult | ShardError | null {
  const what = 'shard message';
  if (isFrame(buf)) {
    const h = readFrameHeader(buf, what, 'shard-result');
    const id = readShardIdentity(h as unknown as Fields, what, expect);
    if (expect.covered?.(id.level, id.index)) return null;
    return shardResultFields(h, buf, what, expect, id);
  }
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, ['shard-result', 'shard-error']);
  if (obj.kind === 'shard-result') {
    throw new ProtocolError(
      'bad-version',
      `${what}: a msgpack shard result (format version ${PROTOCOL_VERSION}); results are format ${FRAME_VERSION} frames`,
    );
  }
  const id = readShardIdentity(obj, what, expect);
  if (expect.covered?.(id.level, id.index)) return null;
  const { jobId, step, level, index } = id;
  const workerId = expectString(obj, 'workerId', what, { pattern: WORKER_ID_PATTERN });
  const error = expectString(obj, 'error', what, { maxLength: 2000 });
  return { v: PROTOCOL_VERSION, kind: 'shard-error', jobId, step, level, index, workerId, error };
}
