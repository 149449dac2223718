export { GradientWorker, workerOptionsFromEnv } from './worker.js';
