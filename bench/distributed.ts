/**
 * Distributed benchmark: the 784-256-128-10 MLP at batch 256 trained in-process (local backend) and
 * over Redis with 1 and 2 real worker processes, with the per-step time split into worker compute,
 * encode/decode, Redis publish (weights + tasks), waiting for results and the update, and the CPU
 * each process spent per step. Next to each step time, the physical floor of that configuration
 * (bench/floor.ts, measured against the same Redis in the same run) and the overhead per step
 * (step time − compute / computing processes) as a multiple of it. Other batch and shard sizes
 * from the command line:
 *   node --import tsx bench/distributed.ts [kernel=wasm-simd] [shardSize=128] [batch=256]
 *
 * Redis runs as docker-compose.yml runs it: a private redis-server on a free port with AOF on, and,
 * when the compose file gives the services a separate step Redis (REDGRAD_STEP_REDIS_URL), a second,
 * non-persistent one for the step traffic (or the one REDGRAD_STEP_REDIS_URL already names). The
 * coordinator side runs in this process (the same QueueBackend the coordinator service uses) so its
 * timings can be read directly.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { layout } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';
import { datasetHash } from '@redgrad/data';
import type { Dataset } from '@redgrad/data';
import { GRADIENT_QUEUE, Keys } from '@redgrad/protocol';
import type { GradientTask } from '@redgrad/protocol';
import { LocalBackend, preparedJob, selectKernels, train, validateJobSpec } from '@redgrad/train';
import type { GradientBackend, PreparedJob } from '@redgrad/train';
import { QueueBackend, uploadDataset } from '@redgrad/cluster';
import { freePort, redisServerArgs } from '@redgrad/cli';
import type { JobRecord } from '@redgrad/cluster';
import { lesserCosts, measurePayloadCosts, stepFloor } from './floor.js';
import type { PayloadCosts } from './floor.js';

const ROOT = new URL('../', import.meta.url).pathname;
/** Samples of the synthetic set: 40 steps an epoch at batch 256, at least 12 at bigger batches. */
const samplesFor = (batch: number) => batch * Math.max(12, Math.round(10_240 / batch));

function syntheticMnistLike(N: number, seed = 7): Dataset {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x = new Float32Array(N * 784); // [N, 784] pixels k/255, like IDX data
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.floor(rnd() * 256) / 255);
  const y = new Float32Array(N * 10); // [N, 10] one-hot
  for (let i = 0; i < N; i++) y[i * 10 + Math.floor(rnd() * 10)] = 1;
  return {
    name: 'synthetic',
    task: 'classification',
    n: N,
    features: 784,
    outputs: 10,
    x,
    y,
    classes: Array.from({ length: 10 }, (_, i) => String(i)),
  };
}

function job(
  kernel: string,
  batch: number,
  shardSize: number,
  epochs: number,
  gradientEncoding = 'f32',
  data = syntheticMnistLike(samplesFor(batch)),
): PreparedJob {
  const spec = validateJobSpec({
    gradientEncoding,
    name: 'bench',
    data: { builtin: 'iris' },
    testSplit: 0,
    scaling: 'none',
    kernel,
    model: { hidden: [256, 128], activation: 'relu', output: 'softmax' },
    loss: 'cross-entropy',
    optimizer: { type: 'adam', lr: 0.001 },
    batchSize: batch,
    shardSize,
    epochs,
    seed: 1,
  });
  return preparedJob(spec, data, undefined, {
    method: 'none',
    offset: new Array(784).fill(0),
    scale: new Array(784).fill(1),
  });
}

async function startRedis(opts: { appendonly: boolean }): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'redgrad-bench-'));
  const proc = spawn('redis-server', redisServerArgs(port, dir, opts), { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 100, maxRetriesPerRequest: null });
  probe.on('error', () => {}); // refused until the server is up
  await probe.connect().catch(() => {});
  for (let i = 0; i < 100 && (await probe.ping().catch(() => '')) !== 'PONG'; i++)
    await new Promise((r) => setTimeout(r, 50));
  probe.disconnect();
  return { url, proc, dir };
}

/** The compose file hands its services a separate Redis for step traffic. */
function composeSplitsStepTraffic(): boolean {
  try {
    // a service's environment, as a mapping (KEY: value) or a list (- KEY=value)
    return /^\s+(- )?REDGRAD_STEP_REDIS_URL[:=]/m.test(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'));
  } catch {
    return false;
  }
}

interface RunFigures {
  samplesPerSec: number;
  stepMs: number;
  breakdown?: Record<string, number>;
}

/** Cumulative CPU milliseconds of each process taking part, for the per-step CPU budget. */
type CpuSampler = () => Promise<Record<string, number>>;

/** user + system CPU ms of a child process, from /proc (Linux; clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return (get('used_cpu_sys') + get('used_cpu_user')) * 1000;
}

/** `kernels` must be the ones the backend computes with (a wasm kernels object owns its arena). */
async function timeTraining(
  j: PreparedJob,
  backend: GradientBackend,
  kernels: Kernels,
  cpu?: CpuSampler,
): Promise<RunFigures> {
  // first epoch warms up caches (data set download, JIT, weights versions); the second is timed
  let warmSteps = 0;
  let t0 = 0;
  const batch = j.spec.batchSize as number;
  const stepsPerEpoch = Math.ceil(j.train.n / batch);
  const before = backend instanceof QueueBackend ? { ...backend.timings } : undefined;
  let snapshot = before;
  let updateMs = 0,
    lastStepEnd = 0;
  let cpu0: Record<string, number> = {},
    cpu1: Record<string, number> = {};
  await train(j, {
    backend,
    kernels,
    onStep: async (p) => {
      const now = performance.now();
      if (p.step === stepsPerEpoch) {
        t0 = now;
        warmSteps = p.step;
        if (backend instanceof QueueBackend) snapshot = { ...backend.timings };
        if (cpu) cpu0 = await cpu();
        t0 = performance.now();
      }
      lastStepEnd = now;
      // sampled here, not after train() returns: its final evaluation is not part of a step
      if (p.step === p.steps && cpu) cpu1 = await cpu();
    },
  });
  const steps = stepsPerEpoch * j.spec.epochs - warmSteps;
  const ms = lastStepEnd - t0;
  const out: RunFigures = { samplesPerSec: (steps * batch * 1000) / ms, stepMs: ms / steps };
  if (backend instanceof QueueBackend && snapshot) {
    const t = backend.timings;
    const per = (k: keyof typeof t) => (t[k] - snapshot![k]) / steps;
    const accounted = per('encodeMs') + per('publishMs') + per('waitMs') + per('acceptMs') + per('localComputeMs');
    updateMs = out.stepMs - accounted;
    out.breakdown = {
      workerComputeMs: per('workerComputeMs'),
      encodeDecodeMs: per('encodeMs'),
      redisPublishMs: per('publishMs'),
      waitMs: per('waitMs'),
      sumShardsMs: per('acceptMs'),
      coordinatorComputeMs: per('localComputeMs'),
      updateAndLoopMs: updateMs,
    };
    for (const [k, v] of Object.entries(cpu1)) out.breakdown[`cpu.${k}Ms`] = (v - cpu0[k]) / steps;
  }
  return out;
}

/** [workers, gradient encoding, shards the coordinator computes itself] of each cluster run. */
type ClusterRun = readonly [workers: number, encoding: 'f32' | 'bf16', coordinatorShards: number];
const ALL_RUNS: ClusterRun[] = [
  [1, 'f32', 0],
  [2, 'f32', 0],
  [1, 'bf16', 0],
  [2, 'bf16', 0],
  [1, 'f32', 1],
];

/** The issue's targets for the runs above; which apply depends on the batch size. */
export interface DistributedTarget {
  /** Figure name after `distributed.<kernel>.b<batch>.s<shard>.` */
  figure: string;
  min?: number;
  max?: number;
  label: string;
}

export function distributedTargets(batch: number): DistributedTarget[] {
  const t: DistributedTarget[] = [
    {
      figure: 'workers1.overheadOverFloor',
      max: 2,
      label: `batch ${batch}: 1 worker's overhead per step ≤ 2× its floor`,
    },
    {
      figure: 'workers2.overheadOverFloor',
      max: 2,
      label: `batch ${batch}: 2 workers' overhead per step ≤ 2× their floor`,
    },
  ];
  if (batch === 1024) {
    t.push({ figure: 'ratio.workers1_over_local', min: 0.9, label: 'batch 1024: 1 worker ≥ 0.9× local' });
    t.push({ figure: 'ratio.workers2_over_local', min: 1.5, label: 'batch 1024: 2 workers ≥ 1.5× local' });
  }
  if (batch === 256)
    t.push({ figure: 'ratio.workers2_over_local', min: 1.0, label: 'batch 256: 2 workers ≥ 1.0× local' });
  return t;
}

export const targetMet = (t: { min?: number; max?: number }, v: number) =>
  (t.min === undefined || v >= t.min) && (t.max === undefined || v <= t.max);

export async function benchDistributed(
  opts: { kernel?: string; batch?: number; shardSize?: number; runs?: ClusterRun[]; log?: (s: string) => void } = {},
): Promise<Record<string, number>> {
  const kernel = opts.kernel ?? 'wasm-simd';
  const batch = opts.batch ?? 256;
  const shardSize = opts.shardSize ?? 128;
  const runs = opts.runs ?? ALL_RUNS;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const figures: Record<string, number> = {};
  const base = `distributed.${kernel}.b${batch}.s${shardSize}`;
  const put = (k: string, v: number) => (figures[`${base}.${k}`] = Math.round(v * 100) / 100);

  const j = job(kernel, batch, shardSize, 2);
  const kernels = selectKernels(kernel);
  const local = await timeTraining(j, new LocalBackend(j.arch, kernels, j.train, true, shardSize), kernels);
  put('local.samplesPerSec', local.samplesPerSec);
  put('local.stepMs', local.stepMs);
  log(
    `distributed bench (${kernel}, batch ${batch}, shard ${shardSize}): local ${Math.round(local.samplesPerSec)} samples/s (${local.stepMs.toFixed(1)} ms/step)`,
  );

  // Redis as docker-compose.yml runs it: job state persistent (AOF), step traffic wherever the
  // compose file sends it
  const redis = await startRedis({ appendonly: true });
  const stepRedis =
    process.env.REDGRAD_STEP_REDIS_URL || !composeSplitsStepTraffic()
      ? undefined
      : await startRedis({ appendonly: false });
  const stepUrl = process.env.REDGRAD_STEP_REDIS_URL || stepRedis?.url || redis.url;
  const prefix = 'bench';
  const keys = new Keys(prefix);
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const stepConn = stepUrl === redis.url ? conn : new Redis(stepUrl, { maxRetriesPerRequest: null });
  const blocking = stepConn.duplicate();
  const queue = new Queue<GradientTask>(GRADIENT_QUEUE, { connection: conn, prefix: keys.queuePrefix });
  const workers: ChildProcess[] = [];
  try {
    const params = layout(j.arch).paramCount;
    const where = stepUrl === redis.url ? 'AOF on, as the compose file runs Redis' : 'the step Redis, no persistence';
    const first = await measurePayloadCosts(stepUrl, 4 * params);
    logPayloadCosts(log, first, where);
    put('redis.payloadBytes', first.bytes);
    put('redis.rttMs', first.pingMs);
    for (const op of ['set', 'get', 'xadd', 'xread'] as const) {
      put(`redis.${op}Ms`, first[`${op}Ms`]);
      put(`redis.${op}MBps`, first.bytes / 1e3 / Math.max(1e-6, first[`${op}Ms`] - first.pingMs));
    }

    const hash = datasetHash(j.train);
    await uploadDataset(conn, keys, j.train, hash);
    for (const [i, [nWorkers, encoding, own]] of runs.entries()) {
      const jobId = `bench-${nWorkers}-${encoding}-${own}`;
      const run = encoding === 'f32' ? j : job(kernel, batch, shardSize, 2, encoding, j.train);
      const name = `workers${nWorkers}${encoding === 'f32' ? '' : `.${encoding}`}${own ? `.coordinatorShards${own}` : ''}`;
      const record: JobRecord = {
        v: 1,
        jobId,
        spec: run.spec,
        kernel: kernels.name,
        trainHash: hash,
        scaling: j.scaling,
        submittedAt: Date.now(),
      };
      await conn.set(keys.jobSpec(jobId), JSON.stringify(record));
      // On a shared machine Redis' speed follows the neighbours' load: each configuration's floor
      // is measured just before it runs (before new workers start; the first one is the one
      // above) and just after, and the lesser of the two counts
      const before = i === 0 ? first : await measurePayloadCosts(stepUrl, 4 * params, 200);
      while (workers.length > nWorkers) workers.pop()!.kill('SIGTERM');
      while (workers.length < nWorkers) {
        workers.push(
          spawn(process.execPath, [join(ROOT, 'apps/worker/bin/redgrad-worker.js')], {
            env: {
              ...process.env,
              REDIS_URL: redis.url,
              REDGRAD_PREFIX: prefix,
              REDGRAD_LOG_LEVEL: 'warn',
              ...(stepUrl !== redis.url ? { REDGRAD_STEP_REDIS_URL: stepUrl } : {}),
            },
            stdio: ['ignore', 'ignore', 'inherit'],
          }),
        );
      }
      const backend = new QueueBackend({
        redis: conn,
        steps: stepConn,
        blocking,
        queue,
        keys,
        jobId,
        dataHash: hash,
        kernel: kernels.name,
        paramCount: params,
        taskTimeoutMs: 60_000,
        maxAttempts: 3,
        stepTtlSeconds: 600,
        log: pino({ level: 'warn' }),
        workerSlots: () => nWorkers,
        local: own ? new LocalBackend(run.arch, kernels, run.train, true, shardSize) : undefined,
      });
      const pids = workers.map((w) => w.pid!);
      const cpu: CpuSampler = async () => ({
        coordinator: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
        workers: pids.reduce((a, pid) => a + procCpuMs(pid), 0),
        redis: (await redisCpuMs(conn)) + (stepConn === conn ? 0 : await redisCpuMs(stepConn)),
      });
      const r = await timeTraining(run, backend, kernels, cpu);
      const costs = lesserCosts(before, await measurePayloadCosts(stepUrl, 4 * params, 200));
      logPayloadCosts(log, costs, `${where}; the lesser of the medians before and after this run`);
      put(`${name}.floor.rttMs`, costs.pingMs);
      put(`${name}.samplesPerSec`, r.samplesPerSec);
      put(`${name}.stepMs`, r.stepMs);
      for (const [k, v] of Object.entries(r.breakdown!)) put(`${name}.${k}`, v);
      // the floor of this configuration and how far above it the step runs
      const floor = stepFloor(costs, {
        workers: nWorkers,
        weightBytes: 4 * params,
        resultBytes: (encoding === 'bf16' ? 2 : 4) * params,
      });
      const computeMs = r.breakdown!.workerComputeMs + r.breakdown!.coordinatorComputeMs;
      const overheadMs = r.stepMs - computeMs / (nWorkers + (own ? 1 : 0));
      put(`${name}.floor.bytes`, floor.bytes);
      put(`${name}.floor.transferMs`, floor.transferMs);
      put(`${name}.floor.roundTripMs`, floor.roundTripMs);
      put(`${name}.floorMs`, floor.floorMs);
      put(`${name}.floor.bytesPerMs`, floor.bytes / floor.transferMs);
      put(`${name}.overheadMs`, overheadMs);
      put(`${name}.overheadOverFloor`, overheadMs / floor.floorMs);
      // what libs/cluster/src/payoff.ts calls fixedStepMs: overhead beyond moving the bytes
      put(`${name}.fixedMs`, overheadMs - floor.transferMs);
      log(
        `  ${nWorkers} worker(s), ${encoding} gradients${own ? `, coordinator computes ${own} shard(s)` : ''}: ${Math.round(r.samplesPerSec)} samples/s (${r.stepMs.toFixed(1)} ms/step): ` +
          Object.entries(r.breakdown!)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', '),
      );
      log(
        `    floor ${floor.floorMs.toFixed(2)} ms/step (${(floor.bytes / 1e6).toFixed(2)} MB: ${floor.transferMs.toFixed(2)} ms of transfer + ${floor.roundTripMs.toFixed(2)} ms of round trips); ` +
          `overhead ${overheadMs.toFixed(2)} ms/step (step − compute ${computeMs.toFixed(2)} / ${nWorkers + (own ? 1 : 0)}) = ${(overheadMs / floor.floorMs).toFixed(1)}× the floor`,
      );
    }
    const rate = (name: string) => figures[`${base}.${name}.samplesPerSec`];
    if (rate('workers1') !== undefined) put('ratio.workers1_over_local', rate('workers1') / local.samplesPerSec);
    if (rate('workers2') !== undefined) put('ratio.workers2_over_local', rate('workers2') / local.samplesPerSec);
    if (rate('workers1') !== undefined && rate('workers2') !== undefined)
      put('ratio.workers2_over_workers1', rate('workers2') / rate('workers1'));
    log(
      `  ratios: 1 worker / local ${figures[`${base}.ratio.workers1_over_local`]}; 2 workers / local ${figures[`${base}.ratio.workers2_over_local`]}; 2 workers / 1 worker ${figures[`${base}.ratio.workers2_over_workers1`]}`,
    );
    for (const t of distributedTargets(batch)) {
      const v = figures[`${base}.${t.figure}`];
      if (v !== undefined) log(`  ${targetMet(t, v) ? 'met   ' : 'MISSED'}  ${t.label}: ${v}`);
    }
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await queue.close();
    blocking.disconnect();
    if (stepConn !== conn) stepConn.disconnect();
    conn.disconnect();
    for (const r of [redis, stepRedis]) {
      if (!r) continue;
      r.proc.kill('SIGTERM');
      // AOF: the directory goes once the server has let go of its files
      await new Promise((done) => (r.proc.exitCode !== null ? done(undefined) : r.proc.once('exit', done)));
      rmSync(r.dir, { recursive: true, force: true });
    }
  }
  return figures;
}

function logPayloadCosts(log: (s: string) => void, c: PayloadCosts, where: string): void {
  const mbps = (ms: number) => (c.bytes / 1e3 / Math.max(1e-6, ms - c.pingMs)).toFixed(0);
  log(
    `  Redis for step traffic (${where}), medians of ${c.reps}: round trip ${c.pingMs.toFixed(3)} ms; ${(c.bytes / 1e6).toFixed(2)} MB payload ` +
      `SET ${c.setMs.toFixed(2)} ms (${mbps(c.setMs)} MB/s), GET ${c.getMs.toFixed(2)} ms (${mbps(c.getMs)} MB/s), ` +
      `XADD ${c.xaddMs.toFixed(2)} ms (${mbps(c.xaddMs)} MB/s), XREAD ${c.xreadMs.toFixed(2)} ms (${mbps(c.xreadMs)} MB/s)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kernel = process.argv[2] ?? 'wasm-simd';
  const shard = Number(process.argv[3] ?? 128);
  const batch = Number(process.argv[4] ?? 256);
  const f = await benchDistributed({ kernel, shardSize: shard, batch });
  console.log(JSON.stringify(f, null, 1));
  process.exit(0);
}
