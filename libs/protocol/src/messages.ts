// Every message that crosses Redis, as types. Binary payloads (msgpackr, or frames for the weights
// and shard results) carry `v` and `kind`; JSON messages (BullMQ job data, progress, heartbeats) are
// plain JSON-safe objects.

/** Format version of the msgpackr payloads this build writes and reads (frames have FRAME_VERSION). */
export const PROTOCOL_VERSION = 1;

export type PayloadKind = 'weights' | 'shard-result' | 'shard-error' | 'dataset' | 'x-chunk' | 'y-chunk' | 'checkpoint';

/** Deepest block level a message may name (2^30 shards is far past any batch). */
export const MAX_BLOCK_LEVEL = 30;

/** Element types of typed arrays on the wire. */
export type Dtype = 'f32' | 'u8' | 'u32' | 'bf16';

/** One step's weights; written once per step to Keys.weights(jobId, step). */
export interface WeightsPayload {
  v: number;
  kind: 'weights';
  jobId: string;
  step: number;
  params: Float32Array; // [paramCount], the model's flat parameter block
}

/**
 * The gradient sum, loss sum and correct count of an aligned block of shards (level, index): shards
 * [index·2^level, min((index+1)·2^level, shardCount)) of the step, summed in the fixed pairwise
 * tree over shard indices (libs/train tree-reducer.ts). Level 0 is one shard.
 */
export interface ShardResult {
  v: number;
  kind: 'shard-result';
  jobId: string;
  step: number;
  level: number;
  index: number;
  count: number; // samples in the block
  lossSum: number; // float64 sum of per-sample losses
  correct: number; // correctly classified samples (0 for regression)
  grad: Float32Array; // [paramCount], gradient SUM over the block (not mean); bf16 on the wire when the job asks
  workerId: string;
  computeMs: number;
}

/**
 * A gradient task: an aligned block of shards (level, index) of one step. Its indices are the
 * block's samples, which the worker splits into shards of the job's shardSize. JSON-safe (BullMQ
 * job data): the sample indices travel as base64 of a little-endian Uint32Array.
 */
export interface GradientTask {
  v: number;
  jobId: string;
  step: number; // coordinator's global step counter
  level: number; // the block: shards [index·2^level, (index+1)·2^level) of the step
  index: number;
  weightsKey: string; // Keys.weights(jobId, step)
  dataHash: string; // content hash of the data set (Keys.dataMeta(dataHash))
  kernel: string; // compute kernel the job asks for (e.g. 'js')
  paramCount: number; // length of weights and gradient
  indices: string; // base64(Uint32Array LE) — the block's sample indices, shard after shard
}

export type DatasetTask = 'classification' | 'regression';

/** The data set shape this package moves; structurally compatible with libs/data's Dataset. */
export interface DatasetLike {
  name: string;
  task: DatasetTask;
  n: number;
  features: number;
  outputs: number;
  x: Float32Array; // [n, features] row-major
  y: Float32Array; // [n, outputs] row-major
  classes?: string[];
}

/** Header of a data set stored in Redis; its presence marks the upload complete. */
export interface DatasetMeta {
  v: number;
  kind: 'dataset';
  hash: string;
  name: string;
  task: DatasetTask;
  n: number;
  features: number;
  outputs: number;
  classes?: string[];
  chunkRows: number; // rows per chunk; the last chunk may be shorter
  chunks: number; // ceil(n / chunkRows)
  xDtype: 'f32' | 'u8'; // 'u8': x = byte/255 exactly (see dataset.ts)
}

/** One chunk of x or y rows. */
export interface DatasetChunk {
  v: number;
  kind: 'x-chunk' | 'y-chunk';
  index: number;
  dtype: 'f32' | 'u8';
  length: number; // elements in data
  data: Float32Array | Uint8Array;
}

/** A worker's liveness record (JSON), refreshed every few seconds. */
export interface WorkerHeartbeat {
  workerId: string;
  host: string;
  pid: number;
  kernel: string;
  startedAt: number; // ms since epoch
  lastSeen: number; // ms since epoch
  concurrency?: number; // tasks computed at once: the compute slots the coordinator plans for (default 1)
  current?: { jobId: string; step: number; level: number; index: number };
}

/** Training progress (JSON) as reported through BullMQ progress events and the state hash. */
export interface JobProgress {
  jobId: string;
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy?: number;
  samplesPerSecond: number;
  workersSeen: number;
  elapsedMs: number;
  etaMs?: number;
}

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
