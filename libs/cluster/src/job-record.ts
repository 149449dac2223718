import type { Redis } from 'ioredis';
import { JobRecordError, decodeJobRecord } from '@redgrad/protocol';
import type { JobRecordEnvelope, Keys } from '@redgrad/protocol';
import type { Scaling } from '@redgrad/data';
import { DataError, validateScaling } from '@redgrad/data';
import type { JobSpec } from '@redgrad/train';
import { SpecError, validateJobSpec } from '@redgrad/train';

/** A job record with its spec and scaling checked: what coordinators and workers run from. */
export type JobRecord = JobRecordEnvelope<JobSpec, Scaling>;

/** Decodes a record and checks the spec and scaling inside it; any fault is a JobRecordError. */
export function parseJobRecord(text: string | null, jobId: string): JobRecord {
  const raw = decodeJobRecord(text, jobId);
  try {
    const spec = validateJobSpec(raw.spec, 'job record spec');
    const offsets = (raw.scaling as { offset?: unknown } | undefined)?.offset;
    const scaling = validateScaling(raw.scaling, Array.isArray(offsets) ? offsets.length : 0, 'job record scaling');
    return { ...raw, spec, scaling };
  } catch (e) {
    if (e instanceof SpecError || e instanceof DataError)
      throw new JobRecordError(`job ${jobId}: ${e.message}`, { cause: e });
    throw e;
  }
}

export async function readJobRecord(redis: Redis, keys: Keys, jobId: string): Promise<JobRecord> {
  return parseJobRecord(await redis.get(keys.jobSpec(jobId)), jobId);
}
