// The job record: what `submit` stores for a job (JSON at Keys.jobSpec). Coordinators and workers
// re-validate it on read, since it came from outside. This checks the envelope; the spec and the
// input scaling inside it are checked by their owners (libs/train, libs/data), which libs/cluster's
// readJobRecord composes.
import { RedgradError } from '@redgrad/errors';
import { DATA_HASH_PATTERN, validateJobId } from './keys.js';
import { describeValue, isRecord } from './validate.js';

/** A job record that cannot be used: missing, corrupt, or for another job. Retrying cannot fix it. */
export class JobRecordError extends RedgradError {
  override name = 'JobRecordError';

  constructor(message: string, options?: ErrorOptions) {
    super('internal', 'bad-job-record', message, options);
  }
}

export interface JobRecordEnvelope<Spec = unknown, Scaling = unknown> {
  v: 1;
  jobId: string;
  spec: Spec;
  /** The kernel the spec resolved to at submit; every task names it. */
  kernel: string;
  trainHash: string;
  testHash?: string;
  scaling: Scaling;
  featureNames?: string[];
  submittedAt: number;
}

export function encodeJobRecord(record: JobRecordEnvelope<object, object>): string {
  return JSON.stringify(record);
}

/** Parses the record of `jobId` (null: the key is absent); the spec and scaling come back unchecked. */
export function decodeJobRecord(text: string | null, jobId: string): JobRecordEnvelope {
  const what = `job ${jobId}`;
  if (text === null) throw new JobRecordError(`${what}: no job record in Redis (expired or never submitted)`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new JobRecordError(`${what}: job record is not JSON (${(e as Error).message})`, { cause: e });
  }
  if (!isRecord(raw) || raw.v !== 1)
    throw new JobRecordError(`${what}: job record version ${describeValue(isRecord(raw) ? raw.v : raw)} expected 1`);
  if (raw.jobId !== jobId) throw new JobRecordError(`${what}: job record names job ${describeValue(raw.jobId)}`);
  validateJobId(jobId);
  const hash = (v: unknown) => typeof v === 'string' && DATA_HASH_PATTERN.test(v);
  if (!hash(raw.trainHash) || (raw.testHash !== undefined && !hash(raw.testHash)))
    throw new JobRecordError(`${what}: job record has no valid data hashes`);
  if (typeof raw.kernel !== 'string' || raw.kernel === '')
    throw new JobRecordError(`${what}: job record has no kernel`);
  if (
    raw.featureNames !== undefined &&
    !(Array.isArray(raw.featureNames) && raw.featureNames.every((f) => typeof f === 'string'))
  ) {
    throw new JobRecordError(
      `${what}: job record featureNames must be strings, got ${describeValue(raw.featureNames)}`,
    );
  }
  return {
    v: 1,
    jobId,
    spec: raw.spec,
    kernel: raw.kernel,
    trainHash: raw.trainHash as string,
    testHash: raw.testHash as string | undefined,
    scaling: raw.scaling,
    featureNames: raw.featureNames as string[] | undefined,
    submittedAt: typeof raw.submittedAt === 'number' && Number.isFinite(raw.submittedAt) ? raw.submittedAt : 0,
  };
}
