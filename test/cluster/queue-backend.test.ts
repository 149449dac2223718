import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Network, jsKernels } from '@redgrad/nn';
import { builtin } from '@redgrad/data';
import {
  GRADIENT_QUEUE,
  Keys,
  decodeIndices,
  decodeWeights,
  encodeShardError,
  encodeShardResult,
  pushStepResult,
} from '@redgrad/protocol';
import type { GradientTask } from '@redgrad/protocol';
import { LocalBackend, TreeReducer, preparedJob, train, validateJobSpec } from '@redgrad/train';
import type { PreparedJob } from '@redgrad/train';
import { QueueBackend } from '@redgrad/cluster';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
});

async function irisJob(): Promise<PreparedJob> {
  const spec = validateJobSpec({
    data: { builtin: 'iris' },
    model: { hidden: [5] },
    batchSize: 30,
    shardSize: 8,
    epochs: 2,
    seed: 9,
    testSplit: 0,
    scaling: 'none',
    kernel: 'js',
  });
  const ds = await builtin('iris');
  return preparedJob(spec, ds, undefined, { method: 'none', offset: [0, 0, 0, 0], scale: [1, 1, 1, 1] });
}

/**
 * A stand-in worker in this process: takes waiting tasks straight off the queue and pushes results
 * the way the real worker does, with hooks to misbehave (duplicates, silence, garbage).
 */
type Behaviour = 'normal' | 'twice' | 'ignore' | 'error' | 'then-nan' | 'lose-keys';
function fakeWorker(
  job: PreparedJob,
  queue: Queue<GradientTask>,
  keys: Keys,
  behave: (task: GradientTask, id: string) => Behaviour,
) {
  const net = new Network(job.arch, jsKernels, job.spec.shardSize);
  const reducer = new TreeReducer(jsKernels, net.paramCount);
  const seen = new Set<string>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const waiting: Job<GradientTask>[] = await queue.getWaiting();
      for (const t of waiting.reverse()) {
        // last shard first: results arrive out of order
        if (seen.has(t.id!)) continue;
        seen.add(t.id!);
        const task = t.data;
        const how = behave(task, t.id!);
        if (how === 'ignore') continue;
        const key = keys.results(task.jobId, task.step);
        if (how === 'lose-keys') {
          // the step Redis restarted empty: the weights and the results stream are gone
          await redis.del(task.weightsKey, key);
          continue;
        }
        if (how === 'error') {
          await pushStepResult(
            redis,
            key,
            encodeShardError({
              jobId: task.jobId,
              step: task.step,
              level: task.level,
              index: task.index,
              workerId: 'fake',
              error: 'data set gone',
            }),
          );
          continue;
        }
        const buf = await redis.getBuffer(task.weightsKey);
        if (!buf) continue;
        net.params.set(decodeWeights(buf, { jobId: task.jobId, step: task.step, length: net.paramCount }).params);
        const indices = decodeIndices(task.indices, job.train.n);
        const size = job.spec.shardSize;
        const shards = Math.ceil(indices.length / size);
        reducer.reset(shards);
        for (let s = 0; s < shards; s++) {
          const stats = net.shardGradient(job.train, indices.subarray(s * size, (s + 1) * size), true);
          reducer.add({ level: 0, index: s }, { ...stats, grad: net.grad });
        }
        const payload = encodeShardResult({
          jobId: task.jobId,
          step: task.step,
          level: task.level,
          index: task.index,
          ...reducer.result(),
          workerId: 'fake',
          computeMs: 0,
        });
        for (let k = 0; k < (how === 'twice' ? 2 : 1); k++) await pushStepResult(redis, key, payload); // as the worker does
        if (how === 'then-nan') {
          // a forged copy of the same block with a non-finite gradient: dropped as a duplicate, unread
          const bad = Float32Array.from(reducer.result().grad);
          bad[0] = NaN;
          await pushStepResult(
            redis,
            key,
            encodeShardResult({
              jobId: task.jobId,
              step: task.step,
              level: task.level,
              index: task.index,
              ...reducer.result(),
              grad: bad,
              workerId: 'forger',
              computeMs: 0,
            }),
          );
        }
        await t.remove().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    stop: async () => {
      stop = true;
      await loop;
    },
  };
}

async function runDistributed(
  behave: Parameters<typeof fakeWorker>[3],
  taskTimeoutMs = 10_000,
  coordinatorComputes = false,
  maxAttempts = 3,
  workerSlots = 4,
) {
  const job = await irisJob();
  const prefix = uniquePrefix('qb');
  const keys = new Keys(prefix);
  const queue = new Queue<GradientTask>(GRADIENT_QUEUE, { connection: redis, prefix: keys.queuePrefix });
  const blocking = redis.duplicate();
  const worker = fakeWorker(job, queue, keys, behave);
  const backend = new QueueBackend({
    redis,
    blocking,
    queue,
    keys,
    jobId: 'qb',
    dataHash: 'ab'.repeat(32),
    kernel: 'js',
    paramCount: new Network(job.arch, jsKernels, 1).paramCount,
    taskTimeoutMs,
    maxAttempts,
    stepTtlSeconds: 60,
    log: pino({ level: 'silent' }),
    workerSlots: () => workerSlots,
    local: coordinatorComputes ? new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize) : undefined,
  });
  try {
    const result = await train(job, { backend, kernels: jsKernels });
    // a late duplicate can never re-create a finished step's keys, and open ones carry a TTL
    const stepKeys = (await redis.keys(`${prefix}:job:*`)).filter((k) => /:(w|results):\d+$/.test(k));
    const leftover = (await Promise.all(stepKeys.map(async (k) => ((await redis.ttl(k)) > 0 ? null : k)))).filter(
      Boolean,
    );
    return { job, result, backend, leftover };
  } finally {
    await worker.stop();
    await queue.close();
    blocking.disconnect();
    await cleanPrefix(redis, prefix);
  }
}

const sameBits = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

describe('QueueBackend against a real Redis', () => {
  it('counts every shard once when results arrive out of order and twice, for blocks of any size', async () => {
    let local: Float32Array | undefined;
    for (const slots of [4, 2, 1]) {
      const { job, result, leftover, backend } = await runDistributed(() => 'twice', 10_000, false, 3, slots);
      local ??= (
        await train(job, {
          backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize),
          kernels: jsKernels,
        })
      ).params;
      expect(sameBits(result.params, local), `${slots} slot(s)`).toBe(true);
      expect(backend.timings.tasks, 'one task per slot and step (4 shards a step)').toBe(
        result.steps * Math.min(slots, 4),
      );
      expect(leftover).toEqual([]);
    }
  });

  it('splits a late block into backup halves, and still matches the local run', async () => {
    // a short timeout, and room for a slow machine to need more than one backup
    const ids: string[] = [];
    const { job, result, backend } = await runDistributed(
      (task, id) => {
        ids.push(id);
        return task.level === 1 && task.index === 0 ? 'ignore' : 'normal';
      },
      200,
      false,
      20,
      2,
    );
    expect(
      ids.filter((id) => /_0_[01](-r\d+)?$/.test(id)).length,
      'backup halves of block 1_0 were dispatched',
    ).toBeGreaterThan(0);
    const local = await train(job, {
      backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize),
      kernels: jsKernels,
    });
    expect(sameBits(result.params, local.params)).toBe(true);
    expect(backend.timings.steps).toBe(result.steps);
  });

  it('gives the same weights when the coordinator computes a block of each step itself', async () => {
    const { job, result, backend } = await runDistributed(() => 'normal', 10_000, true, 3, 1);
    const local = await train(job, {
      backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize),
      kernels: jsKernels,
    });
    expect(sameBits(result.params, local.params)).toBe(true);
    expect(backend.timings.localComputeMs).toBeGreaterThan(0);
    expect(backend.workersSeen.has('fake')).toBe(true);
  });

  it('drops a forged non-finite copy of a block it already has, before reading it', async () => {
    const { job, result } = await runDistributed(() => 'then-nan');
    const local = await train(job, {
      backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize),
      kernels: jsKernels,
    });
    expect(sameBits(result.params, local.params)).toBe(true);
  });

  it('dispatches a block again after one error report, and fails the job when the report repeats', async () => {
    const reports = new Map<string, number>();
    const once = await runDistributed((task) => {
      const k = `${task.step}_${task.level}_${task.index}`;
      reports.set(k, (reports.get(k) ?? 0) + 1);
      return task.step === 2 && task.index === 1 && reports.get(k) === 1 ? 'error' : 'normal';
    });
    expect(reports.get('2_0_1')).toBe(2);
    expect(once.result.steps).toBeGreaterThan(2);
    await expect(runDistributed((task) => (task.step === 1 && task.index === 3 ? 'error' : 'normal'))).rejects.toThrow(
      /step 2 block 0_3: data set gone/,
    );
  });

  it('publishes a step again when the step Redis loses its keys, without waiting for the task timeout', async () => {
    let lost = 0;
    const started = Date.now();
    const { job, result, backend } = await runDistributed(
      (task) => (task.step === 3 && lost++ === 0 ? 'lose-keys' : 'normal'),
      60_000,
    );
    expect(lost).toBeGreaterThan(1); // the block came back after the keys were lost
    expect(Date.now() - started).toBeLessThan(30_000);
    const local = await train(job, {
      backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize),
      kernels: jsKernels,
    });
    expect(sameBits(result.params, local.params)).toBe(true);
    expect(backend.timings.steps).toBe(result.steps);
  });

  it('fails the step with a clear reason when no worker ever answers', async () => {
    await expect(runDistributed(() => 'ignore', 100)).rejects.toThrow(
      /shard \d got no result after 3 dispatches of 100 ms each; are any workers running\?/,
    );
  });
});
