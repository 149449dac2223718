export { CliError, EXIT, exitCodeOf } from './errors.js';
export { freePort, redisServerArgs } from './local-redis.js';
