// @redgrad/protocol — everything that crosses Redis, as data: key layout, queue names,
// message types, msgpackr codecs and their validation. The reads and writes live in libs/cluster.
export { ProtocolError, type ProtocolErrorCode } from './errors.js';
export { checkHeader, packPayload, unpackPayload } from './codec.js';
export { expectAllFinite } from './validate.js';
export {
  DATA_HASH_PATTERN,
  DEFAULT_PREFIX,
  GRADIENT_QUEUE,
  JOB_ID_PATTERN,
  JOBS_QUEUE,
  Keys,
  WORKER_ID_PATTERN,
  parseTaskId,
  taskId,
  validateJobId,
} from './keys.js';
export {
  JOB_STATUSES,
  PROTOCOL_VERSION,
  type DatasetChunk,
  type DatasetLike,
  type DatasetMeta,
  type DatasetTask,
  type Dtype,
  type GradientTask,
  type JobProgress,
  type JobStatus,
  type PayloadKind,
  type ShardResult,
  type WeightsPayload,
  type WorkerHeartbeat,
} from './messages.js';
export { FRAME_VERSION, FrameBuffer } from './frame.js';
export {
  decodeShardResult,
  decodeWeights,
  decodeWeightsInto,
  encodeShardResult,
  encodeWeights,
  type ShardResultExpect,
  type ShardResultInit,
  type WeightsExpect,
} from './payloads.js';
export {
  MAX_TASK_INDICES,
  checkTaskIdentity,
  decodeIndices,
  encodeIndices,
  makeGradientTask,
  validateGradientTask,
  type GradientTaskInit,
} from './task.js';
export {
  decodeDatasetChunk,
  decodeDatasetMeta,
  encodeDatasetMeta,
  isU8Compactable,
  joinDataset,
  splitDataset,
  type SplitDataset,
} from './dataset.js';
export {
  encodeHeartbeat,
  encodeProgress,
  isJobStatus,
  validateHeartbeat,
  validateProgress,
} from './status.js';
export { decodeShardMessage, encodeShardError, type ShardError } from './shard-error.js';
export { openStepResults, pushStepResult, readStepResults, type StepResultsRead } from './results-stream.js';
export { JobRecordError, decodeJobRecord, encodeJobRecord, type JobRecordEnvelope } from './job-record.js';
export { decodeCheckpoint, encodeCheckpoint, type CheckpointState, type EpochRecord } from './checkpoint.js';
export { decodeJobState, encodeJobState, type JobState, type JobStateUpdate } from './job-state.js';
export { fromBf16, roundBf16, toBf16, toBf16WithFeedback } from './bf16.js';
