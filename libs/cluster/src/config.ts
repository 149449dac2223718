import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DEFAULT_PREFIX } from '@redgrad/protocol';
import { ConfigError, RedisUnavailableError } from './errors.js';

/**
 * Service and client settings from the environment; every knob has a default and is documented in
 * README.md ("Configuration").
 */
export interface ClusterEnv {
  redisUrl: string;
  prefix: string;
}

export function clusterEnv(env: NodeJS.ProcessEnv = process.env): ClusterEnv {
  return { redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379', prefix: env.REDGRAD_PREFIX || DEFAULT_PREFIX };
}

/** What every service is built from: where Redis is, the key prefix, its logger and its name. */
export interface ServiceOptions {
  redisUrl: string;
  prefix: string;
  log: Logger;
  /** Name in logs and the worker registry; default `<kind>-<host>-<pid>`. */
  id?: string;
}

/** Reads a positive integer setting; a bad value is an error naming the variable. */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min)
    throw new ConfigError(`${name}: expected an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

/**
 * An ioredis connection from a redis:// or rediss:// (TLS) URL, with a password when the URL has one.
 * `maxRetriesPerRequest: null` is what BullMQ workers need: commands wait for a reconnect instead
 * of failing while Redis restarts.
 */
export function connectRedis(url: string, name: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, enableOfflineQueue: true });
}

/** A Redis URL fit for logs and messages: the password, if any, masked. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** Connects and PINGs with a deadline, so a CLI command fails fast with a clear reason. */
export async function connectChecked(url: string, name: string, timeoutMs = 5000): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url))
    throw new ConfigError(
      `REDIS_URL: expected redis://[:password@]host:port[/db] or rediss://… for TLS, got ${redactUrl(url)}`,
    );
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectionName: name,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  const shown = redactUrl(url);
  // the socket's own error (ECONNREFUSED, …) says more than the "Connection is closed." that connect()
  // rejects with, and without a listener ioredis prints it to stderr as unhandled
  let socketError: Error | undefined;
  const onError = (e: Error) => {
    socketError ??= e;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const msg = (socketError ?? (e as Error)).message;
    if (/NOAUTH|WRONGPASS|invalid password|AUTH/i.test(msg))
      throw new ConfigError(
        `Redis at ${shown} refused the password (${msg}); set REDIS_URL=redis://:PASSWORD@host:port`,
        { cause: e },
      );
    throw new RedisUnavailableError(
      `cannot reach Redis at ${shown} (${msg}); start one (redis-server, docker compose up redis) or set REDIS_URL`,
      { cause: e },
    );
  }
  redis.off('error', onError);
  // from here on, behave like a service connection: wait through reconnects
  redis.options.maxRetriesPerRequest = null;
  redis.options.retryStrategy = (times: number) => Math.min(times * 200, 2000);
  return redis;
}
