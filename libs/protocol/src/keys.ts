// Key layout and queue names. Every per-job key carries the hash tag {<jobId>}
// and every data-set key {<hash>}, so in Redis Cluster a job's keys (and a data
// set's chunks) share one slot and can be used together in one pipeline,
// MULTI or Lua script.
import { ProtocolError } from './errors.js';

export const DEFAULT_PREFIX = 'redgrad';

/** BullMQ queue carrying one task per (job, step, block of shards). */
export const GRADIENT_QUEUE = 'gradients';
/** BullMQ queue carrying submitted training jobs for coordinators. */
export const JOBS_QUEUE = 'jobs';

/** BullMQ custom job ids must not contain ':'; ours also stay short and shell-safe. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Data-set content hash (libs/data datasetHash gives 64 hex digits). */
export const DATA_HASH_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
/** Worker ids appear in keys and logs: no spaces, braces or colons. */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9_.@-]{1,128}$/;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export function validateJobId(jobId: string): string {
  if (typeof jobId !== 'string' || !JOB_ID_PATTERN.test(jobId)) {
    throw new ProtocolError(
      'bad-name',
      `job id ${JSON.stringify(jobId)} must match ${JOB_ID_PATTERN} (no ':' for BullMQ)`,
    );
  }
  return jobId;
}

function validateDataHash(hash: string): string {
  if (typeof hash !== 'string' || !DATA_HASH_PATTERN.test(hash)) {
    throw new ProtocolError('bad-name', `data set hash ${JSON.stringify(hash)} must match ${DATA_HASH_PATTERN}`);
  }
  return hash;
}

function validateWorkerId(workerId: string): string {
  if (typeof workerId !== 'string' || !WORKER_ID_PATTERN.test(workerId)) {
    throw new ProtocolError('bad-name', `worker id ${JSON.stringify(workerId)} must match ${WORKER_ID_PATTERN}`);
  }
  return workerId;
}

function checkStep(step: number, what: string): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new ProtocolError('out-of-range', `${what}: step ${step} must be an integer ≥ 0`);
  }
}

function checkIndex(i: number, name: string, what: string): void {
  if (!Number.isSafeInteger(i) || i < 0) {
    throw new ProtocolError('out-of-range', `${what}: ${name} ${i} must be an integer ≥ 0`);
  }
}

/**
 * Deterministic BullMQ job id of a gradient task: `<jobId>_<step>_<level>_<index>`, the block
 * (level, index) of step `step`, the coordinator's global step counter. Adding a task whose id exists
 * is a no-op in BullMQ, so a re-sent task collapses onto the first. A backup copy (the first got no
 * result in time) is dispatch `attempt` ≥ 1: `…_<index>-r<attempt>`.
 */
export function taskId(jobId: string, step: number, block: { level: number; index: number }, attempt = 0): string {
  validateJobId(jobId);
  checkStep(step, 'task id');
  checkIndex(block.level, 'level', 'task id');
  checkIndex(block.index, 'index', 'task id');
  checkIndex(attempt, 'attempt', 'task id');
  return `${jobId}_${step}_${block.level}_${block.index}${attempt > 0 ? `-r${attempt}` : ''}`;
}

/** Inverse of taskId. Splits from the right, since job ids may contain '_'. */
export function parseTaskId(id: string): {
  jobId: string;
  step: number;
  level: number;
  index: number;
  attempt: number;
} {
  const m = /^(.+)_(\d+)_(\d+)_(\d+)(?:-r(\d+))?$/.exec(id);
  if (!m)
    throw new ProtocolError(
      'bad-name',
      `task id ${JSON.stringify(id)} is not <jobId>_<step>_<level>_<index>[-r<attempt>]`,
    );
  const jobId = validateJobId(m[1]);
  const step = Number(m[2]);
  const level = Number(m[3]);
  const index = Number(m[4]);
  checkStep(step, 'task id');
  checkIndex(level, 'level', 'task id');
  checkIndex(index, 'index', 'task id');
  return { jobId, step, level, index, attempt: m[5] === undefined ? 0 : Number(m[5]) };
}

/** All Redis keys redgrad uses, under one prefix. */
export class Keys {
  readonly prefix: string;
  /**
   * Prefix to pass to BullMQ (`new Queue(name, { prefix })`): `{<prefix>}`, so all
   * of a queue's keys share one Cluster slot, as BullMQ requires for cluster.
   */
  readonly queuePrefix: string;

  constructor(prefix: string = DEFAULT_PREFIX) {
    if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
      throw new ProtocolError(
        'bad-name',
        `key prefix ${JSON.stringify(prefix)} must match ${PREFIX_PATTERN} (no spaces or braces: braces would add a second hash tag)`,
      );
    }
    this.prefix = prefix;
    this.queuePrefix = `{${prefix}}`;
  }

  /** `<prefix>:job:{<jobId>}` — every per-job key starts here. */
  jobBase(jobId: string): string {
    return `${this.prefix}:job:{${validateJobId(jobId)}}`;
  }

  /** Job spec (JSON as submitted, validated by the trainer). */
  jobSpec(jobId: string): string {
    return `${this.jobBase(jobId)}:spec`;
  }

  /** Job state hash: status, step, epoch, timestamps, error. */
  jobState(jobId: string): string {
    return `${this.jobBase(jobId)}:state`;
  }

  /** Weights of `step` (a WeightsPayload); written once per step, with a TTL, deleted after the step. */
  weights(jobId: string, step: number): string {
    checkStep(step, 'weights key');
    return `${this.jobBase(jobId)}:w:${step}`;
  }

  /**
   * Results stream of `step` (results-stream.ts): workers XADD encoded ShardResults, the coordinator
   * XREADs them, so a result arrives in one round trip; results for covered shards are dropped.
   * Deleted after the step.
   */
  results(jobId: string, step: number): string {
    checkStep(step, 'results key');
    return `${this.jobBase(jobId)}:results:${step}`;
  }

  /** Latest checkpoint (weights, optimizer state, position in the run; the epoch order is derived from the seed). */
  checkpoint(jobId: string): string {
    return `${this.jobBase(jobId)}:ckpt`;
  }

  /** Final model file. */
  model(jobId: string): string {
    return `${this.jobBase(jobId)}:model`;
  }

  /** Metrics history: a list of JSON entries, trimmed to a bounded length. */
  metrics(jobId: string): string {
    return `${this.jobBase(jobId)}:metrics`;
  }

  /** Cancellation flag; its presence asks the coordinator to stop the job. */
  cancel(jobId: string): string {
    return `${this.jobBase(jobId)}:cancel`;
  }

  /** Sorted set of job ids by submission time (for `redgrad list`). */
  jobsIndex(): string {
    return `${this.prefix}:jobs`;
  }

  /** `<prefix>:data:{<hash>}` — every key of one data set starts here. */
  dataBase(hash: string): string {
    return `${this.prefix}:data:{${validateDataHash(hash)}}`;
  }

  /** Data-set metadata; written last, so its presence means the set is complete. */
  dataMeta(hash: string): string {
    return `${this.dataBase(hash)}:meta`;
  }

  /** Feature chunk `index` of the data set. */
  dataX(hash: string, index: number): string {
    checkIndex(index, 'chunk index', 'data key');
    return `${this.dataBase(hash)}:x:${index}`;
  }

  /** Target chunk `index` of the data set. */
  dataY(hash: string, index: number): string {
    checkIndex(index, 'chunk index', 'data key');
    return `${this.dataBase(hash)}:y:${index}`;
  }

  /** Worker registry: sorted set of worker ids scored by last heartbeat (ms). */
  workers(): string {
    return `${this.prefix}:workers`;
  }

  /** One worker's latest heartbeat (WorkerHeartbeat JSON), with a TTL a few heartbeats long. */
  worker(workerId: string): string {
    return `${this.prefix}:worker:${validateWorkerId(workerId)}`;
  }
}
