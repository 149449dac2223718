import type { Redis } from 'ioredis';
import type { JobProgress, JobStatus, Keys } from '@redgrad/protocol';
import { isJobStatus } from '@redgrad/protocol';

/** The job state hash (Keys.jobState), as clients read it. */
export interface JobState {
  jobId: string;
  name?: string;
  status: JobStatus | 'unknown';
  submittedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  coordinator?: string;
  resumes: number;
  error?: string;
  progress?: JobProgress;
  /** Final figures (JSON): losses, accuracies, steps, samples/s. */
  result?: Record<string, unknown>;
  cancelRequested: boolean;
}

export async function readJobState(redis: Redis, keys: Keys, jobId: string): Promise<JobState | null> {
  const [h, cancel] = await Promise.all([redis.hgetall(keys.jobState(jobId)), redis.exists(keys.cancel(jobId))]);
  if (!h || Object.keys(h).length === 0) return null;
  const num = (v?: string) => (v === undefined ? undefined : Number(v));
  const json = <T>(v?: string): T | undefined => {
    if (!v) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      return undefined;
    }
  };
  return {
    jobId,
    name: h.name,
    status: isJobStatus(h.status) ? h.status : 'unknown',
    submittedAt: num(h.submittedAt),
    startedAt: num(h.startedAt),
    finishedAt: num(h.finishedAt),
    coordinator: h.coordinator,
    resumes: Number(h.resumes ?? 0),
    error: h.error,
    progress: json<JobProgress>(h.progress),
    result: json<Record<string, unknown>>(h.result),
    cancelRequested: cancel > 0,
  };
}

export async function setJobState(redis: Redis, keys: Keys, jobId: string, fields: Record<string, string | number>): Promise<void> {
  await redis.hset(keys.jobState(jobId), fields);
}
