/**
 * redgrad for people who train from code: `import { trainModel, predict } from 'redgrad'`.
 *
 * - specs: loadSpec (a JSON file) or defineSpec (an object), both validated with the CLI's messages;
 * - local training: trainModel, with per-step and per-epoch callbacks and an AbortSignal that stops
 *   early and still returns the weights so far;
 * - cluster training: trainOnCluster submits to a running cluster and resolves with the model;
 * - models: loadModel, saveModel, predict on arrays of raw features.
 *
 * Every error a caller can cause is a RedgradError with kind "user" and a stable code.
 */
export { defineSpec, loadSpec, trainModel } from './local.js';
export type { TrainedModel, TrainModelOptions } from './local.js';
export { loadModel, predict, saveModel } from './predict.js';
export type { Prediction } from './predict.js';
export { trainOnCluster } from './cluster.js';
export type { ClusterRun, ClusterTrainOptions } from './cluster.js';
export { RedgradError } from '@redgrad/errors';
export { ModelFileError, SpecError, modelFromJson, modelToJson } from '@redgrad/train';
export type { EpochMetrics, JobSpec, Model, StepProgress, TrainResult } from '@redgrad/train';
export type { JobState } from '@redgrad/protocol';
export { ClusterClient } from '@redgrad/cluster';
