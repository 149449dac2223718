/**
 * The per-task cost of handing out work, measured two ways against a private redis-server, with the
 * consumer in another process (as a worker is): a BullMQ queue (add → processor starts → completes)
 * and a Redis stream read by a consumer group (XADD → XREADGROUP BLOCK returns → XACK). Reports
 * the median hand-out latency (producer's add to consumer's start) and the round trip (add to the
 * producer seeing the consumer's reply on a results stream), per task, one task at a time.
 *   node --import tsx bench/handout.ts [tasks=300]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, redisServerArgs } from '@redgrad/cli';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function consumer(url: string, kind: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const reply = async (sentAt: number) => {
    await redis.xadd('replies', '*', 'startLag', String(performance.timeOrigin + performance.now() - sentAt));
  };
  if (kind === 'bullmq') {
    new Worker('tasks', async (job) => reply(job.data.sentAt), { connection: redis, prefix: '{b}', concurrency: 1 });
  } else {
    const blocking = redis.duplicate();
    await redis.xgroup('CREATE', 'tasks', 'workers', '$', 'MKSTREAM').catch(() => {});
    for (;;) {
      const r = (await blocking.xreadgroup(
        'GROUP',
        'workers',
        'c1',
        'COUNT',
        1,
        'BLOCK',
        1000,
        'STREAMS',
        'tasks',
        '>',
      )) as [string, [string, string[]][]][] | null;
      if (!r) continue;
      for (const [id, fields] of r[0][1]) {
        await reply(Number(fields[1]));
        await redis.multi().xack('tasks', 'workers', id).xdel('tasks', id).exec();
      }
    }
  }
}

async function producer(url: string, kind: string, n: number): Promise<{ startLagMs: number; roundTripMs: number }> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  const blocking = redis.duplicate();
  const queue = kind === 'bullmq' ? new Queue('tasks', { connection: redis, prefix: '{b}' }) : null;
  const lags: number[] = [],
    trips: number[] = [];
  let last = '0';
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    const sentAt = performance.timeOrigin + t0;
    if (queue) await queue.add('t', { sentAt, pad: 'x'.repeat(200) }, { jobId: `t${i}`, removeOnComplete: true });
    else await redis.xadd('tasks', '*', 'sentAt', String(sentAt), 'pad', 'x'.repeat(200));
    type Reply = [string, [string, string[]][]][] | null;
    let r: Reply = null;
    // a consumer still starting (tsx on a loaded machine) answers late: wait for it
    while (r === null) r = (await blocking.xread('BLOCK', 5000, 'STREAMS', 'replies', last)) as Reply;
    const [id, fields] = r[0][1][0];
    last = id;
    if (i >= 20) {
      lags.push(Number(fields[1]));
      trips.push(performance.now() - t0);
    }
  }
  await queue?.close();
  redis.disconnect();
  blocking.disconnect();
  return { startLagMs: median(lags), roundTripMs: median(trips) };
}

if (process.argv[2] === 'consumer') {
  await consumer(process.argv[3], process.argv[4]);
} else {
  const n = Number(process.argv[2] ?? 300);
  const out: Record<string, number> = {};
  for (const kind of ['bullmq', 'stream']) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'redgrad-handout-'));
    const server = spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore' });
    const url = `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 300));
    const c = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, 'consumer', url, kind], {
      stdio: 'inherit',
    });
    await new Promise((r) => setTimeout(r, 1500));
    try {
      const r = await producer(url, kind, n);
      out[`handout.${kind}.startLagMs`] = Math.round(r.startLagMs * 100) / 100;
      out[`handout.${kind}.roundTripMs`] = Math.round(r.roundTripMs * 100) / 100;
    } finally {
      c.kill('SIGKILL');
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify(out, null, 1));
  process.exit(0);
}
