import { hostname } from 'node:os';
import { Queue, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { GRADIENT_QUEUE, JOBS_QUEUE, Keys } from '@redgrad/protocol';
import type { GradientTask } from '@redgrad/protocol';
import { WorkerSlots, connectRedis, envInt, redactUrl } from '@redgrad/cluster';
import type { ServiceOptions } from '@redgrad/cluster';
import { runJob } from './run-job.js';

/** Every setting; the defaults live in one place, coordinatorOptionsFromEnv (documented in README). */
export interface CoordinatorOptions extends ServiceOptions {
  /** Redis for per-step traffic (weights, results); without persistence it costs no disk. */
  stepRedisUrl: string;
  /** Training jobs this coordinator runs at once. */
  concurrency: number;
  /** See README: how long a dead coordinator's job waits before another takes it over. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  taskTimeoutMs: number;
  maxAttempts: number;
  stepTtlSeconds: number;
  historyLimit: number;
  /** 'auto': the coordinator computes one block of each step while workers compute the rest; 'off': never. */
  coordinatorCompute: 'auto' | 'off';
}

export function coordinatorOptionsFromEnv(
  env: NodeJS.ProcessEnv,
  base: Pick<CoordinatorOptions, 'redisUrl' | 'prefix' | 'log'>,
): CoordinatorOptions {
  return {
    ...base,
    id: env.REDGRAD_COORDINATOR_ID || undefined,
    stepRedisUrl: env.REDGRAD_STEP_REDIS_URL || base.redisUrl,
    concurrency: envInt(env, 'REDGRAD_COORDINATOR_CONCURRENCY', 2),
    lockDurationMs: envInt(env, 'REDGRAD_JOB_LOCK_MS', 30_000),
    stalledIntervalMs: envInt(env, 'REDGRAD_JOB_STALLED_INTERVAL_MS', 15_000),
    taskTimeoutMs: envInt(env, 'REDGRAD_TASK_TIMEOUT_MS', 15_000),
    maxAttempts: envInt(env, 'REDGRAD_TASK_MAX_ATTEMPTS', 5),
    stepTtlSeconds: envInt(env, 'REDGRAD_STEP_TTL_S', 600),
    historyLimit: envInt(env, 'REDGRAD_HISTORY_LIMIT', 1000),
    coordinatorCompute: envChoice(env, 'REDGRAD_COORDINATOR_COMPUTE', 'auto', ['auto', 'off'] as const),
  };
}

/** Reads a setting that is one of a few words; a bad value is an error naming the variable. */
function envChoice<T extends string>(env: NodeJS.ProcessEnv, name: string, fallback: T, choices: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw))
    throw new Error(`${name}: expected ${choices.join(' or ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

/** The coordinator service: a BullMQ worker on the jobs queue; each training job is owned by one coordinator. */
export class Coordinator {
  readonly id: string;
  private readonly redis: Redis;
  private readonly steps: Redis;
  private readonly gradients: Queue<GradientTask>;
  private readonly worker: Worker<{ jobId: string }>;
  private readonly workerSlots: WorkerSlots;
  private closing?: Promise<void>;

  constructor(private readonly o: CoordinatorOptions) {
    this.id = o.id ?? `coordinator-${hostname()}-${process.pid}`;
    const keys = new Keys(o.prefix);
    this.redis = connectRedis(o.redisUrl, this.id);
    this.redis.on('error', (e) => o.log.warn({ err: e.message }, 'redis connection error'));
    this.steps = o.stepRedisUrl === o.redisUrl ? this.redis : connectRedis(o.stepRedisUrl, `${this.id}:steps`);
    if (this.steps !== this.redis)
      this.steps.on('error', (e) => o.log.warn({ err: e.message }, 'step redis connection error'));
    this.gradients = new Queue<GradientTask>(GRADIENT_QUEUE, { connection: this.redis, prefix: keys.queuePrefix });
    this.gradients.on('error', (e) => o.log.warn({ err: e.message }, 'gradients queue error'));
    this.workerSlots = new WorkerSlots(this.redis, keys);
    const ctx = {
      redis: this.redis,
      steps: this.steps,
      gradients: this.gradients,
      keys,
      log: o.log,
      coordinatorId: this.id,
      taskTimeoutMs: o.taskTimeoutMs,
      maxAttempts: o.maxAttempts,
      stepTtlSeconds: o.stepTtlSeconds,
      historyLimit: o.historyLimit,
      coordinatorCompute: o.coordinatorCompute,
      workerSlots: this.workerSlots,
    };
    this.worker = new Worker<{ jobId: string }>(
      JOBS_QUEUE,
      (job: Job<{ jobId: string }>, _token?: string, signal?: AbortSignal) => runJob(job, ctx, signal),
      {
        connection: this.redis,
        prefix: keys.queuePrefix,
        concurrency: o.concurrency,
        lockDuration: o.lockDurationMs,
        stalledInterval: o.stalledIntervalMs,
        // a coordinator that dies mid-job makes the job stall; another takes it over from its checkpoint
        maxStalledCount: 1000,
        autorun: false,
      },
    );
    this.worker.on('error', (e) => o.log.warn({ err: e.message }, 'jobs worker error'));
    // BullMQ could not extend a job's lock: stop running it here, since stall detection hands it to
    // another coordinator (two runners would be harmless, being deterministic, but wasteful)
    this.worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.worker.cancelJob(id, 'lost the job lock');
    });
    this.worker.on('failed', (job, e) => o.log.warn({ job: job?.id, err: e.message }, 'job ended with an error'));
  }

  start(): void {
    this.o.log.info(
      {
        id: this.id,
        prefix: this.o.prefix,
        coordinatorCompute: this.o.coordinatorCompute,
        stepRedis: this.steps === this.redis ? 'same' : redactUrl(this.o.stepRedisUrl),
      },
      'coordinator started',
    );
    void this.workerSlots.start();
    void this.worker.run().catch((e) => this.o.log.error({ err: (e as Error).message }, 'jobs worker stopped'));
  }

  /**
   * Stops taking jobs; with `force` it does not wait for running ones, whose locks then lapse so
   * another coordinator resumes them from their checkpoints. Safe to call twice.
   */
  close(force = false): Promise<void> {
    this.closing ??= (async () => {
      this.workerSlots.stop();
      const steps: Array<() => Promise<unknown>> = [
        () => this.worker.close(force),
        () => this.gradients.close(),
        () => this.redis.quit(),
      ];
      if (this.steps !== this.redis) steps.push(() => this.steps.quit());
      for (const step of steps)
        await step().catch((e) => this.o.log.warn({ err: (e as Error).message }, 'error while closing'));
      this.o.log.info('coordinator stopped');
    })();
    return this.closing;
  }
}
