import { describe, expect, inject, it } from 'vitest';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { cleanPrefix, pointsAtForbiddenRedis, startRedisServer, uniquePrefix } from './redis.js';

describe('test Redis', () => {
  it('is provided and is not the one on port 6379', async () => {
    const url = inject('redisUrl');
    expect(url).toBe(process.env.REDGRAD_TEST_REDIS_URL);
    expect(pointsAtForbiddenRedis(url)).toBe(false);
    const redis = new Redis(url, { lazyConnect: true });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    const prefix = uniquePrefix('setup');
    await redis.set(`${prefix}:a`, '1');
    await redis.set(`{${prefix}}:b`, '2');
    await redis.set('unrelated-key-of-' + prefix, '3');
    expect(await cleanPrefix(redis, prefix)).toBe(2);
    expect(await redis.exists(`${prefix}:a`, `{${prefix}}:b`)).toBe(0);
    expect(await redis.del('unrelated-key-of-' + prefix)).toBe(1);
    redis.disconnect();
  });

  it('recognises the forbidden Redis URLs', () => {
    expect(pointsAtForbiddenRedis('redis://127.0.0.1:6379')).toBe(true);
    expect(pointsAtForbiddenRedis('redis://localhost')).toBe(true);
    expect(pointsAtForbiddenRedis('redis://localhost:6390/0')).toBe(false);
    expect(pointsAtForbiddenRedis('redis://redis:6379')).toBe(false);
  });

  it('restarts a private redis-server with AOF on the same port and dir, keeping data', async () => {
    const first = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    const a = new Redis(first.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await a.connect();
    await a.set('survives', 'yes');
    a.disconnect();
    await first.stop();
    await first.stop(); // safe twice
    const second = await startRedisServer({ appendonly: true, port: first.port, dir: first.dir });
    expect(second.port).toBe(first.port);
    const b = new Redis(second.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await b.connect();
    expect(await b.get('survives')).toBe('yes');
    b.disconnect();
    second.kill('SIGKILL');
    await second.exited;
    rmSync(second.dir, { recursive: true, force: true });
  });

  it('refuses port 6379', async () => {
    if (process.env.REDGRAD_TEST_ALLOW_6379 === '1') return;
    await expect(startRedisServer({ port: 6379 })).rejects.toThrow(/6379/);
  });
});
