import { estimatePayoff, payoffNote, planStep } from '@redgrad/cluster';
import type { PayoffEstimate, SubmitResult } from '@redgrad/cluster';

/** The estimate as `--json` output carries it: the figures and the note (null when the cluster pays). */
export type PayoffReport = PayoffEstimate & { note: string | null; workersAssumed: boolean };

/**
 * Whether `workers` workers beat `--local` on a job just submitted. With no live worker to count,
 * the estimate is for 2 (the compose default) and says so. In human mode the note, when the
 * cluster does not pay, goes to stderr: stdout keeps the job id or the result.
 */
export function reportPayoff(
  r: SubmitResult,
  workers: number,
  opts: { json?: boolean; coordinatorComputes?: boolean },
): PayoffReport {
  const assumed = workers < 1;
  const counted = assumed ? 2 : workers;
  // the coordinator computes only where the step plan gives it a block (with 1 worker, not with 2
  // workers and 2 shards): ask the plan the backend uses rather than assume
  const shards = Math.ceil(r.batchSize / r.record.spec.shardSize);
  const coordinatorComputes = !!opts.coordinatorComputes && planStep(shards, counted, true).own !== null;
  const estimate = estimatePayoff({
    layers: r.arch.layers,
    batchSize: r.batchSize,
    workers: counted,
    kernel: r.record.kernel,
    gradientEncoding: r.record.spec.gradientEncoding,
    coordinatorComputes,
  });
  const note = payoffNote(estimate);
  const shown = note && assumed ? `${note} (estimated for 2 workers: none is live yet)` : note;
  if (shown && !opts.json) process.stderr.write(shown + '\n');
  return { ...estimate, note: shown, workersAssumed: assumed };
}

/** REDGRAD_COORDINATOR_COMPUTE other than `off` (default `auto`): the coordinator may compute a block of each step too. */
export function coordinatorComputes(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.REDGRAD_COORDINATOR_COMPUTE ?? 'auto') !== 'off';
}
