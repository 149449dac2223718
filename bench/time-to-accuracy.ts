/**
 * Time to accuracy: Fashion-MNIST (Debian's dataset-fashion-mnist) trained to 0.88 test accuracy,
 * once by `redgrad train --local examples/fashion-mnist.json` and once by `redgrad cluster
 * --workers 2 --submit examples/fashion-mnist-cluster.json --json`, each run as a user runs it: wall
 * time from the command's start to its model file written, so start-up (node, loading the data,
 * and for the cluster Redis, the services, the upload and the workers' download) is included.
 *   node --import tsx bench/time-to-accuracy.ts          (or npm run bench -- --only time-to-accuracy)
 *   node --import tsx bench/time-to-accuracy.ts LOCAL.json CLUSTER.json     other specs (to tune one)
 *
 * Each epoch's end is timed as well, to tell when test accuracy first reached the target: from the
 * local command's epoch lines, and for the cluster by polling the job's state in the cluster's
 * Redis (an epoch has ended once progress shows the next one; the poll and the coordinator's
 * progress reports make that up to about half a second late).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { clusterEnv, readJobState } from '@redgrad/cluster';
import { Keys } from '@redgrad/protocol';

const ROOT = new URL('../', import.meta.url).pathname;
const CLI = join(ROOT, 'apps/cli/bin/redgrad.js');
const DATASET = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
export const TARGET_ACCURACY = 0.88;

/** Per-epoch record of the model file's `training.history` (README, "Model file format"). */
interface EpochRecord {
  epoch: number;
  step: number;
  testAccuracy?: number;
}

export interface AccuracyRun {
  label: string;
  command: string;
  spec: { batchSize: number; shardSize: number; epochs: number; lr: number };
  /** Command start → model file written. */
  wallMs: number;
  /** Command start → training under way (local: data loaded; cluster: first progress seen). */
  startupMs?: number;
  /** Cluster: command start → job submitted (Redis and services started, data uploaded). */
  submittedMs?: number;
  /** Cluster: the submit's estimate of whether this spec pays (its note, when it does not). */
  payoffNote?: string | null;
  testAccuracy: number;
  history: EpochRecord[];
  /** Command start → end of each epoch (1-based index), where the output gave it. */
  epochEndMs: Array<number | undefined>;
  firstReachedEpoch?: number;
  firstReachedMs?: number;
}

interface Line {
  stream: 'stdout' | 'stderr';
  text: string;
  atMs: number; // since the command started
}

/** Runs the redgrad CLI; every output line is handed to `onLine` with its arrival time. */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (l: Line) => void,
): Promise<{ code: number | null; startedAt: number; lines: Line[] }> {
  const startedAt = Date.now();
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: proc[stream] }).on('line', (text) => {
      const l = { stream, text, atMs: Date.now() - startedAt };
      lines.push(l);
      onLine(l);
    });
  }
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => resolve({ code, startedAt, lines }));
  });
}

function readSpec(path: string): AccuracyRun['spec'] {
  const s = JSON.parse(readFileSync(path, 'utf8')) as {
    batchSize: number;
    shardSize: number;
    epochs: number;
    optimizer: { lr: number };
  };
  return { batchSize: s.batchSize, shardSize: s.shardSize, epochs: s.epochs, lr: s.optimizer.lr };
}

function finish(
  base: Omit<AccuracyRun, 'history' | 'firstReachedEpoch' | 'firstReachedMs' | 'testAccuracy'>,
  modelPath: string,
  testAccuracy?: number,
): AccuracyRun {
  const model = JSON.parse(readFileSync(modelPath, 'utf8')) as { training?: { history?: EpochRecord[] } };
  const history = model.training?.history ?? [];
  const first = history.find((h) => (h.testAccuracy ?? 0) >= TARGET_ACCURACY);
  return {
    ...base,
    history,
    testAccuracy: testAccuracy ?? history[history.length - 1]?.testAccuracy ?? NaN,
    firstReachedEpoch: first?.epoch,
    firstReachedMs: first ? base.epochEndMs[first.epoch] : undefined,
  };
}

function failure(what: string, code: number | null, lines: Line[]): Error {
  const tail = lines
    .filter((l) => l.stream === 'stderr')
    .slice(-15)
    .map((l) => l.text)
    .join('\n');
  return new Error(`${what} exited with ${code}:\n${tail}`);
}

const SPECS = {
  local: join(ROOT, 'examples/fashion-mnist.json'),
  cluster: join(ROOT, 'examples/fashion-mnist-cluster.json'),
};
const shown = (path: string) => (path.startsWith(ROOT) ? path.slice(ROOT.length) : path);

async function runLocal(dir: string, spec: string): Promise<AccuracyRun> {
  const out = join(dir, 'local-model.json');
  const epochEndMs: Array<number | undefined> = [];
  let startupMs: number | undefined;
  // human output: the header line comes once the data is loaded, then one line per epoch
  const r = await runCli(['train', '--local', spec, '--out', out], process.env, (l) => {
    const epoch = /^epoch\s+(\d+)\s/.exec(l.text);
    if (epoch) epochEndMs[Number(epoch[1])] = l.atMs;
    else if (startupMs === undefined && / training samples, /.test(l.text)) startupMs = l.atMs;
  });
  if (r.code !== 0) throw failure('train --local', r.code, r.lines);
  const wallMs = statSync(out).mtimeMs - r.startedAt;
  return finish(
    {
      label: '--local',
      command: `redgrad train --local ${shown(spec)}`,
      spec: readSpec(spec),
      wallMs,
      startupMs,
      epochEndMs,
    },
    out,
  );
}

/**
 * Follows the job in the cluster's own Redis: records when each epoch ended (progress shows a
 * later epoch, or the job completed) and when the first progress appeared.
 */
function followEpochs(
  redisUrl: string,
  jobId: string,
  startedAt: number,
  epochEndMs: Array<number | undefined>,
): { firstProgressMs: () => number | undefined; stop: () => Promise<void> } {
  let stopped = false;
  let firstProgress: number | undefined;
  const loop = (async () => {
    // no retries: the cluster stops its Redis once the job ends, and a poll must then fail, not wait
    const redis = new Redis(redisUrl, {
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectionName: 'bench-time-to-accuracy',
    });
    redis.on('error', () => {});
    const keys = new Keys(clusterEnv().prefix);
    let seen = 0; // epochs known to have ended
    try {
      while (!stopped) {
        const s = await readJobState(redis, keys, jobId);
        const now = Date.now() - startedAt;
        if (s?.progress && firstProgress === undefined) firstProgress = now;
        const ended =
          s?.status === 'completed' ? (s.progress?.epochs ?? seen) : Math.max(0, (s?.progress?.epoch ?? 1) - 1);
        for (; seen < ended; seen++) epochEndMs[seen + 1] = now;
        if (s && s.status !== 'queued' && s.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      redis.disconnect();
    }
  })().catch(() => {}); // no timing is better than a failed run: the epochs stay untimed
  return {
    firstProgressMs: () => firstProgress,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

async function runCluster(dir: string, spec: string): Promise<AccuracyRun> {
  const out = join(dir, 'cluster-model.json');
  const epochEndMs: Array<number | undefined> = [];
  let redisUrl: string | undefined;
  let follower: ReturnType<typeof followEpochs> | undefined;
  let submittedMs: number | undefined;
  // no REDIS_URL: the command starts its own Redis, as a new user's first run does
  const r = await runCli(
    ['cluster', '--workers', '2', '--submit', spec, '--json', '--out', out],
    { ...process.env, REDIS_URL: '' },
    (l) => {
      if (l.stream !== 'stderr') return;
      const started = /^\[cluster\] started redis-server on (redis:\/\/\S+)/.exec(l.text);
      if (started) redisUrl = started[1];
      const submitted = /^\[cluster\] submitted (\S+)/.exec(l.text);
      if (submitted) submittedMs = l.atMs;
      if (submitted && redisUrl) follower = followEpochs(redisUrl, submitted[1], Date.now() - l.atMs, epochEndMs);
    },
  );
  await follower?.stop();
  if (r.code !== 0) throw failure('cluster --submit', r.code, r.lines);
  const result = JSON.parse(
    r.lines
      .filter((l) => l.stream === 'stdout')
      .map((l) => l.text)
      .join('\n'),
  ) as { testAccuracy?: number; payoff?: { note: string | null } };
  return finish(
    {
      label: 'cluster, 2 workers',
      command: `redgrad cluster --workers 2 --submit ${shown(spec)} --json`,
      spec: readSpec(spec),
      wallMs: statSync(out).mtimeMs - r.startedAt,
      startupMs: follower?.firstProgressMs(),
      submittedMs,
      epochEndMs,
      payoffNote: result.payoff?.note,
    },
    out,
    result.testAccuracy,
  );
}

const s1 = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function report(runs: AccuracyRun[], log: (s: string) => void): void {
  log(`Time to ${TARGET_ACCURACY} test accuracy on Fashion-MNIST, command start → model written:`);
  for (const r of runs) log(`  ${r.label}: ${r.command}`);
  log(
    `  ${'run'.padEnd(20)} ${'batch'.padStart(5)} ${'shard'.padStart(5)} ${'lr'.padStart(6)} ${'epochs'.padStart(6)} ${'wall'.padStart(8)} ${'start-up'.padStart(9)} ${'test acc'.padStart(8)}  reached  first ≥ ${TARGET_ACCURACY}`,
  );
  for (const r of runs) {
    const first = r.firstReachedEpoch === undefined ? 'never' : `epoch ${r.firstReachedEpoch}, ${s1(r.firstReachedMs)}`;
    log(
      `  ${r.label.padEnd(20)} ${String(r.spec.batchSize).padStart(5)} ${String(r.spec.shardSize).padStart(5)} ${String(r.spec.lr).padStart(6)} ${String(r.spec.epochs).padStart(6)} ${s1(r.wallMs).padStart(8)} ${s1(r.startupMs).padStart(9)} ${r.testAccuracy.toFixed(4).padStart(8)}  ${(r.testAccuracy >= TARGET_ACCURACY ? 'yes' : 'NO').padEnd(7)}  ${first}`,
    );
  }
  for (const r of runs.filter((x) => x.submittedMs !== undefined)) {
    log(
      `  ${r.label} start-up: job submitted (Redis and services started, data uploaded) at ${s1(r.submittedMs)}, first step seen at ${s1(r.startupMs)}`,
    );
    if (r.payoffNote !== undefined)
      log(`  ${r.label}, the submit's estimate: ${r.payoffNote ?? 'the cluster pays for these steps'}`);
  }
  for (const r of runs) {
    log(
      `  ${r.label}: test accuracy by epoch ${r.history.map((h) => `${h.epoch}:${h.testAccuracy?.toFixed(3) ?? '—'}@${s1(r.epochEndMs[h.epoch])}`).join(' ')}`,
    );
  }
}

/**
 * Figures `timeToAccuracy.<local|cluster2>.<wallMs|startupMs|epochs|testAccuracy|reached|
 * firstReachedEpoch|firstReachedMs>` and `timeToAccuracy.cluster2_over_local` (wall times) and
 * `timeToAccuracy.cluster2_over_local.firstReached`.
 */
export async function benchTimeToAccuracy(
  opts: { specs?: { local: string; cluster: string }; log?: (s: string) => void } = {},
): Promise<{ figures: Record<string, number>; note?: string }> {
  const specs = opts.specs ?? SPECS;
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  if (!existsSync(DATASET))
    return {
      figures: {},
      note: `time-to-accuracy: not measured (no ${DATASET}; apt-get install dataset-fashion-mnist)`,
    };
  const dir = mkdtempSync(join(tmpdir(), 'redgrad-tta-'));
  const figures: Record<string, number> = {};
  try {
    const runs: AccuracyRun[] = [];
    for (const [key, run, spec] of [
      ['local', runLocal, specs.local],
      ['cluster2', runCluster, specs.cluster],
    ] as const) {
      const r = await run(dir, spec);
      runs.push(r);
      const put = (k: string, v: number | undefined) => {
        if (v !== undefined) figures[`timeToAccuracy.${key}.${k}`] = Math.round(v * 10_000) / 10_000;
      };
      put('wallMs', Math.round(r.wallMs));
      put('startupMs', r.startupMs);
      put('submittedMs', r.submittedMs);
      put('epochs', r.history.length);
      put('batchSize', r.spec.batchSize);
      put('testAccuracy', r.testAccuracy);
      put('reached', r.testAccuracy >= TARGET_ACCURACY ? 1 : 0);
      put('firstReachedEpoch', r.firstReachedEpoch);
      put('firstReachedMs', r.firstReachedMs);
    }
    const ratio = (k: string) => figures[`timeToAccuracy.cluster2.${k}`] / figures[`timeToAccuracy.local.${k}`];
    figures['timeToAccuracy.cluster2_over_local'] = Math.round(ratio('wallMs') * 100) / 100;
    if (Number.isFinite(ratio('firstReachedMs')))
      figures['timeToAccuracy.cluster2_over_local.firstReached'] = Math.round(ratio('firstReachedMs') * 100) / 100;
    report(runs, log);
    log(
      `  cluster / local, wall time: ${figures['timeToAccuracy.cluster2_over_local']}×; time to first ≥ ${TARGET_ACCURACY}: ${figures['timeToAccuracy.cluster2_over_local.firstReached'] ?? '—'}×`,
    );
    return { figures };
  } catch (e) {
    return { figures, note: `time-to-accuracy: failed (${(e as Error).message})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [local, cluster] = process.argv.slice(2);
  const { figures, note } = await benchTimeToAccuracy(local && cluster ? { specs: { local, cluster } } : {});
  if (note) process.stderr.write(note + '\n');
  console.log(JSON.stringify(figures, null, 1));
}
