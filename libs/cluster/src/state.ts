import type { Redis } from 'ioredis';
import { decodeJobState, encodeJobState } from '@redgrad/protocol';
import type { JobState, JobStateUpdate, Keys } from '@redgrad/protocol';

export async function readJobState(redis: Redis, keys: Keys, jobId: string): Promise<JobState | null> {
  const [hash, cancel] = await Promise.all([redis.hgetall(keys.jobState(jobId)), redis.exists(keys.cancel(jobId))]);
  return decodeJobState(jobId, hash, cancel > 0);
}

export async function setJobState(redis: Redis, keys: Keys, jobId: string, update: JobStateUpdate): Promise<void> {
  await redis.hset(keys.jobState(jobId), encodeJobState(update));
}
