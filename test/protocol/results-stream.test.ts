import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  Keys,
  decodeShardResult,
  encodeShardResult,
  openStepResults,
  pushStepResult,
  readStepResults,
} from '@redgrad/protocol';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

describe('a step results stream', () => {
  let redis: Redis;
  let reader: Redis;
  const prefix = uniquePrefix('rs');
  const keys = new Keys(prefix);

  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 3 });
    reader = redis.duplicate();
  });
  afterAll(async () => {
    await cleanPrefix(redis, prefix);
    redis.disconnect();
    reader.disconnect();
  });

  it('takes results only while open, skips its marker, counts foreign entries and never re-creates a closed step', async () => {
    const key = keys.results('job-1', 4);
    const grad = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const payload = encodeShardResult({
      jobId: 'job-1',
      step: 4,
      level: 0,
      index: 1,
      count: 3,
      lossSum: 0.5,
      correct: 2,
      grad,
      workerId: 'w1',
      computeMs: 1,
    });

    expect(await pushStepResult(redis, key, payload)).toBe(false); // not opened yet
    expect(await redis.exists(key)).toBe(0);

    await openStepResults(redis.pipeline(), key, 60).exec();
    expect(await redis.ttl(key)).toBeGreaterThan(50);
    expect(await readStepResults(reader, key, '0', 20)).toMatchObject({ messages: [], foreign: 0 }); // only the marker

    expect(await pushStepResult(redis, key, payload)).toBe(true);
    await redis.xadd(key, '*', 'other', 'x');
    const read = await readStepResults(reader, key, '0', 20);
    expect(read?.messages).toHaveLength(1);
    expect(read?.foreign).toBe(1);
    expect(
      decodeShardResult(read!.messages[0], { jobId: 'job-1', step: 4, level: 0, index: 1, count: 3, length: 1000 })
        .grad,
    ).toEqual(grad);
    expect(await readStepResults(reader, key, read!.lastId, 20)).toBeNull(); // nothing newer: times out

    await redis.unlink(key); // the step ends
    expect(await pushStepResult(redis, key, payload)).toBe(false);
    expect(await redis.exists(key)).toBe(0);
  });
});
