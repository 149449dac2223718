import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readInputBytes, readInputText } from '@redgrad/errors';
import type { LayerSpec, Loss } from '@redgrad/nn';
import { ModelFileError, modelFromJson } from '../model-file.js';
import { tfjsToWeights } from './tfjs.js';

/** Weights to start training from, whichever format they came in. */
export interface InitWeights {
  layers: LayerSpec[];
  /** known for a redgrad model file; a tfjs model carries no loss redgrad can check */
  loss?: Loss;
  params: Float32Array;
  format: 'redgrad' | 'tfjs';
}

/**
 * Reads `--init`: a redgrad model file, or a tfjs layers model (its model.json, or the directory
 * holding it, with the weight files beside it). Only the weights are taken; the job's own scaling
 * applies, as for a redgrad model file.
 */
export async function readInitWeights(path: string): Promise<InitWeights> {
  const file = (await isDirectory(path)) ? join(path, 'model.json') : path;
  const text = await readInputText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  if (fields.format === 'redgrad-model') {
    const model = modelFromJson(text, file);
    return { layers: model.arch.layers, loss: model.arch.loss, params: model.params, format: 'redgrad' };
  }
  if ('modelTopology' in fields) {
    const { layers, params } = await tfjsToWeights(text, (p) => readInputBytes(join(dirname(file), p)), file);
    return { layers, params, format: 'tfjs' };
  }
  throw new ModelFileError(
    `${file}: neither a redgrad model file (format "redgrad-model") nor a TensorFlow.js layers model (modelTopology)`,
  );
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // reading it reports what is wrong with it
  }
}
