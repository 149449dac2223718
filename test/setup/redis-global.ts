// vitest globalSetup: find a Redis for the test run and hand its URL to tests
// (`inject('redisUrl')` or process.env.REDGRAD_TEST_REDIS_URL).
// Order: REDIS_URL env → testcontainers (when a Docker engine answers) → a
// private redis-server on a free port. Never the Redis on 127.0.0.1:6379.
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { allow6379, pointsAtForbiddenRedis, startRedisServer } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

interface ProvidedRedis {
  url: string;
  how: string;
  stop: () => Promise<void>;
}

async function fromTestcontainers(): Promise<ProvidedRedis | null> {
  if (process.env.REDGRAD_TEST_NO_DOCKER === '1') return null;
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine')
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'])
      .start();
    return {
      url: container.getConnectionUrl(),
      how: `testcontainers (${container.getId().slice(0, 12)})`,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    // Without a Docker engine this fails in milliseconds ("Could not find a
    // working container runtime strategy"); fall through to redis-server.
    const msg = err instanceof Error ? err.message : String(err);
    if (!/container runtime strategy/i.test(msg)) {
      console.warn(`[redis-global] testcontainers failed: ${msg.split('\n')[0]}`);
    }
    return null;
  }
}

async function pickRedis(): Promise<ProvidedRedis> {
  const envUrl = process.env.REDIS_URL;
  if (envUrl) {
    if (pointsAtForbiddenRedis(envUrl) && !allow6379()) {
      throw new Error(
        `[redis-global] REDIS_URL=${envUrl} points at the Redis on port 6379, which tests must not touch. ` +
          'Unset REDIS_URL to use a private redis-server, or set REDGRAD_TEST_ALLOW_6379=1.',
      );
    }
    return { url: envUrl, how: 'REDIS_URL', stop: async () => {} };
  }
  const container = await fromTestcontainers();
  if (container) return container;
  const server = await startRedisServer();
  return {
    url: server.url,
    how: `local redis-server pid ${server.pid} (dir ${server.dir})`,
    stop: async () => {
      await server.stop();
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await pickRedis();
  console.log(`[redis-global] tests use ${redis.url} via ${redis.how}`);
  process.env.REDGRAD_TEST_REDIS_URL = redis.url;
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
  };
}
