import { readFile, writeFile } from 'node:fs/promises';
import { DataError, scaleFeatures } from '@redgrad/data';
import { classIndex } from '@redgrad/nn';
import { modelFromJson, modelToJson, networkFor } from '@redgrad/train';
import type { Model } from '@redgrad/train';

/** Reads a model file (redgrad's JSON format); every field is checked. */
export async function loadModel(path: string): Promise<Model> {
  return modelFromJson(await readFile(path, 'utf8'), path);
}

/** Writes a model file; the same model always gives the same bytes. */
export async function saveModel(model: Model, path: string, encoding: 'base64' | 'arrays' = 'base64'): Promise<void> {
  await writeFile(path, modelToJson(model, encoding));
}

export interface Prediction {
  /** The network's outputs: class probabilities (classification) or the predicted values. */
  outputs: number[];
  /** Classification: the most probable class's index and name (its index as text when the model names no classes). */
  classIndex?: number;
  label?: string;
}

/**
 * Predicts each row of raw (unscaled) features: the model's stored scaling is applied first, as
 * `redgrad predict` does. Rows are arrays of numbers in the model's feature order.
 */
export function predict(model: Model, rows: ArrayLike<number>[]): Prediction[] {
  const inputs = model.arch.layers[0].inputs;
  const outputs = model.arch.layers[model.arch.layers.length - 1].outputs;
  const x = new Float32Array(rows.length * inputs); // [n, inputs]
  rows.forEach((row, r) => {
    if (row.length !== inputs) throw new DataError(`row ${r}: has ${row.length} features, the model expects ${inputs}`);
    for (let j = 0; j < inputs; j++) x[r * inputs + j] = row[j];
  });
  const scaled = model.scaling ? scaleFeatures(x, rows.length, inputs, model.scaling, 'predict') : x;
  const net = networkFor(model);
  const out: Prediction[] = [];
  for (let start = 0; start < rows.length; start += net.maxRows) {
    const count = Math.min(net.maxRows, rows.length - start);
    const y = net.forward(scaled, start, count); // [count, outputs]
    for (let r = 0; r < count; r++) {
      const values = Array.from(y.subarray(r * outputs, (r + 1) * outputs));
      if (model.task !== 'classification') {
        out.push({ outputs: values });
        continue;
      }
      const k = classIndex(values);
      out.push({ outputs: values, classIndex: k, label: model.classes ? model.classes[k] : String(k) });
    }
  }
  return out;
}
