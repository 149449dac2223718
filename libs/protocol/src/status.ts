// JSON messages about jobs and workers: heartbeats, progress, the job state hash.
import { ProtocolError } from './errors.js';
import { JOB_ID_PATTERN, WORKER_ID_PATTERN } from './keys.js';
import type { JobProgress, JobStatus, WorkerHeartbeat } from './messages.js';
import { JOB_STATUSES } from './messages.js';
import type { Fields } from './validate.js';
import { expectFinite, expectInt, expectOptionalFinite, expectRecord, expectString } from './validate.js';

function parseJson(text: unknown, what: string): unknown {
  if (typeof text !== 'string') return text; // already parsed (BullMQ hands progress as an object)
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ProtocolError(
      'truncated',
      `${what}: not valid JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

export function encodeHeartbeat(hb: WorkerHeartbeat): string {
  return JSON.stringify(validateHeartbeat(hb));
}

/** Parse a heartbeat from its JSON text (or an already parsed object). */
export function validateHeartbeat(data: unknown): WorkerHeartbeat {
  const what = 'worker heartbeat';
  const obj = expectRecord(parseJson(data, what), what);
  const hb: WorkerHeartbeat = {
    workerId: expectString(obj, 'workerId', what, { pattern: WORKER_ID_PATTERN }),
    host: expectString(obj, 'host', what, { maxLength: 256 }),
    pid: expectInt(obj, 'pid', what),
    kernel: expectString(obj, 'kernel', what, { maxLength: 32 }),
    startedAt: expectInt(obj, 'startedAt', what),
    lastSeen: expectInt(obj, 'lastSeen', what),
  };
  if (obj.concurrency !== undefined) hb.concurrency = expectInt(obj, 'concurrency', what, 1, 1024);
  if (obj.current !== undefined && obj.current !== null) {
    const cur = expectRecord(obj.current, `${what}: current`);
    hb.current = {
      jobId: expectString(cur, 'jobId', `${what}: current`, { pattern: JOB_ID_PATTERN }),
      step: expectInt(cur, 'step', `${what}: current`),
      level: expectInt(cur, 'level', `${what}: current`),
      index: expectInt(cur, 'index', `${what}: current`),
    };
  }
  return hb;
}

/** Progress as a JSON-safe object (BullMQ's job.updateProgress stores JSON). */
export function encodeProgress(p: JobProgress): JobProgress {
  return validateProgress(p);
}

export function validateProgress(data: unknown): JobProgress {
  const what = 'job progress';
  const obj: Fields = expectRecord(parseJson(data, what), what);
  const p: JobProgress = {
    jobId: expectString(obj, 'jobId', what, { pattern: JOB_ID_PATTERN }),
    epoch: expectInt(obj, 'epoch', what),
    epochs: expectInt(obj, 'epochs', what),
    step: expectInt(obj, 'step', what),
    steps: expectInt(obj, 'steps', what),
    // Loss may legitimately be non-finite when a job diverges; JSON would turn it into null, so it must be finite here.
    loss: expectFinite(obj, 'loss', what),
    samplesPerSecond: expectFinite(obj, 'samplesPerSecond', what, 0),
    workersSeen: expectInt(obj, 'workersSeen', what),
    elapsedMs: expectFinite(obj, 'elapsedMs', what, 0),
  };
  const accuracy = expectOptionalFinite(obj, 'accuracy', what, 0);
  if (accuracy !== undefined) {
    if (accuracy > 1) throw new ProtocolError('out-of-range', `${what}: accuracy ${accuracy} is not in 0..1`);
    p.accuracy = accuracy;
  }
  const etaMs = expectOptionalFinite(obj, 'etaMs', what, 0);
  if (etaMs !== undefined) p.etaMs = etaMs;
  return p;
}

export function isJobStatus(s: unknown): s is JobStatus {
  return typeof s === 'string' && (JOB_STATUSES as readonly string[]).includes(s);
}
