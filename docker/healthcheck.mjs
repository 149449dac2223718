#!/usr/bin/env node
// Container healthcheck for the coordinator and worker: PINGs Redis at REDIS_URL and exits 0 when it
// answers PONG, 1 otherwise (unreachable, wrong password, timeout). One attempt, no retries: the
// engine's healthcheck `retries` decides when the container turns unhealthy.
//
//   node docker/healthcheck.mjs            # uses REDIS_URL (default redis://127.0.0.1:6379)
//   HEALTHCHECK_TIMEOUT_MS=2000 node docker/healthcheck.mjs
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS) > 0 ? Number(process.env.HEALTHCHECK_TIMEOUT_MS) : 3000;
const shown = url.replace(/\/\/([^@/]*)@/, '//***@'); // never print the password

function fail(reason) {
  process.stderr.write(`unhealthy: Redis at ${shown}: ${reason}\n`);
  process.exit(1);
}

const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
timer.unref();

const redis = new Redis(url, {
  lazyConnect: true,
  connectTimeout: timeoutMs,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  connectionName: 'redgrad-healthcheck',
});
let lastError; // ioredis reports the cause (ECONNREFUSED, WRONGPASS, ...) here, then "Connection is closed."
redis.on('error', (e) => {
  lastError = e;
});

try {
  await redis.connect();
  const pong = await redis.ping();
  if (pong !== 'PONG') fail(`unexpected reply ${JSON.stringify(pong)}`);
  redis.disconnect();
  process.exit(0);
} catch (e) {
  redis.disconnect();
  fail((lastError ?? e)?.message ?? String(e));
}
