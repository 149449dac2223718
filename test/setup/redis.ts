// Test helpers for a throwaway Redis: spawn a local redis-server on a free
// port (never 6379 — a developer's Redis runs there), and keep tests apart
// with unique key prefixes that are cleaned with SCAN afterwards.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { freePort, redisServerArgs } from '@redgrad/cli';

/** Port of the developer's own Redis; tests must never touch it. */
export const FORBIDDEN_PORT = 6379;

export function allow6379(): boolean {
  return process.env.REDGRAD_TEST_ALLOW_6379 === '1';
}

/** True when `url` names 127.0.0.1:6379 / localhost:6379 (or omits the port, which defaults to 6379). */
export function pointsAtForbiddenRedis(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const local = host === '127.0.0.1' || host === 'localhost' || host === '::1' || host === '0.0.0.0';
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  return local && port === FORBIDDEN_PORT;
}

export interface StartRedisOptions {
  /** Turn on AOF persistence (for restart tests). Default false. */
  appendonly?: boolean;
  /** appendfsync policy when appendonly is on. Default 'everysec' (Redis's own default). */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Working directory (AOF lives here). Default: a fresh temp dir. Reuse it to restart with the same data. */
  dir?: string;
  /** Port to listen on. Default: a free port. Pass the previous one to restart in place. */
  port?: number;
  /** How long to wait for PING to answer. Default 10 s. */
  readyTimeoutMs?: number;
  /** redis-server binary. Default `REDIS_SERVER_BIN` env or `redis-server`. */
  bin?: string;
}

export interface RunningRedis {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** SIGTERM (Redis flushes the AOF and exits), SIGKILL after 5 s; resolves once the process is gone. Safe to call twice. */
  stop(): Promise<void>;
  /** Send a signal without waiting (e.g. SIGKILL to simulate a crash); await `exited` afterwards. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export { freePort };

/** One raw RESP PING; true on +PONG (a -LOADING reply while the AOF loads counts as not ready). */
function pingOnce(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Children still alive when this process exits get killed, so an aborted test
// run does not leave redis-servers behind.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

async function startOnce(port: number, dir: string, opts: StartRedisOptions): Promise<RunningRedis> {
  const bin = opts.bin ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const args = [
    ...redisServerArgs(port, dir, { appendonly: opts.appendonly }),
    '--loglevel',
    'warning',
    '--logfile',
    '',
    '--daemonize',
    'no',
  ];
  if (opts.appendonly) args.push('--appendfsync', opts.appendfsync ?? 'everysec');

  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let log = '';
  const keepLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  };
  // Always drain the pipes: a full pipe would block redis-server.
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);

  let exitedFlag = false;
  let exitInfo = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      exitInfo = signal ? `signal ${signal}` : `code ${code}`;
      liveChildren.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      exitedFlag = true;
      exitInfo = `spawn error: ${err.message}`;
      liveChildren.delete(child);
      resolve();
    });
  });

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (exitedFlag) {
      throw new Error(`redis-server on port ${port} exited before answering PING (${exitInfo}): ${log.trim()}`);
    }
    if (await pingOnce(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`redis-server on port ${port} did not answer PING in time: ${log.trim()}`);
    }
    await sleep(25);
  }

  const stop = async (): Promise<void> => {
    if (exitedFlag) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    dir,
    stop,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => {
      if (!exitedFlag) child.kill(signal);
    },
    exited,
  };
}

/**
 * Start a private redis-server. With `port` and `dir` from a previous instance
 * (after `stop()`), it restarts in place and — with `appendonly: true` — reloads its AOF.
 */
export async function startRedisServer(opts: StartRedisOptions = {}): Promise<RunningRedis> {
  if (opts.port === FORBIDDEN_PORT && !allow6379()) {
    throw new Error('startRedisServer: refusing port 6379 (set REDGRAD_TEST_ALLOW_6379=1 to allow)');
  }
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'redgrad-redis-'));
  if (opts.port !== undefined) return startOnce(opts.port, dir, opts);
  // A free port can be taken between probing and binding; retry a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    let port = await freePort();
    while (port === FORBIDDEN_PORT) port = await freePort();
    try {
      return await startOnce(port, dir, opts);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

/** `t-<name>-<random>`: a key prefix no other test (or run) shares. Safe for `Keys` (no spaces, braces or colons). */
export function uniquePrefix(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 40) || 'test';
  return `t-${clean}-${randomBytes(6).toString('hex')}`;
}

function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

/**
 * Delete every key under `prefix` — plain (`prefix…`) and BullMQ's hash-tagged
 * form (`{prefix}…`) — walking with SCAN, never KEYS. Returns how many were deleted.
 */
export async function cleanPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix.length < 3) throw new Error(`cleanPrefix: prefix "${prefix}" is too short to be safe`);
  let deleted = 0;
  for (const pattern of [`${escapeGlob(prefix)}*`, `${escapeGlob(`{${prefix}}`)}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
