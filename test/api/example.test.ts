import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startService, useTestRedis } from '../e2e/harness.js';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

/** examples/api.ts as the README runs it in a checkout: from the sources, through tsx. */
async function runExample(env: Record<string, string>): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=redgrad-source', '--import', 'tsx', 'examples/api.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: '', ...env },
      timeout: 120_000,
    },
  );
  return stdout;
}

describe('examples/api.ts', () => {
  const t = useTestRedis();
  const prefix = uniquePrefix('api-example');
  afterAll(async () => {
    await cleanPrefix(t.redis, prefix);
  });

  it('trains with callbacks, stops early with the weights so far, saves, loads and predicts', async () => {
    const out = await runExample({});
    expect(out).toMatch(/^xor epoch 300: loss /m);
    expect(out).toContain('xor trained: 300 steps, accuracy 1');
    expect(out).toMatch(/^iris stopped: true after 10 steps, test accuracy 0\.\d+$/m);
    expect(out).toContain('xor predictions: 0 1 1 0');
    expect(out).not.toContain('cluster');
  });

  it('trains on a cluster and gets the model train --local gives, bit for bit', async () => {
    const env = { REDIS_URL: t.url, REDGRAD_PREFIX: prefix };
    startService('coordinator', env);
    startService('worker', env);
    const out = await runExample(env);
    expect(out).toMatch(/^cluster job xor-\S+ completed$/m);
    expect(out).toContain('cluster model identical to local: true');
  });
});
