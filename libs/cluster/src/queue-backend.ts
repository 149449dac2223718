import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  FrameBuffer,
  ProtocolError,
  decodeShardMessage,
  encodeIndices,
  encodeWeights,
  makeGradientTask,
  openStepResults,
  readStepResults,
  taskId,
} from '@redgrad/protocol';
import type { GradientTask, Keys, ShardError, ShardResult } from '@redgrad/protocol';
import { TrainingError, blockRange } from '@redgrad/train';
import type { Block, GradientBackend, LocalBackend, ShardGradient, StepRequest } from '@redgrad/train';
import { Coverage, children, planStep, within } from './step-plan.js';

export interface QueueBackendOptions {
  redis: Redis; // commands on the durable Redis (the gradients queue lives there)
  /** Per-step traffic (weights, results streams): a Redis without persistence, or by default `redis`. */
  steps?: Redis;
  blocking: Redis; // a dedicated connection to the step Redis for XREAD BLOCK
  /** The gradients queue, built on `redis`: its task adds must reach workers after the step's writes. */
  queue: Queue<GradientTask>;
  keys: Keys;
  jobId: string;
  dataHash: string;
  kernel: string;
  paramCount: number;
  /** A block with no result this long after its dispatch gets backup tasks (default 15 s). */
  taskTimeoutMs: number;
  /** Dispatches covering a shard per step before the job fails (timeouts, error reports). */
  maxAttempts: number;
  /** TTL of per-step keys, so a dead coordinator's steps cannot pile up. */
  stepTtlSeconds: number;
  log: Logger;
  signal?: AbortSignal;
  /** Compute slots of the live workers (read once per step; the caller keeps it cheap). */
  workerSlots: () => number;
  /**
   * Work overlapped with waiting: a block of each step is computed here by this backend (same
   * kernel, so the same bits) while workers compute the rest, when that shortens the step
   * (planStep).
   */
  local?: LocalBackend;
}

/** Where a step's wall time went, summed over steps (the benchmark's breakdown). */
export interface StepTimings {
  steps: number;
  tasks: number; // blocks dispatched, backups included
  encodeMs: number; // weights and task encode + result decode
  publishMs: number; // weights SET + task addBulk round trips, overlapped
  writeKeysMs: number; // of which: the weights SET and results-stream open, until acknowledged
  addTasksMs: number; // of which: the tasks' addBulk, until acknowledged
  waitMs: number; // blocked waiting for results
  workerComputeMs: number; // sum of the workers' reported compute time
  acceptMs: number; // adding block results into the step's tree
  localComputeMs: number; // the block computed by the coordinator itself (options.local)
}

/** One step in flight: what is wanted, what has arrived, and the tasks out for it. */
interface StepRun {
  req: StepRequest;
  weightsKey: string;
  resultsKey: string;
  counts: number[]; // samples per shard
  coverage: Coverage;
  /** Blocks whose results are awaited, disjoint, with their last dispatch time (ms). */
  wanted: Map<string, { block: Block; dispatchedAt: number }>;
  own: Block | null; // the block the coordinator computes
  dispatches: Map<string, number>; // per block: tasks added so far (the task id's attempt)
  shardDispatches: Int32Array; // per shard: dispatches that covered it
  errorReports: Map<string, number>; // per block
  lastId: string; // results stream position
  weights: Buffer | null; // the encoded weights, kept to re-publish them if the step Redis loses them
  accept: (block: Block, result: ShardGradient) => void;
}

const key = (b: Block) => `${b.level}_${b.index}`;

/**
 * The gradient backend across Redis. A step is a list of named steps:
 *   plan     — size the step's aligned blocks of shards to the live compute slots;
 *   publish  — write the weights once, open the results stream, add one task per block;
 *   computeOwn — compute the coordinator's own block while the workers compute theirs;
 *   gather   — read results as they come, keep the first valid one per block (exactly-once: a
 *              result whose shards are already covered is dropped before any other check), add it
 *              to the loop's tree, and re-dispatch late blocks split into halves;
 *   finish   — delete the step's keys.
 * The tree makes the sum independent of who computed which block and in what order they arrived.
 */
export class QueueBackend implements GradientBackend {
  readonly kernel: string;
  readonly workersSeen = new Set<string>();
  readonly timings: StepTimings = {
    steps: 0,
    tasks: 0,
    encodeMs: 0,
    publishMs: 0,
    writeKeysMs: 0,
    addTasksMs: 0,
    waitMs: 0,
    workerComputeMs: 0,
    acceptMs: 0,
    localComputeMs: 0,
  };
  private readonly result: ShardGradient = { grad: new Float32Array(0), lossSum: 0, count: 0, correct: 0 };
  /** The weights frame of the step in hand, encoded into the same memory every step. */
  private readonly weightsFrame = new FrameBuffer();
  private readonly steps: Redis;

  constructor(private readonly o: QueueBackendOptions) {
    if (!(o.taskTimeoutMs > 0)) throw new Error(`taskTimeoutMs must be > 0, got ${o.taskTimeoutMs}`);
    if (!(o.maxAttempts >= 1)) throw new Error(`maxAttempts must be ≥ 1, got ${o.maxAttempts}`);
    if (o.local && o.local.kernel !== o.kernel)
      throw new Error(`local backend computes with ${o.local.kernel}, the job with ${o.kernel}`);
    this.kernel = o.kernel;
    this.steps = o.steps ?? o.redis;
  }

  async computeStep(req: StepRequest, accept: (block: Block, result: ShardGradient) => void): Promise<void> {
    const run = this.plan(req, accept);
    await this.publish(run);
    this.computeOwn(run);
    await this.gather(run);
    this.finish(run);
  }

  private plan(req: StepRequest, accept: StepRun['accept']): StepRun {
    const { keys, jobId } = this.o;
    const shardCount = req.shards.length;
    const { blocks, own } = planStep(shardCount, Math.max(0, this.o.workerSlots()), this.o.local !== undefined);
    const run: StepRun = {
      req,
      accept,
      own,
      weightsKey: keys.weights(jobId, req.step),
      resultsKey: keys.results(jobId, req.step),
      counts: req.shards.map((s) => s.length),
      coverage: new Coverage(shardCount),
      wanted: new Map(),
      dispatches: new Map(),
      shardDispatches: new Int32Array(shardCount),
      errorReports: new Map(),
      lastId: '0',
      weights: null,
    };
    for (const b of blocks) run.wanted.set(key(b), { block: b, dispatchedAt: 0 });
    return run;
  }

  /**
   * Writes the step's weights once (a resumed coordinator rewrites the same bytes: training is
   * deterministic) and opens its results stream, then adds the tasks. When the step Redis is the
   * queue's Redis, one connection carries both and Redis runs the tasks' add after these writes: no
   * wait between; otherwise the writes are acknowledged first. A resumed step's stream keeps the
   * results already there, and reading from '0' picks them up.
   */
  private async publish(run: StepRun): Promise<void> {
    const { jobId } = this.o;
    const t0 = performance.now();
    run.weights = run.wanted.size
      ? encodeWeights({ jobId, step: run.req.step, params: run.req.params }, this.weightsFrame)
      : null;
    this.timings.encodeMs += performance.now() - t0;
    const t1 = performance.now();
    const blocks = [...run.wanted.values()].map((w) => w.block);
    if (this.steps === this.o.redis) await Promise.all([this.writeStepKeys(run), this.dispatch(run, blocks)]);
    else {
      await this.writeStepKeys(run);
      await this.dispatch(run, blocks);
    }
    this.timings.publishMs += performance.now() - t1;
  }

  /**
   * The step's weights (when workers need them) and its open results stream. The SET goes as a
   * command of its own, not in the pipeline: ioredis concatenates a pipeline's commands into one
   * buffer, a second copy of the megabyte (measured: ~1 ms of coordinator CPU a step at 235k
   * parameters); one connection still delivers both in order.
   */
  private async writeStepKeys(run: StepRun): Promise<void> {
    const { log, stepTtlSeconds } = this.o;
    const steps = this.steps;
    const t0 = performance.now();
    const [, replies] = await Promise.all([
      run.weights ? steps.set(run.weightsKey, run.weights, 'EX', stepTtlSeconds) : null,
      openStepResults(steps.pipeline(), run.resultsKey, stepTtlSeconds).exec(),
    ]);
    this.timings.writeKeysMs += performance.now() - t0;
    const failed = replies?.find(([e]) => e);
    if (!failed) return;
    if (!/WRONGTYPE/.test(String(failed[0]))) throw failed[0];
    log.warn({ step: run.req.step, key: run.resultsKey }, 'results key held another type: replaced');
    await openStepResults(steps.pipeline().del(run.resultsKey), run.resultsKey, stepTtlSeconds).exec();
  }

  /**
   * After a read that timed out: when the step Redis lost the step's keys (a restart of a Redis
   * without persistence), writes them again — the bytes are the same — and dispatches the awaited
   * blocks again, since workers that found no weights dropped their tasks.
   */
  private async republishIfLost(run: StepRun): Promise<void> {
    const { log } = this.o;
    const steps = this.steps;
    const [weights, results] = (await steps.multi().exists(run.weightsKey).exists(run.resultsKey).exec()) ?? [];
    if (results?.[1] === 1 && (weights?.[1] === 1 || !run.weights)) return;
    log.warn(
      { step: run.req.step },
      "the step's keys are gone from the step Redis (restarted?): publishing them again",
    );
    run.lastId = '0';
    await this.writeStepKeys(run);
    const again = [...run.wanted.values()].map((w) => w.block);
    for (const b of again) {
      const [from, to] = blockRange(b, run.counts.length);
      for (let s = from; s < to; s++) run.shardDispatches[s]--; // not the workers' fault: not an attempt
    }
    await this.dispatch(run, again);
  }

  /** Adds one task per block, under deterministic ids (a repeated add collapses in BullMQ). */
  private async dispatch(run: StepRun, blocks: Block[]): Promise<void> {
    if (!blocks.length) return;
    const { jobId, dataHash, paramCount } = this.o;
    const now = Date.now();
    const t0 = performance.now();
    const adds = blocks.map((b) => {
      const n = run.dispatches.get(key(b)) ?? 0;
      run.dispatches.set(key(b), n + 1);
      run.wanted.set(key(b), { block: b, dispatchedAt: now });
      const [from, to] = blockRange(b, run.counts.length);
      for (let s = from; s < to; s++) run.shardDispatches[s]++;
      const data = makeGradientTask({
        jobId,
        step: run.req.step,
        level: b.level,
        index: b.index,
        weightsKey: run.weightsKey,
        dataHash,
        kernel: this.kernel,
        paramCount,
        indices: encodeIndices(blockIndices(run.req.shards, from, to)),
      });
      return {
        name: 'block',
        data,
        opts: {
          jobId: taskId(jobId, run.req.step, b, n),
          removeOnComplete: true,
          removeOnFail: { count: 1000 },
          attempts: 3,
          backoff: { type: 'fixed', delay: 200 },
        },
      };
    });
    this.timings.encodeMs += performance.now() - t0;
    this.timings.tasks += adds.length;
    const t1 = performance.now();
    await this.o.queue.addBulk(adds);
    this.timings.addTasksMs += performance.now() - t1;
  }

  /** The coordinator's block, computed here while the workers compute theirs. */
  private computeOwn(run: StepRun): void {
    if (!run.own || !this.o.local) return;
    const t0 = performance.now();
    const [from, to] = blockRange(run.own, run.counts.length);
    this.o.local.computeShards(run.req.params, run.req.shards, from, to, run.accept);
    run.coverage.mark(run.own);
    this.timings.localComputeMs += performance.now() - t0;
  }

  private async gather(run: StepRun): Promise<void> {
    const { blocking, log, taskTimeoutMs } = this.o;
    const t = this.timings;
    while (!run.coverage.complete) {
      if (this.o.signal?.aborted) throw this.o.signal.reason ?? new Error('cancelled');
      await this.redispatchLate(run);
      let nextDeadline = Infinity;
      for (const w of run.wanted.values()) nextDeadline = Math.min(nextDeadline, w.dispatchedAt + taskTimeoutMs);
      const waitMs = Math.max(10, Math.min(500, nextDeadline - Date.now()));
      const t0 = performance.now();
      const read = await readStepResults(blocking, run.resultsKey, run.lastId, waitMs);
      t.waitMs += performance.now() - t0;
      if (!read) {
        await this.republishIfLost(run);
        continue;
      }
      run.lastId = read.lastId;
      if (read.foreign)
        log.warn(
          { step: run.req.step, entries: read.foreign },
          'dropped results-stream entries that are not shard messages',
        );
      for (const buf of read.messages) await this.take(run, buf);
    }
  }

  /**
   * Blocks with no result within the timeout get backups: split into their halves (so two workers
   * can share a straggler's block), or the same block again at level 0. The job fails once a shard
   * has been dispatched maxAttempts times without a result.
   */
  private async redispatchLate(run: StepRun): Promise<void> {
    const { taskTimeoutMs, maxAttempts, log } = this.o;
    const now = Date.now();
    const late = [...run.wanted.values()].filter((w) => now - w.dispatchedAt >= taskTimeoutMs).map((w) => w.block);
    if (!late.length) return;
    for (const b of late) {
      const [from, to] = blockRange(b, run.counts.length);
      if (run.shardDispatches[from] >= maxAttempts) {
        throw new TrainingError(
          `step ${run.req.step + 1}: ${to - from === 1 ? `shard ${from}` : `shards ${from}–${to - 1}`} got no result after ${run.shardDispatches[from]} dispatches of ${taskTimeoutMs} ms each; are any workers running?`,
        );
      }
    }
    const backups = late.flatMap((b) => {
      run.wanted.delete(key(b));
      return b.level > 0 ? children(b, run.counts.length) : [b];
    });
    log.warn(
      { step: run.req.step, late: late.map(key), backups: backups.map(key), timeoutMs: taskTimeoutMs },
      'no result in time: dispatching backup tasks',
    );
    await this.dispatch(run, backups);
  }

  /**
   * One results-stream message: dropped when its block overlaps covered shards (a duplicate, a
   * straggler whose backup won), else validated and added to the tree. An error report dispatches
   * the block again, and fails the job when it repeats; a non-finite gradient fails it at once.
   */
  private async take(run: StepRun, buf: Buffer): Promise<void> {
    const { jobId, log, paramCount } = this.o;
    const step = run.req.step;
    const t0 = performance.now();
    let msg: ShardResult | ShardError | null;
    try {
      msg = decodeShardMessage(buf, {
        jobId,
        step,
        length: paramCount,
        counts: run.counts,
        covered: (level, index) => run.coverage.overlaps({ level, index }),
      });
    } catch (e) {
      // only a message that fails its checks may be dropped; anything else is a fault of ours
      if (!(e instanceof ProtocolError)) throw e;
      // backprop is deterministic: a worker that returns a well-formed but non-finite gradient
      // would do so again, so the job fails now with the reason instead of retrying
      if (e.code === 'non-finite')
        throw new TrainingError(
          `step ${step + 1}: the gradient went non-finite (${e.message}); lower the learning rate or check the data scaling`,
          'diverged',
        );
      log.warn({ step, err: e.message, code: e.code }, 'dropped an invalid shard message');
      return;
    } finally {
      this.timings.encodeMs += performance.now() - t0;
    }
    if (!msg) return; // its shards are covered: the first valid result won
    const block = { level: msg.level, index: msg.index };
    if (msg.kind === 'shard-error') {
      const n = (run.errorReports.get(key(block)) ?? 0) + 1;
      run.errorReports.set(key(block), n);
      log.warn({ step, block: key(block), worker: msg.workerId, err: msg.error }, 'worker could not compute a block');
      if (n >= Math.min(2, this.o.maxAttempts))
        throw new TrainingError(`step ${step + 1} block ${key(block)}: ${msg.error}`);
      await this.dispatch(run, [block]);
      return;
    }
    const t1 = performance.now();
    const r = this.result;
    r.grad = msg.grad;
    r.lossSum = msg.lossSum;
    r.count = msg.count;
    r.correct = msg.correct;
    run.accept(block, r);
    run.coverage.mark(block);
    this.workersSeen.add(msg.workerId);
    this.timings.workerComputeMs += msg.computeMs;
    this.timings.acceptMs += performance.now() - t1;
    await this.replan(run, block);
  }

  /**
   * After `got` arrived: wanted blocks inside it are done; a wanted block that contains it (a
   * result of a block that was split meanwhile) can no longer be used whole, so its uncovered
   * parts are dispatched now.
   */
  private async replan(run: StepRun, got: Block): Promise<void> {
    const again: Block[] = [];
    for (const [k, w] of run.wanted) {
      if (within(w.block, got)) run.wanted.delete(k);
      else if (within(got, w.block)) {
        run.wanted.delete(k);
        again.push(...run.coverage.uncovered(w.block));
      }
    }
    await this.dispatch(run, again);
  }

  private finish(run: StepRun): void {
    // not awaited: the deletes ride ahead of the next step's commands on the same connection
    this.steps
      .unlink(run.weightsKey, run.resultsKey)
      .catch((e) => this.o.log.warn({ step: run.req.step, err: (e as Error).message }, 'could not delete step keys'));
    this.timings.steps++;
  }

  async close(): Promise<void> {}
}

/** The samples of shards [from, to): one view when they are consecutive in memory (the loop's are). */
function blockIndices(shards: Uint32Array[], from: number, to: number): Uint32Array {
  const first = shards[from];
  let n = 0;
  for (let s = from; s < to; s++) n += shards[s].length;
  const last = shards[to - 1];
  if (last.buffer === first.buffer && last.byteOffset + last.byteLength === first.byteOffset + 4 * n)
    return new Uint32Array(first.buffer, first.byteOffset, n);
  const out = new Uint32Array(n);
  for (let s = from, o = 0; s < to; o += shards[s].length, s++) out.set(shards[s], o);
  return out;
}
