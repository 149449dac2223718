// The compose files as docker-compose itself reads them, and the container healthcheck script
// against a real Redis: both run real processes, so they belong to the e2e project.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COMPOSE_FILE, REPO_ROOT } from './compose-file.js';

const run = promisify(execFile);
const OVERRIDE_FILE = `${REPO_ROOT}/docker/compose.redis-port.yml`;

async function dockerComposeVersion(): Promise<string | null> {
  try {
    return (await run('docker-compose', ['version', '--short'])).stdout.trim();
  } catch {
    return null;
  }
}
const composeVersion = await dockerComposeVersion();
if (!composeVersion) {
  console.warn('[compose] docker-compose is not on PATH: skipping `docker-compose config -q` on the compose files');
}

describe.skipIf(!composeVersion)(
  `docker-compose config accepts the files${composeVersion ? '' : ' (skipped: docker-compose is not on PATH; apt-get install --no-install-recommends docker-compose)'}`,
  () => {
    // A minimal environment and an empty env file (1.x refuses /dev/null): a developer's .env or
    // exported variables must not decide whether the committed files are valid.
    let scratch: string;
    let envFile: string;
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'redgrad-compose-'));
      envFile = join(scratch, 'empty.env');
      await writeFile(envFile, '');
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });
    const config = (files: string[]) =>
      run('docker-compose', ['--env-file', envFile, ...files.flatMap((f) => ['-f', f]), 'config', '-q'], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME },
      });

    it('docker-compose.yml', async () => {
      await expect(config([COMPOSE_FILE])).resolves.toBeDefined();
    });

    it('docker-compose.yml with the Redis port override', async () => {
      await expect(config([COMPOSE_FILE, OVERRIDE_FILE])).resolves.toBeDefined();
    });
  },
);

describe('docker/healthcheck.mjs', () => {
  const check = async (url: string) => {
    try {
      await run(process.execPath, [`${REPO_ROOT}/docker/healthcheck.mjs`], {
        env: { ...process.env, REDIS_URL: url, HEALTHCHECK_TIMEOUT_MS: '3000' },
        timeout: 10_000,
      });
      return 0;
    } catch (e) {
      return (e as { code: number }).code;
    }
  };

  it('exits 0 when Redis answers PING', async () => {
    expect(await check(inject('redisUrl'))).toBe(0);
  });

  it('exits 1 when nothing listens there', async () => {
    expect(await check('redis://127.0.0.1:1')).toBe(1);
  });
});
