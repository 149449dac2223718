import { RedgradError } from '@redgrad/errors';
import type { Keys } from '@redgrad/protocol';
import { validateJobId } from '@redgrad/protocol';
import type { Scaling } from '@redgrad/data';
import { validateScaling } from '@redgrad/data';
import type { JobSpec } from '@redgrad/train';
import { validateJobSpec } from '@redgrad/train';
import type { Redis } from 'ioredis';

/**
 * What `submit` stores for a job (JSON at Keys.jobSpec): the validated spec and what the CLI derived
 * from the data (content hashes of the prepared train/test sets, the fitted scaling, names).
 * Coordinators and workers re-validate it on read: it came from outside.
 */
export interface JobRecord {
  v: 1;
  jobId: string;
  spec: JobSpec;
  kernel: string;
  trainHash: string;
  testHash?: string;
  scaling: Scaling;
  featureNames?: string[];
  submittedAt: number;
}

/** A job record in Redis that cannot be used: missing, corrupt, or for another job. */
export class JobRecordError extends RedgradError {
  override name = 'JobRecordError';

  constructor(message: string, options?: ErrorOptions) {
    super('internal', 'bad-job-record', message, options);
  }
}

export function parseJobRecord(text: string | null, jobId: string): JobRecord {
  if (text === null) throw new JobRecordError(`job ${jobId}: no job record in Redis (expired or never submitted)`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new JobRecordError(`job ${jobId}: job record is not JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || raw.v !== 1) throw new JobRecordError(`job ${jobId}: job record version ${JSON.stringify(raw?.v)} expected 1`);
  if (raw.jobId !== jobId) throw new JobRecordError(`job ${jobId}: job record names job ${JSON.stringify(raw.jobId)}`);
  validateJobId(jobId);
  let spec: JobSpec;
  try {
    spec = validateJobSpec(raw.spec, 'job record spec');
  } catch (e) {
    throw new JobRecordError(`job ${jobId}: ${(e as Error).message}`);
  }
  if (typeof raw.trainHash !== 'string' || (raw.testHash !== undefined && typeof raw.testHash !== 'string')) throw new JobRecordError(`job ${jobId}: job record has no valid data hashes`);
  if (typeof raw.kernel !== 'string') throw new JobRecordError(`job ${jobId}: job record has no kernel`);
  const scalingRaw = raw.scaling as { offset?: unknown[] } | undefined;
  const features = Array.isArray(scalingRaw?.offset) ? scalingRaw.offset.length : 0;
  let scaling: Scaling;
  try {
    scaling = validateScaling(raw.scaling, features, `job ${jobId} record scaling`);
  } catch (e) {
    throw new JobRecordError((e as Error).message);
  }
  return {
    v: 1, jobId, spec, kernel: raw.kernel, trainHash: raw.trainHash, testHash: raw.testHash as string | undefined, scaling,
    featureNames: Array.isArray(raw.featureNames) ? raw.featureNames.map(String) : undefined,
    submittedAt: Number(raw.submittedAt) || 0,
  };
}

export async function readJobRecord(redis: Redis, keys: Keys, jobId: string): Promise<JobRecord> {
  return parseJobRecord(await redis.get(keys.jobSpec(jobId)), jobId);
}

