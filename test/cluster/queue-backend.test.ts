import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Network, jsKernels } from '@redgrad/nn';
import { builtin } from '@redgrad/data';
import { GRADIENT_QUEUE, Keys, decodeIndices, decodeWeights, encodeShardResult, pushStepResult } from '@redgrad/protocol';
import type { GradientTask } from '@redgrad/protocol';
import { LocalBackend, preparedJob, train, validateJobSpec } from '@redgrad/train';
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
  const spec = validateJobSpec({ data: { builtin: 'iris' }, model: { hidden: [5] }, batchSize: 30, shardSize: 8, epochs: 2, seed: 9, testSplit: 0, scaling: 'none', kernel: 'js' });
  const ds = await builtin('iris');
  return preparedJob(spec, ds, undefined, { method: 'none', offset: [0, 0, 0, 0], scale: [1, 1, 1, 1] });
}

/**
 * A stand-in worker in this process: takes waiting tasks straight off the queue and pushes results
 * the way the real worker does, with hooks to misbehave (duplicates, silence, garbage).
 */
function fakeWorker(job: PreparedJob, queue: Queue<GradientTask>, keys: Keys, behave: (task: GradientTask, id: string) => 'normal' | 'twice' | 'ignore') {
  const net = new Network(job.arch, jsKernels, job.spec.shardSize);
  const seen = new Set<string>();
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const waiting: Job<GradientTask>[] = await queue.getWaiting();
      for (const t of waiting.reverse()) { // last shard first: results arrive out of order
        if (seen.has(t.id!)) continue;
        seen.add(t.id!);
        const task = t.data;
        const how = behave(task, t.id!);
        if (how === 'ignore') continue;
        const buf = await redis.getBuffer(task.weightsKey);
        if (!buf) continue;
        net.params.set(decodeWeights(buf, { jobId: task.jobId, step: task.step, length: net.paramCount }).params);
        const stats = net.shardGradient(job.train, decodeIndices(task.indices, job.train.n), true);
        const payload = encodeShardResult({ jobId: task.jobId, step: task.step, shard: task.shard, ...stats, grad: net.grad, workerId: 'fake', computeMs: 0 });
        const key = keys.results(task.jobId, task.step);
        for (let k = 0; k < (how === 'twice' ? 2 : 1); k++) await pushStepResult(redis, key, payload); // as the worker does
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

async function runDistributed(behave: Parameters<typeof fakeWorker>[3], taskTimeoutMs = 10_000, localShards = 0, maxAttempts = 3) {
  const job = await irisJob();
  const prefix = uniquePrefix('qb');
  const keys = new Keys(prefix);
  const queue = new Queue<GradientTask>(GRADIENT_QUEUE, { connection: redis, prefix: keys.queuePrefix });
  const blocking = redis.duplicate();
  const worker = fakeWorker(job, queue, keys, behave);
  const backend = new QueueBackend({
    redis, blocking, queue, keys, jobId: 'qb', dataHash: 'ab'.repeat(32), kernel: 'js', paramCount: new Network(job.arch, jsKernels, 1).paramCount,
    taskTimeoutMs, maxAttempts, stepTtlSeconds: 60, log: pino({ level: 'silent' }),
    local: localShards ? { shards: localShards, backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize) } : undefined,
  });
  try {
    const result = await train(job, { backend, kernels: jsKernels });
    // a late duplicate can never re-create a finished step's keys, and open ones carry a TTL
    const stepKeys = (await redis.keys(`${prefix}:job:*`)).filter((k) => /:(w|results):\d+$/.test(k));
    const leftover = (await Promise.all(stepKeys.map(async (k) => ((await redis.ttl(k)) > 0 ? null : k)))).filter(Boolean);
    return { job, result, backend, leftover };
  } finally {
    await worker.stop();
    await queue.close();
    blocking.disconnect();
    await cleanPrefix(redis, prefix);
  }
}

describe('QueueBackend against a real Redis', () => {
  it('counts every shard once when results arrive out of order and twice', async () => {
    const { job, result, leftover } = await runDistributed(() => 'twice');
    const local = await train(job, { backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize), kernels: jsKernels });
    expect(Buffer.from(result.params.buffer).equals(Buffer.from(local.params.buffer))).toBe(true);
    expect(leftover).toEqual([]);
  });

  it('sends a backup task for a shard whose result does not come, and still matches the local run', async () => {
    // a short timeout, and room for a slow machine to need more than one backup
    const ids: string[] = [];
    const { job, result, backend } = await runDistributed((task, id) => {
      ids.push(id);
      return task.shard === 1 && !id.includes('-r') ? 'ignore' : 'normal';
    }, 200, 0, 20);
    expect(ids.filter((id) => /_1-r\d+$/.test(id)).length, 'backup tasks were dispatched for shard 1').toBeGreaterThan(0);
    const local = await train(job, { backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize), kernels: jsKernels });
    expect(Buffer.from(result.params.buffer).equals(Buffer.from(local.params.buffer))).toBe(true);
    expect(backend.timings.steps).toBe(result.steps);
  });

  it('gives the same weights when the coordinator computes the first shards of each step itself', async () => {
    const { job, result, backend } = await runDistributed(() => 'normal', 10_000, 2);
    const local = await train(job, { backend: new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize), kernels: jsKernels });
    expect(Buffer.from(result.params.buffer).equals(Buffer.from(local.params.buffer))).toBe(true);
    expect(backend.timings.localComputeMs).toBeGreaterThan(0);
    expect(backend.workersSeen.has('fake')).toBe(true);
  });

  it('fails the step with a clear reason when no worker ever answers', async () => {
    await expect(runDistributed(() => 'ignore', 100)).rejects.toThrow(/shard \d got no result after 3 dispatches of 100 ms each; are any workers running\?/);
  });
});
