import { ClusterClient, connectChecked } from '@redgrad/cluster';
import type { JobState } from '@redgrad/protocol';
import { modelFromJson } from '@redgrad/train';
import type { Model } from '@redgrad/train';

export interface ClusterTrainOptions {
  /** The cluster's Redis, as for the CLI's REDIS_URL. */
  redisUrl: string;
  /** Key prefix of the cluster (REDGRAD_PREFIX); default "redgrad". */
  prefix?: string;
  /** Job id; default the spec's name and a random suffix. */
  id?: string;
  /** Called with the job's state every time it is read (progress, status). */
  onProgress?: (state: JobState) => void;
  /** Cancels the job; the promise then resolves with status "cancelled". */
  signal?: AbortSignal;
  /** How often the job's state is read; default 300 ms, as `redgrad watch`. */
  pollMs?: number;
}

export interface ClusterRun {
  jobId: string;
  /** The job's final state: completed, failed (with `error`) or cancelled. */
  state: JobState;
  /** The trained model when the job completed: the same bits as trainModel gives. */
  model?: Model;
}

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Submits a job spec file to a running cluster (coordinator and workers on `redisUrl`), as
 * `redgrad submit --watch` does, and resolves when the job has ended.
 */
export async function trainOnCluster(specPath: string, opts: ClusterTrainOptions): Promise<ClusterRun> {
  const client = new ClusterClient(await connectChecked(opts.redisUrl, 'redgrad-api'), opts.prefix ?? 'redgrad');
  try {
    const { jobId } = await client.submit(specPath, { id: opts.id });
    const state = await waitForJob(client, jobId, opts);
    const text = state.status === 'completed' ? await client.model(jobId) : null;
    return { jobId, state, model: text ? modelFromJson(text, `job ${jobId}`) : undefined };
  } finally {
    await client.close();
  }
}

/** Polls the job's state until it ends; an aborted signal asks for cancellation once and keeps waiting. */
async function waitForJob(client: ClusterClient, jobId: string, opts: ClusterTrainOptions): Promise<JobState> {
  let cancelAsked = false;
  for (;;) {
    if (opts.signal?.aborted && !cancelAsked) {
      cancelAsked = true;
      await client.cancel(jobId);
    }
    const state = await client.status(jobId);
    if (state) {
      opts.onProgress?.(state);
      if (ENDED.has(state.status)) return state;
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 300));
  }
}
