import type { Job, Queue } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { layout, modelToJson } from '@redgrad/nn';
import { downloadDataset, encodeProgress, validateJobId } from '@redgrad/protocol';
import type { GradientTask, JobProgress, Keys } from '@redgrad/protocol';
import { LocalBackend, TrainingError, modelOf, preparedJob, selectKernels, train } from '@redgrad/train';
import type { Checkpoint, StepProgress, TrainResult } from '@redgrad/train';
import { JobRecordError, QueueBackend, datasetFromWire, decodeCheckpoint, encodeCheckpoint, readJobRecord, setJobState } from '@redgrad/cluster';
import type { Logger, WorkerSlots } from '@redgrad/cluster';

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

class Cancelled extends Error {}
/** This coordinator lost the job's lock (a long stall, Redis down): another one resumes it from its checkpoint. */
class LostOwnership extends Error {}

/**
 * Runs one training job to its end with the queue backend: resumes from its checkpoint when one
 * exists, reports progress, checkpoints, stores the model. Errors that retrying cannot fix fail the
 * job (UnrecoverableError); anything else (Redis connection) lets BullMQ retry it.
 */
export async function runJob(bull: Job<{ jobId: string }>, ctx: RunJobContext, lockLost?: AbortSignal): Promise<void> {
  const { redis, keys } = ctx;
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
    await setJobState(redis, keys, jobId, { status: 'failed', error: reason, finishedAt: Date.now() });
    await cleanupSteps(ctx.steps, keys, jobId);
    throw new UnrecoverableError(reason);
  };

  if (await redis.exists(keys.cancel(jobId))) {
    await setJobState(redis, keys, jobId, { status: 'cancelled', finishedAt: Date.now() });
    log.info('cancelled before it started');
    return;
  }
  let record;
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
  if (!trainWire || (record.testHash && !testWire)) return fail(`data set ${trainWire ? record.testHash : record.trainHash} is missing from Redis (expired?); submit the job again`);
  let job;
  let kernels;
  try {
    job = preparedJob(record.spec, datasetFromWire(trainWire, record.featureNames), testWire ? datasetFromWire(testWire, record.featureNames) : undefined, record.scaling);
    kernels = selectKernels(record.kernel);
  } catch (e) {
    return fail((e as Error).message);
  }
  const { paramCount } = layout(job.arch);

  let resume: Checkpoint | undefined;
  const ckpt = await redis.getBuffer(keys.checkpoint(jobId));
  if (ckpt) {
    try {
      resume = decodeCheckpoint(ckpt, jobId, paramCount);
      log.info({ step: resume.step, epoch: resume.epoch }, 'resuming from checkpoint');
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'checkpoint unreadable: starting the job over');
    }
  }
  const state = await redis.hgetall(keys.jobState(jobId));
  await setJobState(redis, keys, jobId, {
    status: 'running', coordinator: ctx.coordinatorId, ...(state.startedAt ? {} : { startedAt: Date.now() }),
    ...(state.status === 'running' ? { resumes: Number(state.resumes ?? 0) + 1 } : {}),
  });
  log.info({
    kernel: kernels.name, train: job.train.n, test: job.test?.n ?? 0, batchSize: job.batchSize, shardSize: job.spec.shardSize,
    shardsPerStep: Math.ceil(job.batchSize / job.spec.shardSize), epochs: job.spec.epochs, params: paramCount,
  }, 'job starts');

  const abort = new AbortController();
  lockLost?.addEventListener('abort', () => abort.abort(new LostOwnership('lost the job lock')), { once: true });
  const cancelPoll = setInterval(() => {
    redis.exists(keys.cancel(jobId)).then((n) => n && abort.abort(new Cancelled('cancelled')), () => {});
  }, 1000);
  const blocking = ctx.steps.duplicate({ connectionName: `${ctx.coordinatorId}:${jobId}:results` });
  blocking.on('error', (e) => log.warn({ err: e.message }, 'results connection error')); // listeners are not duplicated
  const backend = new QueueBackend({
    redis, steps: ctx.steps, blocking, queue: ctx.gradients, keys, jobId, dataHash: record.trainHash, kernel: kernels.name, paramCount,
    taskTimeoutMs: ctx.taskTimeoutMs, maxAttempts: ctx.maxAttempts, stepTtlSeconds: ctx.stepTtlSeconds, log, signal: abort.signal,
    workerSlots: () => ctx.workerSlots.slots,
    local: ctx.coordinatorCompute === 'auto' ? new LocalBackend(job.arch, kernels, job.train, job.train.task === 'classification', job.spec.shardSize) : undefined,
  });
  let lastReport = 0;
  const report = async (p: StepProgress) => {
    const now = Date.now();
    if (now - lastReport < 250 && p.step !== p.steps) return;
    lastReport = now;
    const progress: JobProgress = encodeProgress({
      jobId, epoch: p.epoch, epochs: p.epochs, step: p.step, steps: p.steps, loss: p.loss, accuracy: p.accuracy,
      samplesPerSecond: p.samplesPerSecond, workersSeen: backend.workersSeen.size, elapsedMs: p.elapsedMs,
      etaMs: p.step > 0 ? ((p.steps - p.step) * p.elapsedMs) / p.step : undefined,
    });
    const text = JSON.stringify(progress);
    await redis.multi()
      .hset(keys.jobState(jobId), 'progress', text)
      .rpush(keys.metrics(jobId), text)
      .ltrim(keys.metrics(jobId), -ctx.historyLimit, -1)
      .exec();
    await bull.updateProgress(progress as unknown as object);
  };
  const saveCheckpoint = async (c: Checkpoint) => {
    await redis.set(keys.checkpoint(jobId), encodeCheckpoint(jobId, c));
    log.debug({ step: c.step }, 'checkpoint');
  };

  let result: TrainResult;
  try {
    result = await train(job, { backend, kernels, resume, onStep: report, onCheckpoint: saveCheckpoint, signal: abort.signal });
  } catch (e) {
    if (e instanceof Cancelled) {
      log.info('cancelled');
      await setJobState(redis, keys, jobId, { status: 'cancelled', finishedAt: Date.now() });
      await cleanupSteps(ctx.steps, keys, jobId);
      return;
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

  const model = modelToJson(modelOf(job, result, kernels.name));
  const summary = {
    trainLoss: result.train.loss, trainAccuracy: result.trainEval.accuracy, trainR2: result.trainEval.r2,
    testLoss: result.test?.loss, testAccuracy: result.test?.accuracy, testR2: result.test?.r2, testMse: result.test?.mse,
    confusion: result.test?.confusion, epochs: result.epochs, steps: result.steps, samples: result.samples,
    samplesPerSecond: Math.round(result.samplesPerSecond), elapsedMs: Math.round(result.elapsedMs),
    workersSeen: backend.workersSeen.size, kernel: kernels.name, timings: backend.timings,
  };
  await redis.multi()
    .set(keys.model(jobId), model)
    .hset(keys.jobState(jobId), { status: 'completed', finishedAt: Date.now(), result: JSON.stringify(summary) })
    .del(keys.checkpoint(jobId))
    .exec();
  await cleanupSteps(ctx.steps, keys, jobId);
  log.info({ steps: result.steps, testAccuracy: result.test?.accuracy, samplesPerSecond: summary.samplesPerSecond, workersSeen: summary.workersSeen }, 'job completed');
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
