import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Keys, encodeHeartbeat, encodeJobState } from '@redgrad/protocol';
import type { JobProgress, WorkerHeartbeat } from '@redgrad/protocol';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

const BIN = new URL('../../apps/cli/bin/redgrad.js', import.meta.url).pathname;
const redisUrl = inject('redisUrl');

function redgrad(args: string[], prefix: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, REDIS_URL: redisUrl, REDGRAD_PREFIX: prefix } },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
});

async function withPrefix(name: string, fn: (prefix: string, keys: Keys) => Promise<void>): Promise<void> {
  const prefix = uniquePrefix(name);
  try {
    await fn(prefix, new Keys(prefix));
  } finally {
    await cleanPrefix(redis, prefix);
  }
}

const progress = (jobId: string): JobProgress => ({
  jobId,
  epoch: 3,
  epochs: 8,
  step: 30,
  steps: 80,
  loss: 0.123456,
  accuracy: 0.9,
  samplesPerSecond: 1000,
  workersSeen: 2,
  elapsedMs: 500,
});

describe('redgrad list', () => {
  it('lists jobs newest first, as lines and as JSON, and honours --limit', async () => {
    await withPrefix('list', async (prefix, keys) => {
      const jobs = [
        {
          id: 'old-done',
          at: 1000,
          state: {
            status: 'completed' as const,
            name: 'old',
            result: { testLoss: 0.0812, testAccuracy: 0.9667, steps: 40 },
          },
        },
        {
          id: 'mid-running',
          at: 2000,
          state: { status: 'running' as const, name: 'mid', progress: progress('mid-running') },
        },
        { id: 'new-queued', at: 3000, state: { status: 'queued' as const, name: 'new' } },
      ];
      for (const j of jobs) {
        await redis.hset(keys.jobState(j.id), encodeJobState({ ...j.state, submittedAt: j.at }));
        await redis.zadd(keys.jobsIndex(), j.at, j.id);
      }
      const human = await redgrad(['list'], prefix);
      expect(human.code).toBe(0);
      const lines = human.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
        ['new-queued', 'queued'],
        ['mid-running', 'running'],
        ['old-done', 'completed'],
      ]);
      expect(lines[1]).toMatch(/epoch 3\/8 loss 0\.1235$/);
      expect(lines[2]).toMatch(/test accuracy 0\.9667 loss 0\.0812$/);

      const json = await redgrad(['list', '--json'], prefix);
      const listed = JSON.parse(json.stdout);
      expect(listed.map((s: { jobId: string }) => s.jobId)).toEqual(['new-queued', 'mid-running', 'old-done']);
      expect(listed[1]).toMatchObject({
        status: 'running',
        name: 'mid',
        submittedAt: 2000,
        progress: progress('mid-running'),
        cancelRequested: false,
      });

      const limited = await redgrad(['list', '-n', '1', '--json'], prefix);
      expect(JSON.parse(limited.stdout).map((s: { jobId: string }) => s.jobId)).toEqual(['new-queued']);
    });
  });

  it('says so when there are no jobs', async () => {
    await withPrefix('list-empty', async (prefix) => {
      expect((await redgrad(['list'], prefix)).stdout).toBe('no jobs\n');
      expect(JSON.parse((await redgrad(['list', '--json'], prefix)).stdout)).toEqual([]);
    });
  });
});

describe('redgrad workers', () => {
  it('shows live workers and what each computes; expired or malformed heartbeats are left out', async () => {
    await withPrefix('workers', async (prefix, keys) => {
      const now = Date.now();
      const busy: WorkerHeartbeat = {
        workerId: 'w-busy',
        host: 'host-a',
        pid: 11,
        kernel: 'js',
        startedAt: now - 90_000,
        lastSeen: now,
        current: { jobId: 'job-1', step: 7, level: 1, index: 2 },
      };
      const idle: WorkerHeartbeat = {
        workerId: 'w-idle',
        host: 'host-b',
        pid: 22,
        kernel: 'wasm-simd',
        startedAt: now - 5_000,
        lastSeen: now - 1000,
      };
      for (const hb of [busy, idle]) {
        await redis.set(keys.worker(hb.workerId), encodeHeartbeat(hb), 'EX', 60);
        await redis.zadd(keys.workers(), hb.lastSeen, hb.workerId);
      }
      await redis.zadd(keys.workers(), now - 500, 'w-gone'); // registered, heartbeat expired
      await redis.set(keys.worker('w-garbled'), '{"workerId":', 'EX', 60);
      await redis.zadd(keys.workers(), now - 200, 'w-garbled');

      const human = await redgrad(['workers'], prefix);
      expect(human.code).toBe(0);
      const lines = human.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      // the CLI takes a second or two to start, so the uptime is matched loosely
      expect(lines[0]).toMatch(/^w-busy\s+host-a:11 js up 1m[34]\ds job job-1 step 7 block 1\/2$/);
      expect(lines[1]).toMatch(/^w-idle\s+host-b:22 wasm-simd up \d+\.\ds idle$/);

      const json = JSON.parse((await redgrad(['workers', '--json'], prefix)).stdout);
      expect(json).toEqual([busy, idle]);
    });
  });

  it('says so when no worker is live', async () => {
    await withPrefix('workers-none', async (prefix) => {
      expect((await redgrad(['workers'], prefix)).stdout).toBe('no live workers\n');
      expect(JSON.parse((await redgrad(['workers', '--json'], prefix)).stdout)).toEqual([]);
    });
  });
});
