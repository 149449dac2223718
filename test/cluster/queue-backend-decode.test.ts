import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { GRADIENT_QUEUE, Keys, pushStepResult } from '@redgrad/protocol';
import type { GradientTask } from '@redgrad/protocol';
import { QueueBackend } from '@redgrad/cluster';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

// A decoder with a bug: the message "bug" makes it throw something other than a ProtocolError.
vi.mock('@redgrad/protocol', async (importOriginal) => {
  const real = await importOriginal<typeof import('@redgrad/protocol')>();
  return {
    ...real,
    decodeShardMessage: (buf: Uint8Array, expect: Parameters<typeof real.decodeShardMessage>[1]) => {
      if (Buffer.from(buf).toString() === 'bug') throw new TypeError('a bug in the decoder');
      return real.decodeShardMessage(buf, expect);
    },
  };
});

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
});

describe('QueueBackend reading a step’s results', () => {
  it('drops a message that fails its checks, but lets any other error from the decode propagate', async () => {
    const prefix = uniquePrefix('qb-decode');
    const keys = new Keys(prefix);
    const queue = new Queue<GradientTask>(GRADIENT_QUEUE, { connection: redis, prefix: keys.queuePrefix });
    const blocking = redis.duplicate();
    const backend = new QueueBackend({
      redis,
      blocking,
      queue,
      keys,
      jobId: 'decode',
      dataHash: 'ab'.repeat(32),
      kernel: 'js',
      paramCount: 3,
      taskTimeoutMs: 30_000,
      maxAttempts: 3,
      stepTtlSeconds: 60,
      log: pino({ level: 'silent' }),
      workerSlots: () => 1,
    });
    try {
      const step = backend.computeStep(
        { step: 0, epoch: 0, params: new Float32Array(3), shards: [Uint32Array.of(0, 1)] },
        () => {},
      );
      const resultsKey = keys.results('decode', 0);
      for (let i = 0; i < 500 && !(await redis.exists(resultsKey)); i++) await new Promise((r) => setTimeout(r, 10));
      // garbage is a ProtocolError ('truncated'): logged and dropped, the step keeps waiting
      expect(await pushStepResult(redis, resultsKey, Buffer.from([0xc1]))).toBe(true);
      expect(await pushStepResult(redis, resultsKey, Buffer.from('bug'))).toBe(true);
      await expect(step).rejects.toThrow(TypeError);
    } finally {
      await queue.close();
      blocking.disconnect();
      await cleanPrefix(redis, prefix);
    }
  }, 20_000);
});
