export { modelToOnnx } from './onnx.js';
export { TFJS_SCALING_LAYER, TFJS_WEIGHTS_FILE, modelToTfjs, tfjsToWeights } from './tfjs.js';
export type { TfjsFiles, TfjsWeights, WeightFileReader } from './tfjs.js';
export { readInitWeights } from './init-weights.js';
export type { InitWeights } from './init-weights.js';
