import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Keys } from '@redgrad/protocol';
import type { DatasetLike } from '@redgrad/protocol';
import { uploadDataset } from '@redgrad/cluster';
import { DatasetCache } from '../../apps/worker/src/caches.js';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await redis.quit();
});

/** n rows of 2 features and 1 target: 12 bytes of float32 per row in the cache. */
function rows(n: number, seed: number): DatasetLike {
  return {
    name: `set-${seed}`,
    task: 'regression',
    n,
    features: 2,
    outputs: 1,
    x: Float32Array.from({ length: 2 * n }, (_, i) => seed + i * 0.5),
    y: Float32Array.from({ length: n }, (_, i) => seed - i),
  };
}
const hashOf = (seed: number) => String(seed).repeat(8);

async function withSets<T>(name: string, sets: Record<number, number>, fn: (keys: Keys) => Promise<T>): Promise<T> {
  const prefix = uniquePrefix(name);
  const keys = new Keys(prefix);
  try {
    for (const [seed, n] of Object.entries(sets))
      await uploadDataset(redis, keys, rows(n, Number(seed)), hashOf(Number(seed)));
    return await fn(keys);
  } finally {
    await cleanPrefix(redis, prefix);
  }
}

/** Drops every stored set, so a later get can only be answered from the cache. */
async function forgetStored(keys: Keys): Promise<void> {
  await cleanPrefix(redis, keys.prefix);
}

describe('the worker’s data set cache', () => {
  it('evicts the least recently used set once the byte budget is exceeded', async () => {
    // three sets of 10 rows (120 bytes each) and room for two
    await withSets('cache-lru', { 1: 10, 2: 10, 3: 10 }, async (keys) => {
      const cache = new DatasetCache(240);
      const a = await cache.get(redis, keys, hashOf(1));
      expect(a?.x[1]).toBe(1.5);
      await cache.get(redis, keys, hashOf(2));
      expect(await cache.get(redis, keys, hashOf(1))).toBe(a); // a hit, and set 1 becomes the most recent
      await cache.get(redis, keys, hashOf(3)); // over budget: set 2, the least recently used, goes
      expect(cache.size).toBe(2);
      await forgetStored(keys);
      expect(await cache.get(redis, keys, hashOf(1))).toBe(a);
      expect((await cache.get(redis, keys, hashOf(3)))?.name).toBe('set-3');
      expect(await cache.get(redis, keys, hashOf(2))).toBeNull();
    });
  });

  it('keeps the set just loaded even when it alone is over budget, evicting the others', async () => {
    await withSets('cache-big', { 1: 5, 2: 50 }, async (keys) => {
      const cache = new DatasetCache(100);
      await cache.get(redis, keys, hashOf(1));
      const big = await cache.get(redis, keys, hashOf(2)); // 600 bytes
      expect(cache.size).toBe(1);
      await forgetStored(keys);
      expect(await cache.get(redis, keys, hashOf(2))).toBe(big);
      expect(await cache.get(redis, keys, hashOf(1))).toBeNull();
    });
  });

  it('downloads a set once for concurrent requests, and caches nothing for a missing set', async () => {
    await withSets('cache-shared', { 4: 10 }, async (keys) => {
      const cache = new DatasetCache(1 << 20);
      const [p, q] = await Promise.all([cache.get(redis, keys, hashOf(4)), cache.get(redis, keys, hashOf(4))]);
      expect(p).not.toBeNull();
      expect(q).toBe(p);
      expect(await cache.get(redis, keys, hashOf(5))).toBeNull();
      expect(cache.size).toBe(1);
    });
  });
});
