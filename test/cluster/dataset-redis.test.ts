import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DatasetLike } from '@redgrad/protocol';
import { Keys, ProtocolError, decodeShardResult, encodeShardResult } from '@redgrad/protocol';
import { downloadDataset, readDatasetMeta, uploadDataset } from '@redgrad/cluster';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

const HASH = 'c3'.repeat(32);

function pixelSet(n: number, features: number): DatasetLike {
  const x = Float32Array.from({ length: n * features }, (_, i) => ((i * 13) % 256) / 255);
  const y = new Float32Array(n * 4);
  for (let r = 0; r < n; r++) y[r * 4 + (r % 4)] = 1;
  return { name: 'px', task: 'classification', n, features, outputs: 4, x, y, classes: ['a', 'b', 'c', 'd'] };
}

describe('data sets in Redis', () => {
  let redis: Redis;
  let prefix: string;
  let keys: Keys;

  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { lazyConnect: true, maxRetriesPerRequest: 3 });
    await redis.connect();
  });
  afterAll(() => {
    redis.disconnect();
  });
  afterEach(async () => {
    await cleanPrefix(redis, prefix);
    expect(await redis.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 1000)).toEqual(['0', []]);
  });

  const fresh = (name: string): void => {
    prefix = uniquePrefix(name);
    keys = new Keys(prefix);
  };

  it('uploads once, finds it present the second time, and downloads it bit for bit', async () => {
    fresh('upload');
    const ds = pixelSet(1000, 50);
    const first = await uploadDataset(redis, keys, ds, HASH, undefined, 300);
    expect(first.uploaded).toBe(true);
    expect(first.meta.chunks).toBe(4);
    expect(first.bytes).toBeGreaterThan(1000 * 50);
    const second = await uploadDataset(redis, keys, ds, HASH);
    expect(second).toEqual({ uploaded: false, meta: first.meta, bytes: 0 });

    const back = await downloadDataset(redis, keys, HASH);
    expect(back).toEqual(ds);
    expect(await redis.ttl(keys.dataMeta(HASH))).toBe(-1);
  });

  it('returns null for an absent data set', async () => {
    fresh('absent');
    expect(await downloadDataset(redis, keys, HASH)).toBeNull();
    expect(await readDatasetMeta(redis, keys, HASH)).toBeNull();
  });

  it('treats a half-uploaded set (chunks without meta) as absent', async () => {
    fresh('half');
    const ds = pixelSet(100, 8);
    await uploadDataset(redis, keys, ds, HASH, undefined, 30);
    await redis.del(keys.dataMeta(HASH));
    expect(await downloadDataset(redis, keys, HASH)).toBeNull();
    expect((await uploadDataset(redis, keys, ds, HASH, undefined, 30)).uploaded).toBe(true);
  });

  it('sets TTLs with chunks outliving the meta, and refreshes them on reuse', async () => {
    fresh('ttl');
    const ds = pixelSet(100, 8);
    await uploadDataset(redis, keys, ds, HASH, 60, 40);
    const metaTtl = await redis.ttl(keys.dataMeta(HASH));
    const chunkTtl = await redis.ttl(keys.dataX(HASH, 2));
    expect(metaTtl).toBeGreaterThan(50);
    expect(metaTtl).toBeLessThanOrEqual(60);
    expect(chunkTtl).toBeGreaterThan(metaTtl);
    await uploadDataset(redis, keys, ds, HASH, 3600);
    expect(await redis.ttl(keys.dataMeta(HASH))).toBeGreaterThan(3500);
    expect(await redis.ttl(keys.dataY(HASH, 0))).toBeGreaterThan(3600);
  });

  it('reports a missing chunk by name', async () => {
    fresh('missing');
    await uploadDataset(redis, keys, pixelSet(100, 8), HASH, undefined, 30);
    await redis.del(keys.dataX(HASH, 2));
    const err = await downloadDataset(redis, keys, HASH).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('missing');
    expect((err as ProtocolError).message).toBe(`data set ${HASH}: chunk 2 of 4 is missing (x)`);
  });

  it('of two concurrent uploads exactly one reports uploaded', async () => {
    fresh('race');
    const ds = pixelSet(500, 16);
    const results = await Promise.all([
      uploadDataset(redis, keys, ds, HASH, undefined, 50),
      uploadDataset(redis, keys, ds, HASH, undefined, 50),
    ]);
    expect(results.filter((r) => r.uploaded)).toHaveLength(1);
    expect(await downloadDataset(redis, keys, HASH)).toEqual(ds);
  });

  it('decodes a shard result read back with getBuffer', async () => {
    fresh('getbuffer');
    const grad = Float32Array.from({ length: 333 }, (_, i) => i / 7);
    const key = keys.results('job-1', 3);
    await redis.set(
      key,
      encodeShardResult({
        jobId: 'job-1',
        step: 3,
        level: 0,
        index: 0,
        count: 8,
        lossSum: 1.25,
        correct: 5,
        grad,
        workerId: 'w1',
        computeMs: 2,
      }),
    );
    const buf = await redis.getBuffer(key);
    expect(buf).not.toBeNull();
    const r = decodeShardResult(buf as Buffer, { jobId: 'job-1', step: 3, level: 0, index: 0, count: 8, length: 333 });
    expect(r.grad).toEqual(grad);
    expect(r.grad.byteOffset % 4).toBe(0);
  });
});
