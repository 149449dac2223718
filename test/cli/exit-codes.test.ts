import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RedgradError } from '@redgrad/errors';
import { DataError } from '@redgrad/data';
import { SpecError, TrainingError } from '@redgrad/train';
import { JobIdError, RedisUnavailableError } from '@redgrad/cluster';
import { CliError, EXIT, exitCodeOf } from '@redgrad/cli';
import { Keys, ProtocolError, encodeJobState } from '@redgrad/protocol';
import { cleanPrefix, freePort, startRedisServer, uniquePrefix } from '../setup/redis.js';

const run = promisify(execFile);
const BIN = new URL('../../apps/cli/bin/redgrad.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

async function redgrad(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 1 << 24,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('exit codes follow the error kind', () => {
  it('maps user errors to 1 and internal faults (and anything unknown) to 2, by class', () => {
    for (const e of [
      new SpecError('x'),
      new DataError('x'),
      new CliError('x'),
      new JobIdError('job-exists', 'x'),
      new ProtocolError('bad-name', 'x'),
      new TrainingError('x', 'diverged'),
      new RedisUnavailableError('x'),
    ]) {
      expect(e).toBeInstanceOf(RedgradError);
      expect(exitCodeOf(e), e.name).toBe(EXIT.userError);
    }
    for (const e of [new ProtocolError('truncated', 'x'), new TrainingError('x'), new Error('x'), 'a string']) {
      expect(exitCodeOf(e), String(e)).toBe(EXIT.internalError);
    }
    // a name is not a kind: an Error that merely calls itself SpecError is still unexpected
    const impostor = Object.assign(new Error('x'), { name: 'SpecError' });
    expect(exitCodeOf(impostor)).toBe(EXIT.internalError);
  });

  it('gives every error a name and a stable code', () => {
    const e = new JobIdError('no-such-job', 'no job a');
    expect([e.name, e.kind, e.code]).toEqual(['JobIdError', 'user', 'no-such-job']);
    expect(new SpecError('x').code).toBe('bad-spec');
  });
});

describe('redgrad exit codes', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redgrad-exit-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 when evaluate is given data that does not fit the model', async () => {
    const model = join(dir, 'xor.json');
    expect((await redgrad(['train', '--local', join(EXAMPLES, 'xor.json'), '--out', model, '--json'])).code).toBe(0);
    // the model's classes, one feature column too many: only the shape check can refuse it
    await writeFile(join(dir, 'wide.csv'), 'a,b,c,label\n0,1,1,1\n1,1,0,0\n');
    const r = await redgrad(['evaluate', model, join(dir, 'wide.csv')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^redgrad: .*wide\.csv: has 3 feature columns, the model expects 2$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 for a bad spec and for a usage error', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ data: { builtin: 'iris' }, kernel: 'cuda' }));
    const r = await redgrad(['train', '--local', join(dir, 'bad.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.kernel: expected one of auto, js, wasm-simd, got "cuda"/);
    const usage = await redgrad(['train', '--local', '--no-such-flag', join(dir, 'bad.json')]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/unknown option/);
  });

  it('exits 1 when submit is given a job id that is taken', async () => {
    const prefix = uniquePrefix('dup-id');
    const env = { REDIS_URL: inject('redisUrl'), REDGRAD_PREFIX: prefix };
    const redis = new Redis(env.REDIS_URL);
    try {
      const spec = join(EXAMPLES, 'xor.json');
      expect((await redgrad(['submit', spec, '--id', 'dup'], env)).code).toBe(0);
      const again = await redgrad(['submit', spec, '--id', 'dup'], env);
      expect(again.code).toBe(1);
      expect(again.stderr.trim()).toBe('redgrad: job dup already exists; choose another --id');
    } finally {
      await cleanPrefix(redis, prefix);
      await redis.quit();
    }
  });

  it('exits 1 with one line when no Redis answers where REDIS_URL points, or the URL is malformed', async () => {
    // a port nobody listens on: never the developer's Redis on 6379
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [['status', 'some-job'], ['list'], ['submit', join(EXAMPLES, 'xor.json')]]) {
      const r = await redgrad(args, { REDIS_URL: url, REDGRAD_DEBUG: '1' });
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr, args[0]).toMatch(
        /^redgrad: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED[^\n]*\n$/,
      );
    }
    const malformed = await redgrad(['list'], { REDIS_URL: 'http://example.invalid' });
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toBe(
      'redgrad: REDIS_URL: expected redis://[:password@]host:port[/db] or rediss://… for TLS, got http://example.invalid\n',
    );
  });

  it('exits 1 with one line, not a stack per reconnect, when Redis goes away mid-command for good', async () => {
    const own = await startRedisServer();
    try {
      const prefix = uniquePrefix('lost');
      const redis = new Redis(own.url);
      const keys = new Keys(prefix);
      // a queued job no coordinator will take: watch polls it until Redis goes away
      await redis.hset(
        keys.jobState('lost'),
        encodeJobState({ status: 'queued', name: 'lost', submittedAt: Date.now() }),
      );
      const watching = redgrad(['watch', 'lost'], { REDIS_URL: own.url, REDGRAD_PREFIX: prefix });
      // the CLI is connected and polling (it names its connection) before Redis dies
      await connectedCli(redis);
      redis.disconnect();
      own.kill('SIGKILL');
      const r = await watching;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^redgrad: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ any more \([^\n]*\)\n$/);
      expect(r.stderr).not.toMatch(/Unhandled error event/);
    } finally {
      await own.stop();
    }
  });

  it('waits through a Redis restart mid-command and carries on', async () => {
    const own = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    let restarted = own;
    try {
      const prefix = uniquePrefix('restart');
      const keys = new Keys(prefix);
      let redis = new Redis(own.url);
      await redis.hset(
        keys.jobState('back'),
        encodeJobState({ status: 'queued', name: 'back', submittedAt: Date.now() }),
      );
      const watching = redgrad(['watch', 'back', '--json'], { REDIS_URL: own.url, REDGRAD_PREFIX: prefix });
      await connectedCli(redis);
      redis.disconnect();
      own.kill('SIGKILL');
      await own.exited;
      restarted = await startRedisServer({ appendonly: true, appendfsync: 'always', port: own.port, dir: own.dir });
      redis = new Redis(restarted.url);
      await redis.hset(
        keys.jobState('back'),
        encodeJobState({ status: 'cancelled', name: 'back', submittedAt: Date.now() }),
      );
      const r = await watching;
      redis.disconnect();
      expect(r.code, r.stderr).toBe(EXIT.job.cancelled);
      expect(JSON.parse(r.stdout).status).toBe('cancelled');
    } finally {
      await restarted.stop();
    }
  });
});

/** Resolves once a `redgrad` command has connected to `redis` (it names its connection) and had time to poll. */
async function connectedCli(redis: Redis): Promise<void> {
  while (!((await redis.client('LIST')) as string).includes('name=redgrad-cli'))
    await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
}
