import { hostname } from 'node:os';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedgradError } from '@redgrad/errors';
import {
  FrameBuffer,
  GRADIENT_QUEUE,
  JobRecordError,
  Keys,
  ProtocolError,
  decodeIndices,
  encodeHeartbeat,
  encodeShardError,
  encodeShardResult,
  checkTaskIdentity,
  parseTaskId,
  pushStepResult,
  toBf16WithFeedback,
  validateGradientTask,
} from '@redgrad/protocol';
import type { GradientTask, WorkerHeartbeat } from '@redgrad/protocol';
import { connectRedis, envInt } from '@redgrad/cluster';
import type { Logger, ServiceOptions } from '@redgrad/cluster';
import { kernelName } from '@redgrad/train';
import type { ShardGradient } from '@redgrad/train';
import type { Dataset } from '@redgrad/data';
import { DatasetCache, JobCache } from './caches.js';
import type { JobContext } from './caches.js';

/** Every setting; the defaults live in one place, workerOptionsFromEnv (documented in README). */
export interface GradientWorkerOptions extends ServiceOptions {
  /** Redis for per-step traffic (weights, results); the coordinator's REDGRAD_STEP_REDIS_URL. */
  stepRedisUrl: string;
  /** Tasks computed at once (computing is CPU-bound: scale with processes). */
  concurrency: number;
  /** A task whose worker died comes back after at most lockDuration + stalledInterval. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  dataCacheBytes: number;
  heartbeatMs: number;
}

export function workerOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  base: Pick<GradientWorkerOptions, 'redisUrl' | 'prefix' | 'log'>,
): GradientWorkerOptions {
  return {
    ...base,
    id: env.REDGRAD_WORKER_ID || undefined,
    stepRedisUrl: env.REDGRAD_STEP_REDIS_URL || base.redisUrl,
    concurrency: envInt(env, 'REDGRAD_WORKER_CONCURRENCY', 1),
    lockDurationMs: envInt(env, 'REDGRAD_TASK_LOCK_MS', 10_000),
    stalledIntervalMs: envInt(env, 'REDGRAD_TASK_STALLED_INTERVAL_MS', 5_000),
    dataCacheBytes: envInt(env, 'REDGRAD_DATA_CACHE_MB', 2048) * 1024 * 1024,
    heartbeatMs: envInt(env, 'REDGRAD_HEARTBEAT_MS', 2000),
  };
}

/**
 * A block's shards (the job's shardSize each, the last one possibly shorter) summed in the step's
 * pairwise tree: the same bits as the loop's tree gives for those shards, whoever computes them.
 */
function blockSum(ctx: JobContext, data: Dataset, indices: Uint32Array, shardSize: number): ShardGradient {
  const shards = Math.ceil(indices.length / shardSize);
  ctx.reducer.reset(shards);
  const leaf = ctx.leaf;
  for (let s = 0; s < shards; s++) {
    const stats = ctx.net.shardGradient(
      data,
      indices.subarray(s * shardSize, Math.min((s + 1) * shardSize, indices.length)),
      ctx.classification,
    );
    leaf.grad = ctx.net.grad;
    leaf.lossSum = stats.lossSum;
    leaf.count = stats.count;
    leaf.correct = stats.correct;
    ctx.reducer.add({ level: 0, index: s }, leaf);
  }
  return ctx.reducer.result();
}

/** Problems of the task or its job, not of this worker: retrying cannot help. */
class JobFault extends RedgradError {
  override name = 'JobFault';
  constructor(message: string) {
    super('internal', 'job-fault', message);
  }
}

/** The gradient worker service: computes the gradient sums of blocks of shards for whichever job a task names. */
export class GradientWorker {
  readonly id: string;
  private readonly keys: Keys;
  private readonly redis: Redis;
  private readonly steps: Redis;
  private readonly worker: Worker<GradientTask>;
  private readonly data: DatasetCache;
  private readonly jobs = new JobCache();
  /** Result frame buffers, one per task in flight, reused across steps (a result is about a megabyte). */
  private readonly frames: FrameBuffer[] = [];
  private readonly startedAt = Date.now();
  private current: WorkerHeartbeat['current'];
  private heartbeat?: NodeJS.Timeout;
  private closing?: Promise<void>;
  tasksDone = 0;

  constructor(private readonly o: GradientWorkerOptions) {
    this.id = o.id ?? `worker-${hostname()}-${process.pid}`;
    this.keys = new Keys(o.prefix);
    this.data = new DatasetCache(o.dataCacheBytes);
    this.redis = connectRedis(o.redisUrl, this.id);
    this.redis.on('error', (e) => o.log.warn({ err: e.message }, 'redis connection error'));
    this.steps = o.stepRedisUrl === o.redisUrl ? this.redis : connectRedis(o.stepRedisUrl, `${this.id}:steps`);
    if (this.steps !== this.redis)
      this.steps.on('error', (e) => o.log.warn({ err: e.message }, 'step redis connection error'));
    this.worker = new Worker<GradientTask>(GRADIENT_QUEUE, (job) => this.process(job), {
      connection: this.redis,
      prefix: this.keys.queuePrefix,
      concurrency: o.concurrency,
      lockDuration: o.lockDurationMs,
      stalledInterval: o.stalledIntervalMs,
      autorun: false,
    });
    this.worker.on('error', (e) => o.log.warn({ err: e.message }, 'gradients worker error'));
    this.worker.on('failed', (job, e) => o.log.warn({ task: job?.id, err: e.message }, 'task failed'));
  }

  start(): void {
    this.o.log.info({ id: this.id, prefix: this.o.prefix, concurrency: this.o.concurrency }, 'worker started');
    void this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.o.heartbeatMs);
    void this.worker.run().catch((e) => this.o.log.error({ err: (e as Error).message }, 'gradients worker stopped'));
  }

  private async process(job: Job<GradientTask>): Promise<{ pushed: boolean }> {
    let task: GradientTask;
    try {
      task = validateGradientTask(job.data);
      checkTaskIdentity(task, parseTaskId(job.id ?? ''));
      if (task.weightsKey !== this.keys.weights(task.jobId, task.step))
        throw new ProtocolError(
          'mismatch',
          `task weightsKey ${task.weightsKey} is not ${this.keys.weights(task.jobId, task.step)}`,
        );
    } catch (e) {
      this.o.log.error({ task: job.id, err: (e as Error).message }, 'malformed gradient task: dropped');
      throw new UnrecoverableError((e as Error).message);
    }
    const log = this.o.log.child({ job: task.jobId, step: task.step, block: `${task.level}_${task.index}` });
    const resultsKey = this.keys.results(task.jobId, task.step);
    try {
      return await this.compute(task, resultsKey, log);
    } catch (e) {
      if (!(e instanceof JobFault || e instanceof ProtocolError || e instanceof JobRecordError)) throw e; // connection trouble: BullMQ retries
      log.error({ err: e.message }, 'cannot compute this shard: reporting to the coordinator');
      await pushStepResult(
        this.steps,
        resultsKey,
        encodeShardError({
          jobId: task.jobId,
          step: task.step,
          level: task.level,
          index: task.index,
          workerId: this.id,
          error: e.message,
        }),
      );
      throw new UnrecoverableError(e.message);
    } finally {
      this.current = undefined;
    }
  }

  private async compute(task: GradientTask, resultsKey: string, log: Logger): Promise<{ pushed: boolean }> {
    const data = await this.data.get(this.redis, this.keys, task.dataHash);
    if (!data) throw new JobFault(`data set ${task.dataHash} is not in Redis (expired or never uploaded)`);
    const ctx = await this.jobs.get(this.redis, this.keys, task.jobId, data, task.kernel);
    if (ctx.net.paramCount !== task.paramCount)
      throw new JobFault(`task says ${task.paramCount} parameters, the job's model has ${ctx.net.paramCount}`);
    const indices = decodeIndices(task.indices, data.n);
    const shardSize = ctx.net.maxRows;
    if (indices.length > 2 ** task.level * shardSize)
      throw new JobFault(
        `block (level ${task.level}) of ${indices.length} samples; it holds at most ${2 ** task.level} shards of ${shardSize}`,
      );
    this.current = { jobId: task.jobId, step: task.step, level: task.level, index: task.index };
    const weights = await this.jobs.weightsFor(this.steps, ctx, task.weightsKey);
    if (!weights) {
      // the step ended (a duplicate or backup task), or the step Redis lost its keys: the
      // coordinator then publishes them again and dispatches the block again
      log.debug('no weights for this step: skipping the task');
      return { pushed: false };
    }
    // No await from here to the gradient: with concurrency > 1, another task of this job may have
    // put other weights into the network while this one waited.
    this.jobs.loadWeights(ctx, task.jobId, task.step, task.weightsKey, weights);
    const t0 = performance.now();
    const sum = blockSum(ctx, data, indices, shardSize);
    const computeMs = performance.now() - t0;
    let grad: Float32Array | Uint16Array = sum.grad;
    if (ctx.record.spec.gradientEncoding === 'bf16') {
      ctx.residual ??= new Float32Array(ctx.net.paramCount);
      ctx.bf16 ??= new Uint16Array(ctx.net.paramCount);
      grad = toBf16WithFeedback(sum.grad, ctx.residual, ctx.bf16);
    }
    const frames = this.frames.pop() ?? new FrameBuffer();
    let pushed: boolean;
    try {
      const payload = encodeShardResult(
        {
          jobId: task.jobId,
          step: task.step,
          level: task.level,
          index: task.index,
          count: sum.count,
          lossSum: sum.lossSum,
          correct: sum.correct,
          grad,
          workerId: this.id,
          computeMs,
        },
        frames,
      );
      pushed = await pushStepResult(this.steps, resultsKey, payload);
    } finally {
      // back for reuse only once Redis has the bytes (a command queued while reconnecting holds them)
      this.frames.push(frames);
    }
    this.tasksDone++;
    log.debug({ computeMs, pushed }, pushed ? 'shard done' : 'shard done after its step ended: result dropped');
    return { pushed };
  }

  private async beat(): Promise<void> {
    const now = Date.now();
    const hb: WorkerHeartbeat = {
      workerId: this.id,
      host: hostname(),
      pid: process.pid,
      kernel: kernelName('auto'),
      startedAt: this.startedAt,
      lastSeen: now,
      concurrency: this.o.concurrency,
      current: this.current,
    };
    const ttl = Math.ceil((this.o.heartbeatMs * 5) / 1000);
    await this.redis
      .multi()
      .set(this.keys.worker(this.id), encodeHeartbeat(hb), 'EX', ttl)
      .zadd(this.keys.workers(), now, this.id)
      .zremrangebyscore(this.keys.workers(), 0, now - 24 * 3600_000)
      .exec()
      .catch((e) => this.o.log.warn({ err: (e as Error).message }, 'heartbeat failed'));
  }

  /** Finishes the task in hand (or hands it back when forced), then disconnects. Safe to call twice. */
  close(force = false): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      await this.worker
        .close(force)
        .catch((e) => this.o.log.warn({ err: (e as Error).message }, 'error closing the worker'));
      await this.redis
        .multi()
        .del(this.keys.worker(this.id))
        .zrem(this.keys.workers(), this.id)
        .exec()
        .catch(() => {});
      await this.redis.quit().catch(() => {});
      if (this.steps !== this.redis) await this.steps.quit().catch(() => {});
      this.o.log.info({ tasksDone: this.tasksDone }, 'worker stopped');
    })();
    return this.closing;
  }
}
