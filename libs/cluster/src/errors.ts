import { RedgradError } from '@redgrad/errors';

/** An id that does not fit the jobs in Redis: taken already (submit --id), or no such job. */
export class JobIdError extends RedgradError {
  override name = 'JobIdError';
  declare readonly code: 'job-exists' | 'no-such-job';

  constructor(code: 'job-exists' | 'no-such-job', message: string) {
    super('user', code, message);
  }
}

/** A setting that cannot work: a malformed environment variable, a Redis password that is refused. */
export class ConfigError extends RedgradError {
  override name = 'ConfigError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'bad-config', message, options);
  }
}

/**
 * Nothing answers at the Redis URL, or no Redis could be started: the user's setup to fix (start
 * Redis, correct REDIS_URL), like a refused password, so a user error (exit 1) with no stack.
 */
export class RedisUnavailableError extends RedgradError {
  override name = 'RedisUnavailableError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'redis-unavailable', message, options);
  }
}
