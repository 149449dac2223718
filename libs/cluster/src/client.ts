import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { datasetHash } from '@redgrad/data';
import { JOBS_QUEUE, Keys, encodeJobRecord, encodeJobState, validateHeartbeat, validateJobId } from '@redgrad/protocol';
import type { JobState, WorkerHeartbeat } from '@redgrad/protocol';
import { prepareJob, readJobSpec, kernelName } from '@redgrad/train';
import type { PreparedJob } from '@redgrad/train';
import { uploadDataset } from './dataset-redis.js';
import { JobIdError } from './errors.js';
import type { JobRecord } from './job-record.js';
import { readJobState, setJobState } from './state.js';

/** Data sets stay in Redis this long after their last submit (content-addressed, shared by jobs). */
const DATA_TTL_SECONDS = 7 * 24 * 3600;

export interface SubmitResult {
  jobId: string;
  record: JobRecord;
  uploaded: { train: boolean; test: boolean };
  bytes: number;
  /** The model's layers and the resolved batch size: what the payoff estimate needs. */
  arch: PreparedJob['arch'];
  batchSize: number;
}

/** What the CLI talks to: submit, status, list, cancel, export, workers. */
export class ClusterClient {
  readonly keys: Keys;
  private readonly jobs: Queue<{ jobId: string }>;

  constructor(
    readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = new Keys(prefix);
    this.jobs = new Queue<{ jobId: string }>(JOBS_QUEUE, { connection: redis, prefix: this.keys.queuePrefix });
    // BullMQ re-emits the shared connection's errors and, with no listener, prints each with its
    // stack; the connection's owner (the CLI's withClient) hears the same error from `redis`
    this.jobs.on('error', () => {});
  }

  /**
   * Validates the spec and data exactly as `train --local` does, uploads the prepared train and test
   * sets once by content hash, stores the job record and enqueues the job.
   */
  async submit(specPath: string, opts: { id?: string } = {}): Promise<SubmitResult> {
    const spec = await readJobSpec(specPath);
    const job = await prepareJob(spec, dirname(resolve(specPath)));
    const kernel = kernelName(spec.kernel);
    const jobId = validateJobId(
      opts.id ?? `${spec.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40)}-${randomBytes(4).toString('hex')}`,
    );
    const trainHash = datasetHash(job.train);
    const testHash = job.test ? datasetHash(job.test) : undefined;
    const [up, upTest] = await Promise.all([
      uploadDataset(this.redis, this.keys, job.train, trainHash, DATA_TTL_SECONDS),
      job.test && testHash ? uploadDataset(this.redis, this.keys, job.test, testHash, DATA_TTL_SECONDS) : undefined,
    ]);
    const record: JobRecord = {
      v: 1,
      jobId,
      spec,
      kernel,
      trainHash,
      testHash,
      scaling: job.scaling,
      featureNames: job.train.featureNames,
      submittedAt: Date.now(),
    };
    const created = await this.redis.set(this.keys.jobSpec(jobId), encodeJobRecord(record), 'NX');
    if (created !== 'OK') throw new JobIdError('job-exists', `job ${jobId} already exists; choose another --id`);
    await this.redis
      .multi()
      .hset(
        this.keys.jobState(jobId),
        encodeJobState({ status: 'queued', name: spec.name, submittedAt: record.submittedAt }),
      )
      .zadd(this.keys.jobsIndex(), record.submittedAt, jobId)
      .exec();
    // A few attempts cover Redis trouble inside a coordinator; a dead coordinator is covered by stall detection.
    await this.jobs.add(
      'train',
      { jobId },
      {
        jobId,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { count: 500 },
        removeOnFail: { count: 500 },
      },
    );
    return {
      jobId,
      record,
      uploaded: { train: up.uploaded, test: upTest?.uploaded ?? false },
      bytes: up.bytes + (upTest?.bytes ?? 0),
      arch: job.arch,
      batchSize: job.batchSize,
    };
  }

  async status(jobId: string): Promise<JobState | null> {
    return readJobState(this.redis, this.keys, validateJobId(jobId));
  }

  /** Newest first. */
  async list(limit = 50): Promise<JobState[]> {
    const ids = await this.redis.zrevrange(this.keys.jobsIndex(), 0, limit - 1);
    const states = await Promise.all(ids.map((id) => readJobState(this.redis, this.keys, id)));
    return states.filter((s): s is JobState => s !== null);
  }

  /** Asks the owning coordinator to stop (it checks every second); a job still queued is cancelled at once. */
  async cancel(jobId: string): Promise<JobState['status']> {
    const state = await this.status(jobId);
    if (!state) throw new JobIdError('no-such-job', `no job ${jobId}`);
    if (state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled') return state.status;
    await this.redis.set(this.keys.cancel(jobId), '1', 'EX', 7 * 24 * 3600);
    const queued = await this.jobs.getJob(jobId);
    if (queued && (await queued.isWaiting().catch(() => false))) {
      await queued.remove().catch(() => {});
      await setJobState(this.redis, this.keys, jobId, { status: 'cancelled', finishedAt: Date.now() });
      return 'cancelled';
    }
    return state.status;
  }

  async model(jobId: string): Promise<string | null> {
    return this.redis.get(this.keys.model(validateJobId(jobId)));
  }

  async metrics(jobId: string, last = 1000): Promise<unknown[]> {
    const rows = await this.redis.lrange(this.keys.metrics(validateJobId(jobId)), -last, -1);
    return rows.map((r) => JSON.parse(r));
  }

  /** Workers whose heartbeat is fresh (it expires after a few missed beats). */
  async workers(): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.zrevrange(this.keys.workers(), 0, 999);
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    const out: WorkerHeartbeat[] = [];
    for (const r of raw) {
      if (!r) continue;
      try {
        out.push(validateHeartbeat(r)); // it parses the JSON
      } catch {
        // a malformed heartbeat is skipped, not fatal for the listing
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.jobs.close().catch(() => {});
    await this.redis.quit().catch(() => {});
  }
}
