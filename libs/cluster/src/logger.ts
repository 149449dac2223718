import { pino } from 'pino';
import type { Logger } from 'pino';

/** Services log pino JSON to stdout; REDGRAD_LOG_LEVEL sets the level (default info). */
export function serviceLogger(name: string, env: NodeJS.ProcessEnv = process.env): Logger {
  return pino({ name, level: env.REDGRAD_LOG_LEVEL || 'info', base: { service: name, pid: process.pid } });
}

export type { Logger };
