// The job state hash (Keys.jobState): flat string fields, as Redis hashes hold them. Numbers travel as
// decimal strings, progress and result as JSON; readers tolerate a field they cannot parse, since the
// state is for display and a bad field must not hide the rest.
import { isJobStatus } from './status.js';
import type { JobProgress, JobStatus } from './messages.js';

/** The job state as clients read it. */
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

/** Fields a writer sets; each becomes one hash field. */
export interface JobStateUpdate {
  status?: JobStatus;
  name?: string;
  submittedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  coordinator?: string;
  resumes?: number;
  error?: string;
  progress?: JobProgress;
  result?: Record<string, unknown>;
}

export function encodeJobState(update: JobStateUpdate): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(update)) {
    if (v !== undefined) fields[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return fields;
}

/** The state of `jobId` from its hash fields (HGETALL); null when the hash is empty (no such job). */
export function decodeJobState(jobId: string, hash: Record<string, string>, cancelRequested: boolean): JobState | null {
  if (Object.keys(hash).length === 0) return null;
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
    name: hash.name,
    status: isJobStatus(hash.status) ? hash.status : 'unknown',
    submittedAt: num(hash.submittedAt),
    startedAt: num(hash.startedAt),
    finishedAt: num(hash.finishedAt),
    coordinator: hash.coordinator,
    resumes: Number(hash.resumes ?? 0),
    error: hash.error,
    progress: json<JobProgress>(hash.progress),
    result: json<Record<string, unknown>>(hash.result),
    cancelRequested,
  };
}
