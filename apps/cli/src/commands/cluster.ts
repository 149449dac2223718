import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { ClusterClient, RedisUnavailableError, clusterEnv, connectChecked, redactUrl } from '@redgrad/cluster';
import { CliError } from '../errors.js';
import { freePort, redisServerArgs } from '../local-redis.js';
import { coordinatorComputes, reportPayoff } from './payoff.js';
import { onClosedStdout } from '../closed-stdout.js';

const APPS = fileURLToPath(new URL('../../../', import.meta.url));
/** The same commands the compose file runs (docker-compose.yml `command:`), as local processes. */
const SERVICE_COMMANDS = {
  coordinator: ['node', join(APPS, 'coordinator/bin/redgrad-coordinator.js')],
  worker: ['node', join(APPS, 'worker/bin/redgrad-worker.js')],
} as const;

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<void>;
}

export interface ClusterFlags {
  workers: string;
  submit?: string;
  out?: string;
  json?: boolean;
  /** show redis-server's own log lines (its banner, the memory-overcommit warning) */
  redisLogs?: boolean;
}

/** redis-server's last lines, kept quiet unless asked, shown if it stops on its own. */
const REDIS_TAIL = 20;

/**
 * `redgrad cluster`: Redis (REDIS_URL, or a private redis-server with AOF plus a second one without
 * persistence for per-step traffic), one coordinator and N workers as local processes, for machines
 * without Docker. With --submit it runs one job and exits with its
 * fate; otherwise it runs until Ctrl-C. Everything it started is stopped on the way out.
 */
export async function clusterCommand(
  flags: ClusterFlags,
  follow: (c: ClusterClient, jobId: string, extra: Record<string, unknown>) => Promise<number>,
): Promise<void> {
  const n = Number(flags.workers);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new CliError(`--workers: expected an integer from 1 to 64, got ${flags.workers}`);
  const logStream = flags.json ? process.stderr : process.stdout;
  const say = (s: string) => logStream.write(`[cluster] ${s}\n`);
  const children: Child[] = [];
  let redisDir: string | undefined;
  let stopping: Promise<void> | undefined;

  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      // workers and coordinator first (they finish or hand back their work), Redis last
      const isRedis = (c: Child) => c.name.startsWith('redis');
      const order = [...children].reverse();
      for (const group of [order.filter((c) => !isRedis(c)), order.filter(isRedis)]) {
        await Promise.all(
          group.map(async (c) => {
            if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
            c.proc.kill('SIGTERM');
            const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
            await c.exited;
            clearTimeout(t);
          }),
        );
      }
      if (redisDir) rmSync(redisDir, { recursive: true, force: true });
    })());

  const forgetStdout = onClosedStdout(stopAll);
  const onSignal = () => {
    say('stopping everything this command started…');
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const start = (name: string, command: readonly string[], env: NodeJS.ProcessEnv, quiet = false): Child => {
    const proc = spawn(command[0] === 'node' ? process.execPath : command[0], command.slice(1), {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const held: string[] = [];
    for (const stream of [proc.stdout!, proc.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (!quiet) logStream.write(`[${name}] ${readable(line)}\n`);
        else if (held.push(line) > REDIS_TAIL) held.shift();
      });
    }
    proc.once('exit', (code, signal) => {
      if (stopping) return;
      for (const line of held) logStream.write(`[${name}] ${line}\n`);
      say(`${name} exited (${signal ?? `code ${code}`})`);
    });
    const child = { name, proc, exited };
    children.push(child);
    return child;
  };

  try {
    const env = clusterEnv();
    let redisUrl = process.env.REDIS_URL;
    let stepRedisUrl = process.env.REDGRAD_STEP_REDIS_URL;
    if (!redisUrl) {
      redisDir = mkdtempSync(join(tmpdir(), 'redgrad-cluster-'));
      const startRedis = async (name: string, appendonly: boolean) => {
        const port = await freePort();
        const redis = start(
          name,
          ['redis-server', ...redisServerArgs(port, redisDir!, { appendonly }), '--loglevel', 'warning'],
          process.env,
          !flags.redisLogs,
        );
        const failed = await new Promise<Error | null>((resolve) => {
          redis.proc.once('error', (e) => resolve(e));
          setTimeout(() => resolve(null), 200);
        });
        if (failed)
          throw new RedisUnavailableError(
            `no Redis: REDIS_URL is not set and redis-server could not start (${failed.message}); install it (apt-get install redis-server), set REDIS_URL, or use docker compose up`,
          );
        return `redis://127.0.0.1:${port}`;
      };
      // job state durable (AOF); step traffic (weights and gradients, milliseconds of life) in a
      // second server without persistence, so it never costs disk
      [redisUrl, stepRedisUrl] = await Promise.all([
        startRedis('redis', true),
        stepRedisUrl ? Promise.resolve(stepRedisUrl) : startRedis('redis-steps', false),
      ]);
      say(
        `started redis-server on ${redisUrl} (AOF in ${redisDir}) and ${stepRedisUrl} for step traffic (no persistence)`,
      );
    }
    const client = new ClusterClient(await waitForRedis(redisUrl), env.prefix);
    // following one job on a terminal: the progress bar is the interesting part, services only speak up for warnings
    const quiet = flags.submit && !flags.json && !process.env.REDGRAD_LOG_LEVEL;
    const serviceEnv = {
      ...process.env,
      REDIS_URL: redisUrl,
      REDGRAD_PREFIX: env.prefix,
      ...(stepRedisUrl ? { REDGRAD_STEP_REDIS_URL: stepRedisUrl } : {}),
      ...(quiet ? { REDGRAD_LOG_LEVEL: 'warn' } : {}),
    };
    start('coordinator', SERVICE_COMMANDS.coordinator, serviceEnv);
    for (let i = 1; i <= n; i++)
      start(`worker-${i}`, SERVICE_COMMANDS.worker, {
        ...serviceEnv,
        REDGRAD_WORKER_ID: `local-worker-${i}-${process.pid}`,
      });
    say(`coordinator and ${n} worker(s) starting against ${redactUrl(redisUrl)} (prefix ${env.prefix})`);
    if (!flags.submit) {
      say('running; submit jobs from another terminal with REDIS_URL set, Ctrl-C stops everything');
      await new Promise(() => {});
    }
    const r = await client.submit(flags.submit!);
    say(`submitted ${r.jobId}`);
    const payoff = reportPayoff(r, n, { json: flags.json, coordinatorComputes: coordinatorComputes(serviceEnv) });
    process.exitCode = await follow(client, r.jobId, { payoff });
    if (flags.out && process.exitCode === 0) {
      await writeFile(flags.out, (await client.model(r.jobId))!);
      say(`model written to ${flags.out}`);
    }
    await client.close();
  } finally {
    await stopAll();
    forgetStdout();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function waitForRedis(url: string) {
  for (let i = 0; ; i++) {
    try {
      return await connectChecked(url, 'redgrad-cluster', 2000);
    } catch (e) {
      if (i === 49) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'service', 'name', 'msg']);

/** pino JSON → "info job started {job: …}" for people; anything else passes through. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    const extra = Object.entries(o)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${LEVELS[o.level as number] ?? o.level} ${o.msg ?? ''}${extra ? ` ${extra}` : ''}`;
  } catch {
    return line;
  }
}
