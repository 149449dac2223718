// Bull Board for redgrad's BullMQ queues: `gradients` (one task per job/step/shard) and `jobs`
// (submitted training jobs). Runs in its own image (docker/bull-board/Dockerfile), started by
// `docker compose --profile dashboard up -d`.
//
// Environment:
//   REDIS_URL            redis://[:password@]host:port     (default redis://127.0.0.1:6379)
//   REDGRAD_PREFIX       redgrad's key prefix; BullMQ's prefix is `{<prefix>}` (default redgrad)
//   PORT                 listen port (default 3000)
//   DASHBOARD_BASE_PATH  URL path the board is served under, e.g. /bull (default /)
//   DASHBOARD_READ_ONLY  1 = no retry/remove/promote buttons (default 0)
import express from 'express';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';

// Must match libs/protocol (GRADIENT_QUEUE, JOBS_QUEUE, Keys.queuePrefix).
const QUEUES = ['jobs', 'gradients'];
const prefix = process.env.REDGRAD_PREFIX || 'redgrad';
if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) {
  console.error(`REDGRAD_PREFIX ${JSON.stringify(prefix)}: expected letters, digits, _ . -`);
  process.exit(2);
}
const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const port = Number(process.env.PORT || 3000);
const basePath = (process.env.DASHBOARD_BASE_PATH || '/').replace(/\/+$/, '') || '/';
const readOnlyMode = /^(1|true|yes)$/i.test(process.env.DASHBOARD_READ_ONLY || '');
const shown = url.replace(/\/\/([^@/]*)@/, '//***@');

const log = (level, msg, extra = {}) =>
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), service: 'redgrad-dashboard', msg, ...extra })}\n`);

// One connection shared by the queues; BullMQ does not close a connection it was given, so we do.
const connection = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'redgrad-dashboard' });
let lastRedisError = '';
connection.on('error', (e) => {
  if (e.message !== lastRedisError) log('warn', 'redis error', { redis: shown, err: e.message });
  lastRedisError = e.message;
});
connection.on('ready', () => {
  lastRedisError = '';
  log('info', 'redis ready', { redis: shown });
});

const queues = QUEUES.map((name) => new Queue(name, { connection, prefix: `{${prefix}}` }));

const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath(basePath === '/' ? '' : basePath);
createBullBoard({
  queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode })),
  serverAdapter,
  options: { uiConfig: { boardTitle: `redgrad (${prefix})` } },
});

const app = express();
app.disable('x-powered-by');
// Liveness for the container healthcheck (healthcheck.mjs): answers 200 when Redis answers PING.
app.get('/healthz', async (_req, res) => {
  try {
    await Promise.race([connection.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
    res.status(200).type('text/plain').send('ok\n');
  } catch (e) {
    res.status(503).type('text/plain').send(`redis: ${e.message}\n`);
  }
});
app.use(basePath, serverAdapter.getRouter());

const server = app.listen(port, () =>
  log('info', 'listening', { port, basePath, queues: QUEUES, bullPrefix: `{${prefix}}`, readOnlyMode }),
);

let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, async () => {
    if (stopping) process.exit(1);
    stopping = true;
    log('info', 'shutting down', { signal: sig });
    server.close();
    server.closeAllConnections?.();
    await Promise.allSettled(queues.map((q) => q.close()));
    connection.disconnect();
    process.exit(0);
  });
}
