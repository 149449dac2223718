import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';
import { REPO_ROOT, composeServices } from '../compose/compose-file.js';
import {
  FAST_FAILOVER,
  IRIS,
  cli,
  lastJson,
  localModelBytes,
  startCommand,
  stopAll,
  useTestRedis,
  waitFor,
  waitForProgress,
  writeSpec,
} from './harness.js';

const testRedis = useTestRedis();
const redisUrl = testRedis.url;

/** PIDs of live processes whose environment carries `mark`. */
async function processesMarked(mark: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/environ`, 'latin1')).includes(`REDGRAD_TEST_MARK=${mark}`))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('the local cluster', () => {
  it('redgrad cluster --workers 2 --submit trains iris to the byte-identical model and leaves no process behind', async () => {
    const mark = randomUUID(); // every process the command starts inherits it
    const out = join(await writeSpec({}, 'unused.json'), '..', 'cluster-model.json');
    // no REDIS_URL: the command starts its own redis-server
    const r = await cli(
      ['cluster', '--workers', '2', '--submit', join(REPO_ROOT, 'examples/iris.json'), '--json', '--out', out],
      { REDGRAD_TEST_MARK: mark, REDIS_URL: '' },
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const result = JSON.parse(r.stdout.trim());
    expect(result.status).toBe('completed');
    expect(result.testAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(result.payoff).toMatchObject({ workers: 2, pays: false }); // iris steps are far too small to pay
    expect(r.stderr).toMatch(/\[worker-2\] info worker started/);
    // its own redis-server on a free port, never one on 6379, and the workers computed (the
    // coordinator too, by default)
    expect(r.stderr).toMatch(/\[cluster\] started redis-server on redis:\/\/127\.0\.0\.1:(?!6379\b)\d+/);
    expect(result.workersSeen).toBeGreaterThanOrEqual(1);
    expect(result.timings.workerComputeMs).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(out), await localModelBytes(join(REPO_ROOT, 'examples/iris.json')))).toBe(0);
    expect(await processesMarked(mark)).toEqual([]);
  }, 180_000);

  it("runs the compose file's coordinator and worker commands with its environment; workers join and leave mid-job", async () => {
    const prefix = uniquePrefix('compose');
    const services = await composeServices();
    // the test Redis stands in for both of the compose file's Redis servers
    const env = (name: string) => ({
      ...services[name].environment,
      REDIS_URL: redisUrl,
      REDGRAD_STEP_REDIS_URL: redisUrl,
      REDGRAD_PREFIX: prefix,
      ...FAST_FAILOVER,
    });
    const command = (name: string) => [
      process.execPath,
      ...services[name].command.slice(1).map((a) => (a.startsWith('apps/') ? join(REPO_ROOT, a) : a)),
    ];
    // long enough that a worker starting mid-job (node + tsx: a second or more on a loaded CI
    // machine) still finds shards to take
    const spec = await writeSpec(IRIS({ epochs: 200 }));
    const expected = await localModelBytes(spec);
    startCommand('coordinator', command('coordinator'), env('coordinator'));
    const first = startCommand('worker-1', command('worker'), env('worker'));
    try {
      const sub = await cli(['submit', spec, '--json', '--id', 'compose-job'], {
        REDIS_URL: redisUrl,
        REDGRAD_PREFIX: prefix,
      });
      expect(sub.code, sub.stderr).toBe(0);
      const cliEnv = { REDIS_URL: redisUrl, REDGRAD_PREFIX: prefix };
      await waitForProgress(cliEnv, 'compose-job', 0.1);
      startCommand('worker-2', command('worker'), { ...env('worker'), REDGRAD_WORKER_ID: 'joined-mid-job' });
      await waitFor(
        'the new worker to take shards',
        async () => {
          return lastJson((await cli(['status', 'compose-job', '--json'], cliEnv)).stdout).progress?.workersSeen >= 2;
        },
        60_000,
        200,
      );
      // SIGTERM the first worker mid-job: it finishes the shard in hand and exits 0
      expect(await first.stop()).toBe(0);
      const r = await cli(['watch', 'compose-job', '--json'], cliEnv);
      const final = JSON.parse(r.stdout);
      expect(final.status).toBe('completed');
      expect(final.workersSeen).toBe(2);
      const out = join(spec, '..', 'compose-model.json');
      await cli(['export', 'compose-job', '-o', out], cliEnv);
      expect(Buffer.compare(await readFile(out), expected)).toBe(0);
    } finally {
      await stopAll();
      await cleanPrefix(testRedis.redis, prefix);
    }
  }, 180_000);
});
