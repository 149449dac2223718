import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { cleanPrefix, startRedisServer, uniquePrefix } from '../setup/redis.js';
import {
  FAST_FAILOVER,
  IRIS,
  cli,
  localModelBytes,
  scanKeys,
  startService,
  stopAll,
  writeSpec,
  useTestRedis,
  lastJson,
  waitForProgress,
} from './harness.js';

const testRedis = useTestRedis();
const redisUrl = testRedis.url;

// the coordinator computes nothing itself: these tests check what the workers did
const envFor = (url: string, prefix: string) => ({
  REDIS_URL: url,
  REDGRAD_PREFIX: prefix,
  REDGRAD_COORDINATOR_COMPUTE: 'off',
  ...FAST_FAILOVER,
});

describe('bad input and faults', () => {
  it('refuses a bad spec and a bad data file at submit, with the same messages as --local', async () => {
    const prefix = uniquePrefix('bad-submit');
    const env = envFor(redisUrl, prefix);
    const bad = await writeSpec({ ...IRIS(), optimizer: { type: 'adam', lr: 'fast' } });
    const r = await cli(['submit', bad], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^redgrad: .*job\.json: spec\.optimizer\.lr: expected a number in \(0, 10\], got "fast"$/,
    );
    const local = await cli(['train', '--local', bad], env);
    expect(local.stderr).toBe(r.stderr);

    const csvSpec = await writeSpec({ ...IRIS(), data: { format: 'csv', path: 'data.csv', label: 'species' } });
    await writeFile(join(csvSpec, '..', 'data.csv'), 'a,b,species\n1,2,x\n3,NaN,y\n');
    const r2 = await cli(['submit', csvSpec], env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/data\.csv line 3: column "b" is NaN; only finite numbers are allowed/);
    expect(await testRedis.redis.exists(`${prefix}:jobs`)).toBe(0); // nothing was queued
    expect(await scanKeys(testRedis.redis, `${prefix}*`), 'nor uploaded').toEqual([]);
    // BullMQ writes its queue's meta key when the client opens the queue; no job entry
    expect((await scanKeys(testRedis.redis, `{${prefix}}*`)).filter((k) => !k.endsWith(':meta'))).toEqual([]);
  });

  it('survives garbage on both queues and on results streams; a concurrent good job finishes byte-identical', async () => {
    const prefix = uniquePrefix('garbage');
    const env = envFor(redisUrl, prefix);
    const spec = await writeSpec(IRIS({ epochs: 6 }));
    const expected = await localModelBytes(spec);
    const coordinator = startService('coordinator', env);
    const worker = startService('worker', env);
    const qopts = { connection: { url: redisUrl }, prefix: `{${prefix}}` };
    const gradients = new Queue('gradients', qopts);
    const jobs = new Queue('jobs', qopts);
    try {
      // truncated msgpack, not msgpack, an unknown type and a foreign entry on the good job's first
      // results streams, and a list where step 5's stream should be
      for (let step = 0; step < 5; step++) {
        const key = `${prefix}:job:{good}:results:${step}`;
        for (const m of [Buffer.from([0x85, 0xa1, 0x76]), Buffer.from('not msgpack at all'), Buffer.alloc(64, 0xc1)])
          await testRedis.redis.xadd(key, '*', 'm', m);
        await testRedis.redis.xadd(key, '*', 'hello', 'world');
      }
      await testRedis.redis.rpush(`${prefix}:job:{good}:results:5`, 'a list');
      await gradients.add('shard', { hello: 'world' }, { jobId: 'garbage-1' });
      await gradients.add(
        'block',
        {
          v: 1,
          jobId: 'ghost',
          step: 0,
          level: 0,
          index: 0,
          weightsKey: `${prefix}:job:{ghost}:w:0`,
          dataHash: 'ab'.repeat(32),
          kernel: 'js',
          paramCount: 10,
          indices: 'AAAAAA==',
        },
        { jobId: 'ghost_0_0_0' },
      );
      await jobs.add('train', { jobId: 'no-such-job' }, { jobId: 'no-such-job' });
      await jobs.add('train', { nonsense: [1, 2, 3] }, { jobId: 'nonsense' });
      const r = await cli(['submit', spec, '--watch', '--json', '--id', 'good'], env);
      expect(lastJson(r.stdout).status, r.stderr).toBe('completed');
      const out = join(spec, '..', 'good-model.json');
      await cli(['export', 'good', '-o', out], env);
      expect(Buffer.compare(await readFile(out), expected)).toBe(0);
      expect(coordinator.alive() && worker.alive()).toBe(true);
      expect(worker.logs()).toMatch(/malformed gradient task/);
      expect(worker.logs()).toMatch(/data set (ab)+ is not in Redis/);
      expect(coordinator.logs()).toMatch(/dropped an invalid shard message/);
      expect(coordinator.logs()).toMatch(/dropped results-stream entries that are not shard messages/);
      expect(coordinator.logs()).toMatch(/results key held another type: replaced/);
      expect(coordinator.logs()).toMatch(/no job record in Redis/);
      expect(coordinator.logs()).toMatch(/malformed entry on the jobs queue/);
      expect(await jobs.getJobState('nonsense')).toBe('failed');
    } finally {
      await gradients.close();
      await jobs.close();
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 120_000);

  it('fails a job whose gradients go non-finite, with the reason, and keeps serving', async () => {
    const prefix = uniquePrefix('nan');
    const env = envFor(redisUrl, prefix);
    const spec = await writeSpec({
      name: 'diverge',
      data: { builtin: 'sine' },
      model: { hidden: [8], activation: 'relu', output: 'identity' },
      loss: 'squared-error',
      optimizer: { type: 'sgd', lr: 10 },
      batchSize: 32,
      shardSize: 16,
      epochs: 50,
      seed: 1,
    });
    const coordinator = startService('coordinator', env);
    startService('worker', env);
    try {
      const r = await cli(['submit', spec, '--watch', '--json', '--id', 'diverge'], env);
      expect(r.code).toBe(1);
      const final = lastJson(r.stdout);
      expect(final.status).toBe('failed');
      expect(final.error).toMatch(/non-finite/);
      const ok = await cli(
        ['submit', await writeSpec(IRIS({ epochs: 2 })), '--watch', '--json', '--id', 'after-nan'],
        env,
      );
      expect(ok.code).toBe(0);
      expect(coordinator.alive()).toBe(true);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 120_000);

  it('cancels a queued job at once and a running job at its next step', async () => {
    const prefix = uniquePrefix('cancel');
    const env = envFor(redisUrl, prefix);
    const spec = await writeSpec(IRIS({ epochs: 400 }));
    try {
      // no coordinator yet: the job waits in the queue and is cancelled on the spot
      expect((await cli(['submit', spec, '--json', '--id', 'queued-one'], env)).code).toBe(0);
      expect(JSON.parse((await cli(['cancel', 'queued-one', '--json'], env)).stdout).status).toBe('cancelled');
      startService('coordinator', env);
      startService('worker', env);
      expect((await cli(['submit', spec, '--json', '--id', 'running-one'], env)).code).toBe(0);
      await waitForProgress(env, 'running-one', 0, 5);
      expect(JSON.parse((await cli(['cancel', 'running-one', '--json'], env)).stdout).status).toBe('running');
      const r = await cli(['watch', 'running-one', '--json'], env);
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout).status).toBe('cancelled');
      const left = await testRedis.redis.keys(`${prefix}:job:{running-one}:*`);
      expect(left.filter((k) => /:(w|results):\d+$/.test(k))).toEqual([]);
      expect((await cli(['export', 'running-one', '-o', join(spec, '..', 'x.json')], env)).stderr).toMatch(
        /has no model \(status cancelled\)/,
      );
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 120_000);

  it('keeps step traffic in a separate Redis without persistence, and finishes byte-identical when that one restarts empty', async () => {
    const steps = await startRedisServer({ appendonly: false });
    const prefix = uniquePrefix('step-redis');
    const env = { ...envFor(redisUrl, prefix), REDGRAD_STEP_REDIS_URL: steps.url };
    const spec = await writeSpec(IRIS({ epochs: 200, checkpointEvery: 5 }));
    const expected = await localModelBytes(spec);
    const coordinator = startService('coordinator', env);
    startService('worker', env);
    let restarted = steps;
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'steps-job'], env);
      expect(sub.code, sub.stderr).toBe(0);
      await waitForProgress(env, 'steps-job', 1 / 3);
      // step keys live in the step Redis only
      expect(
        (await scanKeys(testRedis.redis, `${prefix}:job:{steps-job}:*`)).filter((k) => /:(w|results):\d+$/.test(k)),
      ).toEqual([]);
      steps.kill('SIGKILL');
      await steps.exited;
      await new Promise((r) => setTimeout(r, 500));
      restarted = await startRedisServer({ appendonly: false, port: steps.port, dir: steps.dir });
      const r = await cli(['watch', 'steps-job', '--json'], env, 150_000);
      // whether a step was in flight when the server went away is timing: the queue-backend test
      // checks the re-publishing itself
      expect(JSON.parse(r.stdout).status, coordinator.logs().slice(-3000)).toBe('completed');
      const out = join(spec, '..', 'steps-model.json');
      expect((await cli(['export', 'steps-job', '-o', out], env)).code).toBe(0);
      expect(Buffer.compare(await readFile(out), expected)).toBe(0);
      const stepConn = new Redis(restarted.url);
      expect(await stepConn.dbsize(), 'no step keys left behind').toBe(0);
      stepConn.disconnect();
    } finally {
      await stopAll();
      await restarted.stop();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);

  it('finishes byte-identical across a Redis crash and restart with AOF on', async () => {
    const server = await startRedisServer({ appendonly: true, appendfsync: 'always' });
    const env = envFor(server.url, 'aof');
    // long enough that the job is still running when the crash lands, with one task a step
    const spec = await writeSpec(IRIS({ epochs: 200, checkpointEvery: 5 }));
    const expected = await localModelBytes(spec);
    startService('coordinator', env);
    startService('worker', env);
    let restarted = server;
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'aof-job'], env);
      expect(sub.code, sub.stderr).toBe(0);
      await waitForProgress(env, 'aof-job', 1 / 3);
      server.kill('SIGKILL');
      await server.exited;
      await new Promise((r) => setTimeout(r, 1000));
      restarted = await startRedisServer({
        appendonly: true,
        appendfsync: 'always',
        port: server.port,
        dir: server.dir,
      });
      const r = await cli(['watch', 'aof-job', '--json'], env, 150_000);
      const final = JSON.parse(r.stdout);
      expect(final.status).toBe('completed');
      expect(final.workersSeen).toBeGreaterThanOrEqual(1);
      expect(final.timings.localComputeMs).toBe(0);
      const out = join(spec, '..', 'aof-model.json');
      expect((await cli(['export', 'aof-job', '-o', out], env)).code).toBe(0);
      expect(Buffer.compare(await readFile(out), expected)).toBe(0);
    } finally {
      await stopAll();
      await restarted.stop();
    }
  }, 180_000);
});
