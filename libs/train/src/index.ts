export { validateJobSpec, SpecError } from './spec.js';
export type { JobSpec } from './spec.js';
export { prepareJob, prepareFromData, preparedJob, architecture } from './prepare.js';
export type { PreparedJob } from './prepare.js';
export type { GradientBackend, ShardGradient, StepRequest } from './backend.js';
export { LocalBackend } from './local-backend.js';
export { TreeReducer, blockRange, isBlock, rootLevel } from './tree-reducer.js';
export type { Block } from './tree-reducer.js';
export { train, epochOrder, initialParams } from './loop.js';
export { TrainingError, type TrainingErrorCode } from './training-error.js';
export type { Checkpoint, EpochMetrics, StepProgress, TrainOptions, TrainResult } from './loop.js';
export { evaluate } from './evaluate.js';
export type { Evaluation } from './evaluate.js';
export { modelOf, networkFor, dataForModel } from './model.js';
export { ModelFileError, modelFromJson, modelToJson } from './model-file.js';
export type { Model } from './model-file.js';
export { kernelName, selectKernels } from './kernels.js';
export type { KernelChoice } from './kernels.js';
export { trainLocal, readJobSpec } from './local.js';
export type { LocalRun } from './local.js';
export {
  modelToOnnx,
  modelToTfjs,
  readInitWeights,
  tfjsToWeights,
  TFJS_SCALING_LAYER,
  TFJS_WEIGHTS_FILE,
} from './interop/index.js';
export type { InitWeights, TfjsFiles, TfjsWeights, WeightFileReader } from './interop/index.js';
