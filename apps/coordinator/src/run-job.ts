import type { Job, Queue } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedgradError } from '@redgrad/errors';
import { layout } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';
import { JobRecordError, decodeCheckpoint, encodeCheckpoint, encodeProgress, validateJobId } from '@redgrad/protocol';
import type { GradientTask, JobProgress, Keys } from '@redgrad/protocol';
import { LocalBackend, TrainingError, modelOf, modelToJson, preparedJob, selectKernels, train } from '@redgrad/train';
import type { Checkpoint, PreparedJob, StepProgress, TrainResult } from '@redgrad/train';
import { QueueBackend, datasetFromWire, downloadDataset, readJobRecord, setJobState } from '@redgrad/cluster';
import type { JobRecord, Logger, WorkerSlots } from '@redgrad/cluster';

export interface RunJobContext {
  redis: Redis;
  /** Per-step traffic (weights, results streams): `redis` itself unless a separate step Redis is set. */
  steps: Redis;
  gradients: Queue<GradientTask>;
  keys: Keys;
  log: Logger;
  coordinatorId: string;
  taskTimeoutMs: number;
  maxAttempts: number;
  stepTtlSeconds: number;
  /** Metrics entries kept per job (a bounded history). */
  historyLimit: number;
  /** 'auto': the coordinator computes one block of each step itself while workers compute the rest. */
  coordinatorCompute: 'auto' | 'off';
  workerSlots: WorkerSlots;
}

/** The user cancelled the job: how the cancel poll stops the loop; never shown as a failure. */
class Cancelled extends RedgradError {
  override name = 'Cancelled';
  constructor(message: string) {
    super('user', 'cancelled', message);
  }
}
/** This coordinator lost the job's lock (a long stall, Redis down): another one resumes it from its checkpoint. */
class LostOwnership extends RedgradError {
  override name = 'LostOwnership';
  constructor(message: string) {
    super('internal', 'lost-ownership', message);
  }
}

/** One job being run here: its id, its logger, and the way it fails. */
interface JobScope {
  ctx: RunJobContext;
  bull: Job<{ jobId: string }>;
  jobId: string;
  log: Logger;
  /** Marks the job failed with `reason` and stops BullMQ from retrying it. */
  fail: (reason: string) => Promise<never>;
}

/** What a job needs to train: its record, prepared data and model, and its kernels. */
interface LoadedJob {
  record: JobRecord;
  job: PreparedJob;
  kernels: Kernels;
  paramCount: number;
}

/**
 * Runs one training job to its end with the queue backend: resumes from its checkpoint when one
 * exists, reports progress, checkpoints, stores the model. Errors that retrying cannot fix fail the
 * job (UnrecoverableError); anything else (Redis connection) lets BullMQ retry it.
 */
export async function runJob(bull: Job<{ jobId: string }>, ctx: RunJobContext, lockLost?: AbortSignal): Promise<void> {
  const scope = claim(bull, ctx);
  if (await cancelledBeforeStart(scope)) return;
  const loaded = await load(scope);
  const resume = await readCheckpoint(scope, loaded.paramCount);
  await markRunning(scope, loaded);
  const trained = await trainOnWorkers(scope, loaded, resume, lockLost);
  if (trained) await complete(scope, loaded, trained.result, trained.backend);
}

/** The job id a jobs-queue entry names, checked; a malformed entry fails for good. */
function claim(bull: Job<{ jobId: string }>, ctx: RunJobContext): JobScope {
  let jobId: string;
  try {
    jobId = validateJobId(bull.data?.jobId);
    if (jobId !== bull.id) throw new Error(`queue entry ${bull.id} names job ${jobId}`);
  } catch (e) {
    ctx.log.error({ queueJob: bull.id, err: (e as Error).message }, 'malformed entry on the jobs queue');
    throw new UnrecoverableError(`malformed jobs-queue entry: ${(e as Error).message}`);
  }
  const log = ctx.log.child({ job: jobId });
  const fail = async (reason: string): Promise<never> => {
    log.error({ err: reason }, 'job failed');
    await setJobState(ctx.redis, ctx.keys, jobId, { status: 'failed', error: reason, finishedAt: Date.now() });
    await cleanupSteps(ctx.steps, ctx.keys, jobId);
    throw new UnrecoverableError(reason);
  };
  return { ctx, bull, jobId, log, fail };
}

async function cancelledBeforeStart({ ctx, jobId, log }: JobScope): Promise<boolean> {
  if (!(await ctx.redis.exists(ctx.keys.cancel(jobId)))) return false;
  await setJobState(ctx.redis, ctx.keys, jobId, { status: 'cancelled', finishedAt: Date.now() });
  log.info('cancelled before it started');
  return true;
}

/** The job record, its data sets and kernels; whatever is missing or invalid fails the job. */
async function load({ ctx, jobId, fail }: JobScope): Promise<LoadedJob> {
  const { redis, keys } = ctx;
  let record: JobRecord;
  try {
    record = await readJobRecord(redis, keys, jobId);
  } catch (e) {
    if (!(e instanceof JobRecordError)) throw e; // Redis trouble: BullMQ retries the job
    return fail(e.message);
  }
  const [trainWire, testWire] = await Promise.all([
    downloadDataset(redis, keys, record.trainHash),
    record.testHash ? downloadDataset(redis, keys, record.testHash) : Promise.resolve(null),
  ]);
  if (!trainWire || (record.testHash && !testWire))
    return fail(
      `data set ${trainWire ? record.testHash : record.trainHash} is missing from Redis (expired?); submit the job again`,
    );
  try {
    const job = preparedJob(
      record.spec,
      datasetFromWire(trainWire, record.featureNames),
      testWire ? datasetFromWire(testWire, record.featureNames) : undefined,
      record.scaling,
    );
    const kernels = selectKernels(record.kernel);
    return { record, job, kernels, paramCount: layout(job.arch).paramCount };
  } catch (e) {
    return fail((e as Error).message);
  }
}

/** The job's checkpoint, when it has a readable one (an unreadable one starts the job over). */
async function readCheckpoint({ ctx, jobId, log }: JobScope, paramCount: number): Promise<Checkpoint | undefined> {
  const ckpt = await ctx.redis.getBuffer(ctx.keys.checkpoint(jobId));
  if (!ckpt) return undefined;
  try {
    const resume = decodeCheckpoint(ckpt, jobId, paramCount);
    log.info({ step: resume.step, epoch: resume.epoch }, 'resuming from checkpoint');
    return resume;
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'checkpoint unreadable: starting the job over');
    return undefined;
  }
}

async function markRunning({ ctx, jobId, log }: JobScope, { job, kernels, paramCount }: LoadedJob): Promise<void> {
  const state = await ctx.redis.hgetall(ctx.keys.jobState(jobId));
  await setJobState(ctx.redis, ctx.keys, jobId, {
    status: 'running',
    coordinator: ctx.coordinatorId,
    ...(state.startedAt ? {} : { startedAt: Date.now() }),
    ...(state.status === 'running' ? { resumes: Number(state.resumes ?? 0) + 1 } : {}),
  });
  log.info(
    {
      kernel: kernels.name,
      train: job.train.n,
      test: job.test?.n ?? 0,
      batchSize: job.batchSize,
      shardSize: job.spec.shardSize,
      shardsPerStep: Math.ceil(job.batchSize / job.spec.shardSize),
      epochs: job.spec.epochs,
      params: paramCount,
    },
    'job starts',
  );
}

/**
 * The training loop with the queue backend, stopped by a cancel flag (polled once a second) or a
 * lost lock. Null when the job was cancelled (its state says so); a lost lock is rethrown so that
 * BullMQ leaves the job to the coordinator that takes it over.
 */
async function trainOnWorkers(
  scope: JobScope,
  loaded: LoadedJob,
  resume: Checkpoint | undefined,
  lockLost?: AbortSignal,
): Promise<{ result: TrainResult; backend: QueueBackend } | null> {
  const { ctx, jobId, log, fail } = scope;
  const { redis, keys } = ctx;
  const { record, job, kernels, paramCount } = loaded;
  const abort = new AbortController();
  lockLost?.addEventListener('abort', () => abort.abort(new LostOwnership('lost the job lock')), { once: true });
  const cancelPoll = setInterval(() => {
    redis.exists(keys.cancel(jobId)).then(
      (n) => n && abort.abort(new Cancelled('cancelled')),
      () => {},
    );
  }, 1000);
  const blocking = ctx.steps.duplicate({ connectionName: `${ctx.coordinatorId}:${jobId}:results` });
  blocking.on('error', (e) => log.warn({ err: e.message }, 'results connection error')); // listeners are not duplicated
  const backend = new QueueBackend({
    redis,
    steps: ctx.steps,
    blocking,
    queue: ctx.gradients,
    keys,
    jobId,
    dataHash: record.trainHash,
    kernel: kernels.name,
    paramCount,
    taskTimeoutMs: ctx.taskTimeoutMs,
    maxAttempts: ctx.maxAttempts,
    stepTtlSeconds: ctx.stepTtlSeconds,
    log,
    signal: abort.signal,
    workerSlots: () => ctx.workerSlots.slots,
    local:
      ctx.coordinatorCompute === 'auto'
        ? new LocalBackend(job.arch, kernels, job.train, job.train.task === 'classification', job.spec.shardSize)
        : undefined,
  });
  // the poll is up to a second old; a short job would plan most of its steps before it caught up
  await ctx.workerSlots.refresh();
  try {
    const result = await train(job, {
      backend,
      kernels,
      resume,
      signal: abort.signal,
      onStep: progressReporter(scope, backend),
      onCheckpoint: (c) => saveCheckpoint(scope, c),
    });
    return { result, backend };
  } catch (e) {
    if (e instanceof Cancelled) {
      log.info('cancelled');
      await setJobState(redis, keys, jobId, { status: 'cancelled', finishedAt: Date.now() });
      await cleanupSteps(ctx.steps, keys, jobId);
      return null;
    }
    if (e instanceof LostOwnership) {
      log.warn('lost the job lock: leaving the job to whichever coordinator takes it over');
      throw e;
    }
    if (e instanceof TrainingError) return fail(e.message);
    throw e; // Redis trouble: BullMQ retries the job, which resumes from its checkpoint
  } finally {
    clearInterval(cancelPoll);
    blocking.disconnect();
  }
}

/** Progress to the job state, its bounded metrics list and BullMQ, at most every 250 ms (and at the end). */
function progressReporter({ ctx, bull, jobId }: JobScope, backend: QueueBackend): (p: StepProgress) => Promise<void> {
  const { redis, keys } = ctx;
  let lastReport = 0;
  return async (p) => {
    const now = Date.now();
    if (now - lastReport < 250 && p.step !== p.steps) return;
    lastReport = now;
    const progress: JobProgress = encodeProgress({
      jobId,
      epoch: p.epoch,
      epochs: p.epochs,
      step: p.step,
      steps: p.steps,
      loss: p.loss,
      accuracy: p.accuracy,
      samplesPerSecond: p.samplesPerSecond,
      workersSeen: backend.workersSeen.size,
      elapsedMs: p.elapsedMs,
      etaMs: p.step > 0 ? ((p.steps - p.step) * p.elapsedMs) / p.step : undefined,
    });
    const text = JSON.stringify(progress);
    await redis
      .multi()
      .hset(keys.jobState(jobId), 'progress', text)
      .rpush(keys.metrics(jobId), text)
      .ltrim(keys.metrics(jobId), -ctx.historyLimit, -1)
      .exec();
    await bull.updateProgress(progress as unknown as object);
  };
}

async function saveCheckpoint({ ctx, jobId, log }: JobScope, c: Checkpoint): Promise<void> {
  await ctx.redis.set(ctx.keys.checkpoint(jobId), encodeCheckpoint(jobId, c));
  log.debug({ step: c.step }, 'checkpoint');
}

/** Stores the model and the summary, marks the job completed, drops its checkpoint and step keys. */
async function complete(
  { ctx, jobId, log }: JobScope,
  { job, kernels }: LoadedJob,
  result: TrainResult,
  backend: QueueBackend,
): Promise<void> {
  const model = modelToJson(modelOf(job, result, kernels.name));
  const summary = {
    trainLoss: result.train.loss,
    trainAccuracy: result.trainEval.accuracy,
    trainR2: result.trainEval.r2,
    testLoss: result.test?.loss,
    testAccuracy: result.test?.accuracy,
    testR2: result.test?.r2,
    testMse: result.test?.mse,
    confusion: result.test?.confusion,
    epochs: result.epochs,
    steps: result.steps,
    samples: result.samples,
    samplesPerSecond: Math.round(result.samplesPerSecond),
    elapsedMs: Math.round(result.elapsedMs),
    workersSeen: backend.workersSeen.size,
    kernel: kernels.name,
    timings: backend.timings,
  };
  await ctx.redis
    .multi()
    .set(ctx.keys.model(jobId), model)
    .hset(ctx.keys.jobState(jobId), { status: 'completed', finishedAt: Date.now(), result: JSON.stringify(summary) })
    .del(ctx.keys.checkpoint(jobId))
    .exec();
  await cleanupSteps(ctx.steps, ctx.keys, jobId);
  log.info(
    {
      steps: result.steps,
      testAccuracy: result.test?.accuracy,
      samplesPerSecond: summary.samplesPerSecond,
      workersSeen: summary.workersSeen,
    },
    'job completed',
  );
}

/** Deletes whatever per-step keys (weights, results streams) a job left, e.g. after a crash between steps: one SCAN pass. */
async function cleanupSteps(redis: Redis, keys: Keys, jobId: string): Promise<void> {
  const base = keys.jobBase(jobId);
  const isStepKey = (k: string) => /^:(w|results):\d+$/.test(k.slice(base.length));
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${base}:*`, 'COUNT', 500);
    cursor = next;
    const steps = found.filter(isStepKey);
    if (steps.length) await redis.unlink(...steps);
  } while (cursor !== '0');
}
