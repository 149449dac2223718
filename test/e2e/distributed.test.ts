import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Keys } from '@redgrad/protocol';
import { modelFromJson } from '@redgrad/train';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';
import {
  FAST_FAILOVER,
  IRIS,
  cli,
  localModelBytes,
  scanKeys,
  startService,
  stopAll,
  writeSpec,
  useTestRedis,
  lastJson,
  waitFor,
  waitForProgress,
} from './harness.js';
import type { Service } from './harness.js';

const testRedis = useTestRedis();
const redisUrl = testRedis.url;

/** The coordinator computes nothing itself unless a test asks: these tests check what the workers did. */
function envFor(prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    REDGRAD_PREFIX: prefix,
    REDGRAD_LOG_LEVEL: 'info',
    REDGRAD_COORDINATOR_COMPUTE: 'off',
    ...FAST_FAILOVER,
  };
}

async function exportModel(env: Record<string, string>, jobId: string, dir: string): Promise<Buffer> {
  const path = join(dir, `${jobId}.json`);
  const r = await cli(['export', jobId, '-o', path], env);
  expect(r.code, r.stderr).toBe(0);
  return readFile(path);
}

describe('distributed training over Redis', () => {
  it('gives the byte-identical model of train --local with 1, 2 and 3 workers, and leaves no per-step keys', async () => {
    const prefix = uniquePrefix('dist');
    const env = envFor(prefix);
    const spec = await writeSpec(IRIS());
    const expected = await localModelBytes(spec);
    startService('coordinator', env);
    const workers: Service[] = [];
    let seenWithThree = 0;
    try {
      for (const n of [1, 2, 3]) {
        workers.push(startService('worker', env, `worker-${n}`));
        const r = await cli(['submit', spec, '--watch', '--json', '--id', `iris-w${n}`], env);
        expect(r.code, r.stderr + r.stdout).toBe(0);
        const final = lastJson(r.stdout);
        expect(final.status).toBe('completed');
        // the workers computed every shard, with the fast kernel
        expect(final.workersSeen).toBeGreaterThanOrEqual(1);
        expect(final.timings.localComputeMs).toBe(0);
        expect(final.timings.workerComputeMs).toBeGreaterThan(0);
        expect(final.kernel).toBe('wasm-simd');
        seenWithThree = final.workersSeen;
        const model = await exportModel(env, `iris-w${n}`, join(spec, '..'));
        expect(Buffer.compare(model, expected), `model with ${n} worker(s)`).toBe(0);
        // only the job's durable keys remain: spec, state, model, metrics
        const left = (await scanKeys(testRedis.redis, `${prefix}:job:{iris-w${n}}:*`))
          .map((k) => k.split(':').pop())
          .sort();
        expect(left).toEqual(['metrics', 'model', 'spec', 'state']);
        expect(await testRedis.redis.llen(`${prefix}:job:{iris-w${n}}:metrics`)).toBeLessThanOrEqual(1000);
      }
      expect(seenWithThree).toBeGreaterThanOrEqual(2);
      // the same data was uploaded once: one train and one test set in Redis for three jobs
      const metas = await scanKeys(testRedis.redis, `${prefix}:data:*:meta`);
      expect(metas).toHaveLength(2);
      const again = await cli(['submit', spec, '--json', '--id', 'iris-again'], env);
      expect(JSON.parse(again.stdout)).toMatchObject({ uploaded: { train: false, test: false }, bytes: 0 });
      await cli(['watch', 'iris-again'], env);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);

  it('runs two jobs at once on a worker, the coordinator computing a block of each step too (its default); each byte-identical to its local run', async () => {
    const prefix = uniquePrefix('two-jobs');
    const env = envFor(prefix);
    const specA = await writeSpec(IRIS({ seed: 1, epochs: 10 }), 'a.json');
    const specB = await writeSpec(
      IRIS({ seed: 2, epochs: 10, shardSize: 8, model: { hidden: [8, 8], activation: 'relu' } }),
      'b.json',
    );
    const [expectedA, expectedB] = await Promise.all([localModelBytes(specA), localModelBytes(specB)]);
    startService('worker', env, 'worker-1');
    try {
      // with no worker in the registry the coordinator plans no block of its own; it reads the
      // registry when it starts, so it starts after the worker (a job here outruns its 1 s re-read)
      await waitFor(
        'the worker to register',
        async () => (await testRedis.redis.zcard(new Keys(prefix).workers())) > 0,
      );
      startService('coordinator', { ...env, REDGRAD_COORDINATOR_COMPUTE: '' });
      const [a, b] = await Promise.all([
        cli(['submit', specA, '--watch', '--json', '--id', 'job-a'], env),
        cli(['submit', specB, '--watch', '--json', '--id', 'job-b'], env),
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      for (const r of [a, b]) {
        const final = lastJson(r.stdout);
        expect(final.timings.localComputeMs, 'the coordinator computed shards').toBeGreaterThan(0);
        expect(final.workersSeen, 'and workers the rest').toBeGreaterThanOrEqual(1);
      }
      expect(Buffer.compare(await exportModel(env, 'job-a', join(specA, '..')), expectedA)).toBe(0);
      expect(Buffer.compare(await exportModel(env, 'job-b', join(specB, '..')), expectedB)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);

  it('finishes byte-identical when a worker is killed with SIGKILL mid-training', async () => {
    const prefix = uniquePrefix('kill-worker');
    const env = envFor(prefix);
    const spec = await writeSpec(IRIS({ epochs: 40 }));
    const expected = await localModelBytes(spec);
    startService('coordinator', env);
    const victim = startService('worker', env, 'victim');
    startService('worker', env, 'survivor');
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'kill-w'], env);
      expect(sub.code, sub.stderr).toBe(0);
      await waitForProgress(env, 'kill-w', 1 / 4);
      expect(victim.alive()).toBe(true);
      await victim.kill9();
      const r = await cli(['watch', 'kill-w', '--json'], env);
      const final = JSON.parse(r.stdout);
      expect(final.status).toBe('completed');
      expect(final.workersSeen, 'both workers had computed shards').toBe(2);
      expect(final.timings.localComputeMs).toBe(0);
      expect(Buffer.compare(await exportModel(env, 'kill-w', join(spec, '..')), expected)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);

  it('finishes byte-identical when the coordinator is killed mid-training and another takes over', async () => {
    const prefix = uniquePrefix('kill-coord');
    const env = envFor(prefix);
    // long enough that the job is still running when the kill lands, with one task a step
    const spec = await writeSpec(IRIS({ epochs: 200, checkpointEvery: 7 }));
    const expected = await localModelBytes(spec);
    const first = startService('coordinator', env, 'coordinator-1');
    startService('worker', env);
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'kill-c'], env);
      expect(sub.code, sub.stderr).toBe(0);
      await waitForProgress(env, 'kill-c', 0.2);
      await first.kill9();
      const second = startService('coordinator', env, 'coordinator-2');
      const r = await cli(['watch', 'kill-c', '--json'], env);
      expect(JSON.parse(r.stdout).status, second.logs()).toBe('completed');
      expect(second.logs()).toMatch(/resuming from checkpoint/);
      expect(Buffer.compare(await exportModel(env, 'kill-c', join(spec, '..')), expected)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);
});

describe('work in blocks', () => {
  it('gives the same bits with one worker computing two blocks at once (REDGRAD_WORKER_CONCURRENCY=2)', async () => {
    const prefix = uniquePrefix('concurrency');
    const env = envFor(prefix);
    const spec = await writeSpec(IRIS({ epochs: 20 }));
    const expected = await localModelBytes(spec);
    const worker = startService('worker', { ...env, REDGRAD_WORKER_CONCURRENCY: '2', REDGRAD_LOG_LEVEL: 'debug' });
    try {
      // the coordinator reads the worker registry when it starts, then once a second: a job of a few
      // seconds would otherwise plan many of its steps before it learns of the two slots
      await waitFor(
        'the worker to register',
        async () => (await testRedis.redis.zcard(new Keys(prefix).workers())) > 0,
      );
      startService('coordinator', env);
      const r = await cli(['submit', spec, '--watch', '--json', '--id', 'conc-2'], env);
      const final = lastJson(r.stdout);
      expect(final.status, r.stderr).toBe('completed');
      expect(final.workersSeen).toBe(1);
      // two slots: two blocks a step (4 shards of 4 samples each)
      expect(final.timings.tasks).toBeGreaterThanOrEqual(2 * final.steps * 0.9);
      expect(worker.logs()).toMatch(/"concurrency":2/);
      expect(Buffer.compare(await exportModel(env, 'conc-2', join(spec, '..')), expected)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 120_000);

  it('finishes byte-identical when the coordinator loses its job lock and the job is resumed', async () => {
    const prefix = uniquePrefix('lost-lock');
    const env = envFor(prefix);
    const spec = await writeSpec(IRIS({ epochs: 200, checkpointEvery: 7 }));
    const expected = await localModelBytes(spec);
    const first = startService('coordinator', env, 'coordinator-1');
    startService('worker', env);
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'lost-lock'], env);
      expect(sub.code, sub.stderr).toBe(0);
      await waitForProgress(env, 'lost-lock', 1 / 4);
      const second = startService('coordinator', env, 'coordinator-2');
      // the lock BullMQ renews for the running job vanishes (as after a long stall): renewal fails
      await testRedis.redis.del(`{${prefix}}:jobs:lost-lock:lock`);
      const r = await cli(['watch', 'lost-lock', '--json'], env);
      expect(JSON.parse(r.stdout).status, first.logs().slice(-2000)).toBe('completed');
      expect(first.logs()).toMatch(/lost the job lock/);
      expect(first.logs() + second.logs()).toMatch(/resuming from checkpoint/);
      expect(Buffer.compare(await exportModel(env, 'lost-lock', join(spec, '..')), expected)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);
});

describe('compact gradients', () => {
  it('trains with bf16 gradients and error feedback (off by default; not bit-identical by design)', async () => {
    const prefix = uniquePrefix('bf16');
    const env = envFor(prefix);
    const spec = await writeSpec(IRIS({ epochs: 30, gradientEncoding: 'bf16' }));
    startService('coordinator', env);
    startService('worker', env);
    try {
      const r = await cli(['submit', spec, '--watch', '--json', '--id', 'bf16-job'], env);
      const final = lastJson(r.stdout);
      expect(final.status, r.stderr).toBe('completed');
      expect(final.testAccuracy).toBeGreaterThanOrEqual(0.9);
      expect(final.workersSeen).toBe(1); // every gradient crossed Redis, rounded
      expect(final.timings.localComputeMs).toBe(0);
      // the rounded gradients really travelled: the weights are not the exact float32 run's, yet
      // close to them (bf16 keeps 8 significant bits and the residual is fed back)
      const exact = modelFromJson((await localModelBytes(spec)).toString()).params;
      const rounded = modelFromJson((await exportModel(env, 'bf16-job', join(spec, '..'))).toString()).params;
      let diff = 0,
        size = 0;
      for (let i = 0; i < exact.length; i++) {
        diff = Math.max(diff, Math.abs(rounded[i] - exact[i]));
        size = Math.max(size, Math.abs(exact[i]));
      }
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(0.25 * size);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 120_000);
});
