export { ConfigError, JobIdError, RedisUnavailableError } from './errors.js';
export { clusterEnv, connectRedis, connectChecked, envInt, redactUrl } from './config.js';
export type { ClusterEnv, ServiceOptions } from './config.js';
export { parseJobRecord, readJobRecord } from './job-record.js';
export type { JobRecord } from './job-record.js';
export { QueueBackend } from './queue-backend.js';
export { WorkerSlots } from './worker-slots.js';
export { planBlocks, planStep } from './step-plan.js';
export type { QueueBackendOptions, StepTimings } from './queue-backend.js';
export { readJobState, setJobState } from './state.js';
export { serviceLogger } from './logger.js';
export type { Logger } from './logger.js';
export { datasetFromWire } from './wire-data.js';
export { downloadDataset, readDatasetMeta, uploadDataset } from './dataset-redis.js';
export type { UploadResult } from './dataset-redis.js';
export { ClusterClient } from './client.js';
export type { SubmitResult } from './client.js';
export {
  DEFAULT_PAYOFF_CONSTANTS,
  bytesPerStep,
  estimatePayoff,
  flopsPerSample,
  paramCount,
  payoffNote,
} from './payoff.js';
export type { PayoffConstants, PayoffEstimate, PayoffInput, PayoffLayer } from './payoff.js';
