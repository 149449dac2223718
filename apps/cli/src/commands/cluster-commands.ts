import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
// The Redis client stack (BullMQ, ioredis, …) loads only when a cluster command runs: about 170 ms
// that train --local, predict and evaluate need not pay.
import type { ClusterClient } from '@redgrad/cluster';
import type { JobState } from '@redgrad/protocol';
import { CliError, EXIT } from '../errors.js';
import { ProgressLine, bar, duration, fmt } from '../progress.js';
import { positiveInt } from '../options.js';

/** How long a command waits for Redis to come back before it gives up. */
const REDIS_LOST_MS = 10_000;

async function withClient<T>(fn: (c: ClusterClient) => Promise<T>): Promise<T> {
  const { ClusterClient, RedisUnavailableError, clusterEnv, connectChecked, redactUrl } = await import(
    '@redgrad/cluster'
  );
  const env = clusterEnv();
  const redis = await connectChecked(env.redisUrl, 'redgrad-cli');
  const client = new ClusterClient(redis, env.prefix);
  // a command waits a while for a lost Redis to come back (a restart), then ends with one line
  let lostError: Error | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_, reject) => {
    redis.on('error', (e) => {
      giveUp ??= setTimeout(() => {
        lostError = new RedisUnavailableError(
          `cannot reach Redis at ${redactUrl(env.redisUrl)} any more (${e.message})`,
          { cause: e },
        );
        reject(lostError);
      }, REDIS_LOST_MS);
    });
    redis.on('ready', () => {
      clearTimeout(giveUp);
      giveUp = undefined;
    });
  });
  lost.catch(() => {}); // settled by the race below, or never looked at when the command ended first
  try {
    return await Promise.race([fn(client), lost]);
  } finally {
    clearTimeout(giveUp);
    if (lostError) redis.disconnect();
    else await client.close();
  }
}

function out(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write((json ? JSON.stringify(value) : human()) + '\n');
}

function describeState(s: JobState): string {
  const p = s.progress;
  const lines = [
    `${s.jobId} (${s.name ?? '?'}): ${s.status}${s.cancelRequested && s.status === 'running' ? ' (cancel requested)' : ''}`,
  ];
  if (p)
    lines.push(
      `  epoch ${p.epoch}/${p.epochs}, step ${p.step}/${p.steps}, loss ${fmt(p.loss)}${p.accuracy !== undefined ? `, accuracy ${fmt(p.accuracy, 3)}` : ''}, ${Math.round(p.samplesPerSecond)} samples/s, ${p.workersSeen} worker(s)`,
    );
  if (s.error) lines.push(`  error: ${s.error}`);
  if (s.result) {
    const r = s.result as Record<string, number | undefined>;
    lines.push(
      `  result: test loss ${fmt(r.testLoss)}${r.testAccuracy !== undefined ? `, test accuracy ${fmt(r.testAccuracy)}` : ''}${r.testR2 !== undefined ? `, test R² ${fmt(r.testR2)}` : ''}; ${r.steps} steps in ${duration(r.elapsedMs ?? NaN)}`,
    );
  }
  if (s.resumes) lines.push(`  resumed ${s.resumes} time(s) after a coordinator stopped`);
  return lines.join('\n');
}

/** Follows a job until it ends; returns its final state. */
async function follow(client: ClusterClient, jobId: string, json: boolean | undefined): Promise<JobState> {
  const progress = new ProgressLine();
  let lastEpoch = 0;
  for (;;) {
    const s = await client.status(jobId);
    if (!s) throw new CliError(`no job ${jobId}`, 'no-such-job');
    const p = s.progress;
    if (p) {
      const text = `${s.jobId} epoch ${p.epoch}/${p.epochs} ${bar(p.step / p.steps)} loss ${fmt(p.loss)}${p.accuracy !== undefined ? ` acc ${fmt(p.accuracy, 3)}` : ''} ${Math.round(p.samplesPerSecond)} samples/s ${p.workersSeen} workers ETA ${duration(p.etaMs ?? NaN)}`;
      if (progress.enabled) progress.update(text);
      else if (!json && p.epoch !== lastEpoch) process.stderr.write(text + '\n');
      lastEpoch = p.epoch;
    } else if (progress.enabled) progress.update(`${s.jobId} ${s.status}…`);
    if (s.status === 'completed' || s.status === 'failed' || s.status === 'cancelled') {
      progress.done();
      return s;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * Prints the final state, writes the model when asked, returns the exit code for the job's fate.
 * `extra` joins the JSON output (the submit's payoff estimate).
 */
async function finish(
  c: ClusterClient,
  s: JobState,
  flags: { json?: boolean; out?: string },
  extra: Record<string, unknown> = {},
): Promise<number> {
  if (flags.out && s.status === 'completed') await writeFile(flags.out, (await c.model(s.jobId)) ?? '');
  out(
    flags.json,
    {
      jobId: s.jobId,
      status: s.status,
      error: s.error,
      ...(s.result ?? {}),
      ...(flags.out && s.status === 'completed' ? { model: flags.out } : {}),
      ...extra,
    },
    () => describeState(s) + (flags.out && s.status === 'completed' ? `\n  model written to ${flags.out}` : ''),
  );
  return EXIT.job[s.status === 'completed' || s.status === 'cancelled' ? s.status : 'failed'];
}

/** One job in `list`: its final test metrics once it has them, else where it is. */
export function listLine(s: JobState): string {
  const r = s.result as Record<string, number | undefined> | undefined;
  const p = s.progress;
  let detail = '';
  if (r && r.testAccuracy !== undefined) detail = `test accuracy ${fmt(r.testAccuracy)} loss ${fmt(r.testLoss)}`;
  else if (r && r.testR2 !== undefined) detail = `test R² ${fmt(r.testR2)} MSE ${fmt(r.testMse, 6)}`;
  else if (r) detail = `train loss ${fmt(r.trainLoss)} (no test set)`;
  else if (p) detail = `epoch ${p.epoch}/${p.epochs} loss ${fmt(p.loss)}`;
  return `${s.jobId.padEnd(28)} ${s.status.padEnd(10)} ${detail}`.trimEnd();
}

export function registerClusterCommands(program: Command): void {
  program
    .command('submit')
    .description('validate a job, upload its data once (by content hash) and queue it for the cluster (REDIS_URL)')
    .argument('<job>', 'job spec JSON file')
    .option('--watch', 'follow the job until it ends; exit 0 completed, 1 failed, 3 cancelled')
    .option('--id <id>', 'job id (default: name plus random suffix)')
    .option('-o, --out <model.json>', 'with --watch: write the model when the job completes')
    .option('--json', 'JSON output')
    .action((job: string, flags: { watch?: boolean; id?: string; out?: string; json?: boolean }) =>
      withClient(async (c) => {
        const r = await c.submit(job, { id: flags.id });
        const { reportPayoff } = await import('./payoff.js');
        // the coordinator's own settings are not visible from here: estimated for workers alone
        const payoff = reportPayoff(r, (await c.workers()).length, { json: flags.json });
        if (!flags.json || !flags.watch) {
          out(
            flags.json,
            { jobId: r.jobId, kernel: r.record.kernel, uploaded: r.uploaded, bytes: r.bytes, payoff },
            () =>
              `${r.jobId}\n  data: ${r.uploaded.train ? `uploaded ${(r.bytes / 1e6).toFixed(1)} MB` : 'already in Redis, not uploaded again'}; kernel ${r.record.kernel}`,
          );
        }
        if (flags.watch) process.exitCode = await finish(c, await follow(c, r.jobId, flags.json), flags, { payoff });
      }),
    );

  program
    .command('watch')
    .description("follow a job: progress bar with loss, accuracy, samples/s and ETA; exits with the job's fate")
    .argument('<id>', 'job id')
    .option('-o, --out <model.json>', 'write the model when the job completes')
    .option('--json', 'print the final state as JSON')
    .action((id: string, flags: { json?: boolean; out?: string }) =>
      withClient(async (c) => {
        process.exitCode = await finish(c, await follow(c, id, flags.json), flags);
      }),
    );

  program
    .command('cluster')
    .description(
      'run Redis (unless REDIS_URL is set), a coordinator and N workers as local processes; for machines without Docker',
    )
    .requiredOption('-w, --workers <n>', 'worker processes')
    .option('--submit <job>', 'run this job, follow it, stop everything and exit with its fate')
    .option('-o, --out <model.json>', 'with --submit: write the model')
    .option('--json', 'with --submit: print one JSON result on stdout (service logs go to stderr)')
    .option('--redis-logs', "show the private redis-server's own log (banner, memory-overcommit warning)")
    .action(async (flags: { workers: string; submit?: string; out?: string; json?: boolean; redisLogs?: boolean }) => {
      const { clusterCommand } = await import('./cluster.js');
      await clusterCommand(flags, async (c, jobId, extra) =>
        finish(c, await follow(c, jobId, flags.json), { json: flags.json }, extra),
      );
    });

  program
    .command('status')
    .description("a job's state, progress and result")
    .argument('<id>', 'job id')
    .option('--json', 'JSON output')
    .action((id: string, flags: { json?: boolean }) =>
      withClient(async (c) => {
        const s = await c.status(id);
        if (!s) throw new CliError(`no job ${id}`, 'no-such-job');
        out(flags.json, s, () => describeState(s));
      }),
    );

  program
    .command('list')
    .description('jobs, newest first')
    .option('-n, --limit <n>', 'how many', positiveInt(10_000), 50)
    .option('--json', 'JSON output')
    .action((flags: { limit: number; json?: boolean }) =>
      withClient(async (c) => {
        const jobs = await c.list(flags.limit);
        out(flags.json, jobs, () => (jobs.length === 0 ? 'no jobs' : jobs.map(listLine).join('\n')));
      }),
    );

  program
    .command('cancel')
    .description('stop a job (a queued job at once, a running one at its next step)')
    .argument('<id>', 'job id')
    .option('--json', 'JSON output')
    .action((id: string, flags: { json?: boolean }) =>
      withClient(async (c) => {
        const status = await c.cancel(id);
        out(flags.json, { jobId: id, status }, () =>
          status === 'cancelled'
            ? `${id} cancelled`
            : status === 'running' || status === 'queued'
              ? `${id}: cancel requested`
              : `${id} already ${status}`,
        );
      }),
    );

  program
    .command('export')
    .description("write a finished job's model file")
    .argument('<id>', 'job id')
    .requiredOption('-o, --out <model.json>', 'where to write the model')
    .option('--json', 'JSON output')
    .action((id: string, flags: { out: string; json?: boolean }) =>
      withClient(async (c) => {
        const model = await c.model(id);
        if (model === null) {
          const s = await c.status(id);
          throw new CliError(
            s ? `job ${id} has no model (status ${s.status}${s.error ? `: ${s.error}` : ''})` : `no job ${id}`,
            s ? 'bad-argument' : 'no-such-job',
          );
        }
        await writeFile(flags.out, model);
        out(
          flags.json,
          { jobId: id, model: flags.out, bytes: Buffer.byteLength(model) },
          () => `model of ${id} written to ${flags.out}`,
        );
      }),
    );

  program
    .command('workers')
    .description('live workers and what each is doing')
    .option('--json', 'JSON output')
    .action((flags: { json?: boolean }) =>
      withClient(async (c) => {
        const ws = await c.workers();
        const now = Date.now();
        out(flags.json, ws, () =>
          ws.length === 0
            ? 'no live workers'
            : ws
                .map(
                  (w) =>
                    `${w.workerId.padEnd(36)} ${w.host}:${w.pid} ${w.kernel} up ${duration(now - w.startedAt)} ${w.current ? `job ${w.current.jobId} step ${w.current.step} block ${w.current.level}/${w.current.index}` : 'idle'}`,
                )
                .join('\n'),
        );
      }),
    );
}
