import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { modelOf, modelToJson, trainLocal } from '@redgrad/train';

const ROOT = new URL('../../', import.meta.url).pathname;
export const BINS = {
  coordinator: join(ROOT, 'apps/coordinator/bin/redgrad-coordinator.js'),
  worker: join(ROOT, 'apps/worker/bin/redgrad-worker.js'),
  cli: join(ROOT, 'apps/cli/bin/redgrad.js'),
};

/** Fast fail-over settings so kill tests finish in seconds (defaults are 10–30 s). */
export const FAST_FAILOVER = {
  REDGRAD_TASK_LOCK_MS: '2000',
  REDGRAD_TASK_STALLED_INTERVAL_MS: '1000',
  REDGRAD_TASK_TIMEOUT_MS: '3000',
  REDGRAD_JOB_LOCK_MS: '2000',
  REDGRAD_JOB_STALLED_INTERVAL_MS: '1000',
  REDGRAD_HEARTBEAT_MS: '500',
};

export interface Service {
  name: string;
  proc: ChildProcess;
  pid: number;
  logs: () => string;
  alive: () => boolean;
  /** SIGTERM and wait for exit (SIGKILL after 10 s); resolves with the exit code. */
  stop: () => Promise<number | null>;
  kill9: () => Promise<void>;
}

const running = new Set<Service>();

/** Starts a real service bin as a child process (one node process, so its PID is the service). */
export function startService(
  kind: 'coordinator' | 'worker',
  env: Record<string, string>,
  name: string = kind,
): Service {
  return startCommand(name, [process.execPath, BINS[kind]], env);
}

export function startCommand(name: string, command: string[], env: Record<string, string>): Service {
  const proc = spawn(command[0], command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  let log = '';
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-200_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  let exited = false;
  let code: number | null = null;
  const exit = new Promise<void>((r) =>
    proc.once('exit', (c) => {
      exited = true;
      code = c;
      r();
    }),
  );
  const svc: Service = {
    name,
    proc,
    pid: proc.pid!,
    logs: () => log,
    alive: () => !exited,
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exit;
        clearTimeout(t);
      }
      running.delete(svc);
      return code;
    },
    kill9: async () => {
      proc.kill('SIGKILL');
      await exit;
      running.delete(svc);
    },
  };
  running.add(svc);
  return svc;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** Runs the CLI; never throws, returns exit code and output. */
export function cli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BINS.cli, ...args],
      { env: { ...process.env, ...env }, cwd: ROOT, timeout: timeoutMs, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** The reference: the bytes `redgrad train --local --out` writes for this spec. */
export async function localModelBytes(specPath: string): Promise<Buffer> {
  const run = await trainLocal(specPath);
  return Buffer.from(modelToJson(modelOf(run.job, run.result, run.model.kernel!)));
}

export async function writeSpec(spec: Record<string, unknown>, name = 'job.json'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'redgrad-e2e-'));
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(spec, null, 2));
  return path;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

export const IRIS = (over: Record<string, unknown> = {}) => ({
  name: 'iris-e2e',
  data: { builtin: 'iris' },
  testSplit: 0.2,
  scaling: 'standard',
  model: { hidden: [16], activation: 'tanh', output: 'softmax' },
  loss: 'cross-entropy',
  optimizer: { type: 'adam', lr: 0.01 },
  batchSize: 16,
  shardSize: 4,
  epochs: 8,
  seed: 11,
  ...over,
});

/**
 * The usual setup of an end-to-end test file: a connection to the test Redis (for looking at keys)
 * and every service started by a test stopped after it.
 */
export function useTestRedis(): { readonly url: string; readonly redis: Redis } {
  const url = inject('redisUrl');
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis?.quit();
  });
  afterEach(async () => {
    await stopAll();
  });
  return {
    url,
    get redis() {
      return redis!;
    },
  };
}

/** The last line of a command's stdout as JSON (`submit --watch --json` prints the id line first). */
// biome-ignore lint/suspicious/noExplicitAny: each command prints its own JSON shape, which the calling test reads
export function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').pop() || '{}');
}

/** Waits until `redgrad status` shows the job past `fraction` of its steps (or past `minSteps`). */
export async function waitForProgress(
  env: Record<string, string>,
  jobId: string,
  fraction: number,
  minSteps = 0,
): Promise<void> {
  await waitFor(
    `${jobId} to pass ${Math.round(fraction * 100)}% of its steps`,
    async () => {
      const p = lastJson((await cli(['status', jobId, '--json'], env)).stdout).progress;
      return p && p.step > Math.max(minSteps, p.steps * fraction);
    },
    60_000,
    200,
  );
}
