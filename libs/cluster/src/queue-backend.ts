import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ProtocolError, decodeShardMessage, encodeIndices, encodeWeights, makeGradientTask, openStepResults, readStepResults, taskId } from '@redgrad/protocol';
import type { GradientTask, Keys, ShardResult } from '@redgrad/protocol';
import { TrainingError } from '@redgrad/train';
import type { GradientBackend, ShardGradient, StepRequest } from '@redgrad/train';

export interface QueueBackendOptions {
  redis: Redis; // commands
  blocking: Redis; // a dedicated connection for XREAD BLOCK
  /** The gradients queue, built on `redis`: its task adds must reach Redis after the step's writes. */
  queue: Queue<GradientTask>;
  keys: Keys;
  jobId: string;
  dataHash: string;
  kernel: string;
  paramCount: number;
  /** A shard with no result this long after its dispatch gets a backup task (default 15 s). */
  taskTimeoutMs: number;
  /** Dispatches per shard per step before the job fails (timeouts, bad results, error reports). */
  maxAttempts: number;
  /** TTL of per-step keys, so a dead coordinator's steps cannot pile up. */
  stepTtlSeconds: number;
  log: Logger;
  signal?: AbortSignal;
  /**
   * Work overlapped with waiting: the first `localShards` shards of every step are computed here, by
   * this backend (same kernel, so the result is the same bit for bit), while workers compute the rest.
   */
  local?: { backend: GradientBackend; shards: number };
}

/** Where a step's wall time went, summed over steps (the benchmark's breakdown). */
export interface StepTimings {
  steps: number;
  encodeMs: number; // weights encode + result decode
  publishMs: number; // weights SET + task addBulk round trips
  waitMs: number; // blocked waiting for results
  workerComputeMs: number; // sum of the workers' reported compute time
  acceptMs: number; // summing results in shard order
  localComputeMs: number; // shards computed by the coordinator itself (options.local)
}

/**
 * The gradient backend across Redis. Per step: the weights are written once to a versioned key and
 * the step's results stream is opened, one BullMQ task per shard is added under a deterministic id
 * (so a repeated add collapses), and workers append their binary results to the stream, which this
 * reads with XREAD BLOCK. The first valid result per shard wins (exactly-once effect); results are
 * handed to the loop in shard order; the step's keys are deleted afterwards.
 */
export class QueueBackend implements GradientBackend {
  readonly kernel: string;
  readonly workersSeen = new Set<string>();
  readonly timings: StepTimings = { steps: 0, encodeMs: 0, publishMs: 0, waitMs: 0, workerComputeMs: 0, acceptMs: 0, localComputeMs: 0 };
  private readonly shardGradient: ShardGradient = { grad: new Float32Array(0), lossSum: 0, count: 0, correct: 0 };

  constructor(private readonly o: QueueBackendOptions) {
    if (!(o.taskTimeoutMs > 0)) throw new Error(`taskTimeoutMs must be > 0, got ${o.taskTimeoutMs}`);
    if (!(o.maxAttempts >= 1)) throw new Error(`maxAttempts must be ≥ 1, got ${o.maxAttempts}`);
    if (o.local && !(Number.isInteger(o.local.shards) && o.local.shards >= 0)) throw new Error(`local.shards must be an integer ≥ 0, got ${o.local.shards}`);
    if (o.local && o.local.backend.kernel !== o.kernel) throw new Error(`local backend computes with ${o.local.backend.kernel}, the job with ${o.kernel}`);
    this.kernel = o.kernel;
  }

  async computeStep(req: StepRequest, accept: (shard: number, result: ShardGradient) => void): Promise<void> {
    const { redis, blocking, keys, jobId, log } = this.o;
    const { step, shards } = req;
    const weightsKey = keys.weights(jobId, step);
    const resultsKey = keys.results(jobId, step);
    const counts = shards.map((s) => s.length);
    const t = this.timings;

    const nLocal = Math.min(this.o.local?.shards ?? 0, shards.length);
    const remote = shards.flatMap((_, s) => (s >= nLocal ? [s] : []));
    let t0 = performance.now();
    const payload = remote.length ? encodeWeights({ jobId, step, params: req.params }) : null;
    const tasks = shards.map((indices, shard) => shard < nLocal ? null : makeGradientTask({
      jobId, step, shard, weightsKey, dataHash: this.o.dataHash, kernel: this.kernel, paramCount: this.o.paramCount, indices: encodeIndices(indices),
    }));
    let t1 = performance.now();
    t.encodeMs += t1 - t0;
    // Written once per step (a resumed coordinator rewrites the same bytes: training is
    // deterministic), together with opening the results stream; a resumed step's stream keeps the
    // results already there, and reading from '0' picks them up.
    const open = () => {
      const pipe = redis.pipeline();
      if (payload) pipe.set(weightsKey, payload, 'EX', this.o.stepTtlSeconds);
      return openStepResults(pipe, resultsKey, this.o.stepTtlSeconds).exec().then(async (replies) => {
        const failed = replies?.find(([e]) => e);
        if (!failed) return;
        if (!/WRONGTYPE/.test(String(failed[0]))) throw failed[0];
        log.warn({ step, key: resultsKey }, 'results key held another type: replaced');
        await openStepResults(redis.pipeline().del(resultsKey), resultsKey, this.o.stepTtlSeconds).exec();
      });
    };
    const attempts = new Array<number>(shards.length).fill(0);
    const dispatchedAt = new Array<number>(shards.length).fill(0);
    const dispatch = async (which: number[]) => {
      const now = Date.now();
      await this.o.queue.addBulk(which.map((s) => {
        const id = taskId(jobId, step, s, attempts[s]);
        attempts[s]++;
        dispatchedAt[s] = now;
        return { name: 'shard', data: tasks[s]!, opts: { jobId: id, removeOnComplete: true, removeOnFail: { count: 1000 }, attempts: 3, backoff: { type: 'fixed', delay: 200 } } };
      }));
    };
    // The queue shares `redis`, so Redis runs the tasks' add after these writes: no wait between.
    await Promise.all([open(), remote.length ? dispatch(remote) : undefined]);
    t0 = performance.now();
    t.publishMs += t0 - t1;

    // have[s]: shard s has its first valid result; results are handed to the loop in shard order as
    // soon as every earlier shard is in, so summing overlaps with waiting for the rest
    const have = shards.map((_, s) => s < nLocal);
    const pending: Array<ShardResult | undefined> = new Array(shards.length);
    const failures = new Array<number>(shards.length).fill(0);
    if (nLocal > 0) {
      // the first shards, computed here while the workers compute theirs, go to the loop at once
      await this.o.local!.backend.computeStep({ ...req, shards: shards.slice(0, nLocal) }, accept);
      t1 = performance.now();
      t.localComputeMs += t1 - t0;
    }
    let next = nLocal;
    let lastId = '0';
    const sg = this.shardGradient;
    while (next < shards.length) {
      if (this.o.signal?.aborted) throw this.o.signal.reason ?? new Error('cancelled');
      const now = Date.now();
      const late = have.flatMap((h, s) => (!h && now - dispatchedAt[s] >= this.o.taskTimeoutMs ? [s] : []));
      if (late.length) {
        for (const s of late) if (attempts[s] >= this.o.maxAttempts) throw new TrainingError(`step ${step + 1}: shard ${s} got no result after ${attempts[s]} dispatches of ${this.o.taskTimeoutMs} ms each; are any workers running?`);
        log.warn({ step, shards: late, timeoutMs: this.o.taskTimeoutMs }, 'no result in time: dispatching backup tasks');
        await dispatch(late);
      }
      const nextDeadline = Math.min(...have.flatMap((h, s) => (h ? [] : [dispatchedAt[s] + this.o.taskTimeoutMs])));
      const waitMs = Math.max(10, Math.min(500, nextDeadline - Date.now()));
      t1 = performance.now();
      const read = await readStepResults(blocking, resultsKey, lastId, waitMs);
      t0 = performance.now();
      t.waitMs += t0 - t1;
      if (!read) continue;
      lastId = read.lastId;
      if (read.foreign) log.warn({ step, entries: read.foreign }, 'dropped results-stream entries that are not shard messages');
      const again = read.messages.flatMap((buf) => this.take(buf, step, counts, have, pending, failures) ?? []);
      t.encodeMs += performance.now() - t0;
      if (again.length) await dispatch(again);
      t1 = performance.now();
      for (let r = pending[next]; next < shards.length && r; r = pending[++next]) {
        sg.grad = r.grad;
        sg.lossSum = r.lossSum;
        sg.count = r.count;
        sg.correct = r.correct;
        accept(next, sg);
        pending[next] = undefined;
      }
      t.acceptMs += performance.now() - t1;
    }
    // not awaited: the deletes ride ahead of the next step's commands on the same connection
    redis.unlink(weightsKey, resultsKey).catch((e) => log.warn({ step, err: (e as Error).message }, 'could not delete step keys'));
    t.steps++;
  }

  /**
   * Validates one results-stream message and records it: the first valid result of a shard wins.
   * Returns the shard to dispatch again after a worker's error report; fails the job when the
   * report repeats or the gradient is not finite.
   */
  private take(buf: Buffer, step: number, counts: number[], have: boolean[], pending: Array<ShardResult | undefined>, failures: number[]): number | undefined {
    const { jobId, log } = this.o;
    let msg;
    try {
      msg = decodeShardMessage(buf, { jobId, step, length: this.o.paramCount, counts });
    } catch (e) {
      // only a message that fails its checks may be dropped; anything else is a fault of ours
      if (!(e instanceof ProtocolError)) throw e;
      // backprop is deterministic: a worker that returns a well-formed but non-finite gradient
      // would do so again, so the job fails now with the reason instead of retrying
      if (e.code === 'non-finite') throw new TrainingError(`step ${step + 1}: the gradient went non-finite (${e.message}); lower the learning rate or check the data scaling`, 'diverged');
      log.warn({ step, err: e.message, code: e.code }, 'dropped an invalid shard message');
      return undefined;
    }
    const s = msg.shard;
    if (have[s]) return undefined; // a duplicate (backup task, redelivery): the first valid result won
    if (msg.kind === 'shard-error') {
      failures[s]++;
      log.warn({ step, shard: s, worker: msg.workerId, err: msg.error }, 'worker could not compute a shard');
      if (failures[s] >= Math.min(2, this.o.maxAttempts)) throw new TrainingError(`step ${step + 1} shard ${s}: ${msg.error}`);
      return s;
    }
    have[s] = true;
    pending[s] = msg;
    this.workersSeen.add(msg.workerId);
    this.timings.workerComputeMs += msg.computeMs;
    return undefined;
  }

  async close(): Promise<void> {}
}
