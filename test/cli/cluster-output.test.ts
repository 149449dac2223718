// `redgrad cluster` with its own redis-server: quiet unless asked, and nothing left behind when its
// stdout closes early (`redgrad cluster … | head`).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, readFile, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { freePort } from '../setup/redis.js';

const BIN = new URL('../../apps/cli/bin/redgrad.js', import.meta.url).pathname;
const XOR = new URL('../../examples/xor.json', import.meta.url).pathname;

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

/** `redgrad cluster --workers 1 --submit xor.json ARGS`: exit code and stdout + stderr together. */
function cluster(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, 'cluster', '--workers', '1', '--submit', XOR, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', (d) => {
      out += d;
    });
  }
  return new Promise((r) => child.once('close', (code) => r({ code, out })));
}

describe('redgrad cluster output', () => {
  it('shows no redis-server banner or warning, and a closed stdout stops everything and removes its directory', async () => {
    const mark = randomUUID(); // every process the command starts inherits it
    // no REDIS_URL: the command starts its own redis-server
    const env = { ...process.env, REDIS_URL: '', REDGRAD_TEST_MARK: mark };
    const child = spawn(process.execPath, [BIN, 'cluster', '--workers', '1', '--submit', XOR], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const lines: string[] = [];
    let redisDir: string | undefined;
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line);
      redisDir = /\(AOF in ([^)]+)\)/.exec(line)?.[1];
      if (redisDir) break; // … | head -1
    }
    child.stdout.destroy();
    expect(await exited, stderr).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[cluster\] started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).not.toMatch(/Redis is starting|overcommit|Unhandled error/);
    await expect(access(redisDir!)).rejects.toThrow(/ENOENT/);
    expect(await processesMarked(mark)).toEqual([]);
  }, 120_000);

  it("shows redis-server's own log with --redis-logs", async () => {
    const { code, out } = await cluster(['--redis-logs', '--json'], { REDIS_URL: '' });
    expect(code).toBe(0);
    expect(out).toMatch(/\[redis\] .*Redis is starting/);
  }, 120_000);

  it('without redis-server on PATH and no REDIS_URL, says so in one line and exits 1', async () => {
    const { code, out } = await cluster([], { REDIS_URL: '', PATH: '/nonexistent' });
    expect(code).toBe(1);
    expect(out).toMatch(
      /^redgrad: no Redis: REDIS_URL is not set and redis-server could not start \(spawn redis-server ENOENT\)/,
    );
    expect(out.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('with a REDIS_URL nobody answers, waits, then says so in one line and exits 1', async () => {
    const { code, out } = await cluster([], { REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(code).toBe(1);
    expect(out).toMatch(/^redgrad: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED [^\n]*\n$/);
  }, 60_000);
});
