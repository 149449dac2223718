import type { Dataset } from './dataset.js';
import { DataError } from './dataset.js';
import { readScaling } from '@redgrad/nn';
import type { ModelScaling, ScalingMethod } from '@redgrad/nn';

export { SCALING_METHODS, type ScalingMethod } from '@redgrad/nn';
export type Scaling = ModelScaling;

/**
 * Fits a scaling on ds.x in float64. standard: mean and 1/std (population std); minmax: min and 1/(max − min).
 * A constant column keeps scale 1 so it maps to 0 instead of dividing by zero.
 */
export function fitScaling(ds: Dataset, method: ScalingMethod): Scaling {
  const { n, features: f, x } = ds;
  const offset = new Array<number>(f).fill(0);
  const scale = new Array<number>(f).fill(1);
  if (method === 'none' || n === 0) return { method, offset, scale };
  for (let j = 0; j < f; j++) {
    if (method === 'standard') {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += x[i * f + j];
      const mean = sum / n;
      let sq = 0;
      for (let i = 0; i < n; i++) sq += (x[i * f + j] - mean) ** 2;
      const std = Math.sqrt(sq / n);
      offset[j] = mean;
      scale[j] = std > 0 ? 1 / std : 1;
    } else {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = x[i * f + j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      offset[j] = lo;
      scale[j] = hi > lo ? 1 / (hi - lo) : 1;
    }
  }
  return { method, offset, scale };
}

/**
 * Features x [n, features] scaled: a new array, or x itself for method "none" ((x − 0)·1 is x). The
 * inputs are never written, so sharing is safe; `name` goes into the error.
 */
export function scaleFeatures(x: Float32Array, n: number, f: number, scaling: Scaling, name: string): Float32Array {
  if (scaling.offset.length !== f || scaling.scale.length !== f) {
    throw new DataError(`${name}: scaling has ${scaling.offset.length} offsets and ${scaling.scale.length} scales for ${f} features`);
  }
  if (scaling.method === 'none') return x;
  const out = new Float32Array(n * f); // [n, features]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) out[i * f + j] = (x[i * f + j] - scaling.offset[j]) * scaling.scale[j];
  }
  return out;
}

/** A new Dataset with x scaled (see scaleFeatures) and its own copy of y; ds is not touched. */
export function applyScaling(ds: Dataset, scaling: Scaling): Dataset {
  return { ...ds, x: scaleFeatures(ds.x, ds.n, ds.features, scaling, ds.name), y: ds.y.slice() };
}

/** Checks a scaling read back from JSON (nn's readScaling, throwing DataError). */
export function validateScaling(obj: unknown, features: number, where: string): Scaling {
  return readScaling(obj, features, where, DataError);
}
