// `redgrad cluster` with its own redis-server: quiet unless asked, and nothing left behind when its
// stdout closes early (`redgrad cluster … | head`).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, readFile, readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../../apps/cli/bin/redgrad.js', import.meta.url).pathname;
const XOR = new URL('../../examples/xor.json', import.meta.url).pathname;

/** PIDs of live processes whose environment carries `mark`. */
async function processesMarked(mark: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if ((await readFile(`/proc/${entry}/environ`, 'latin1')).includes(`REDGRAD_TEST_MARK=${mark}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe('redgrad cluster output', () => {
  it('shows no redis-server banner or warning, and a closed stdout stops everything and removes its directory', async () => {
    const mark = randomUUID(); // every process the command starts inherits it
    // no REDIS_URL: the command starts its own redis-server
    const env = { ...process.env, REDIS_URL: '', REDGRAD_TEST_MARK: mark };
    const child = spawn(process.execPath, [BIN, 'cluster', '--workers', '1', '--submit', XOR], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('without redis-server on PATH and no REDIS_URL, says so in one line and exits 1', async () => {
    const child = spawn(process.execPath, [BIN, 'cluster', '--workers', '1', '--submit', XOR], {
      env: { ...process.env, REDIS_URL: '', PATH: '/nonexistent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(out).toMatch(/^redgrad: no Redis: REDIS_URL is not set and redis-server could not start \(spawn redis-server ENOENT\)/);
    expect(out.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
