import { describeValue } from '@redgrad/errors';
import type { Dataset } from './dataset.js';
import { DataError } from './dataset.js';

export type ScalingMethod = 'none' | 'standard' | 'minmax';
export const SCALING_METHODS: readonly ScalingMethod[] = ['none', 'standard', 'minmax'];

/**
 * Per-feature affine map x' = (x − offset) · scale, fitted on the training set only and stored with
 * the job and the model, so predictions see inputs scaled exactly as in training.
 */
export interface Scaling {
  method: ScalingMethod;
  offset: number[]; // [features]
  scale: number[]; // [features]
}

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
    throw new DataError(
      `${name}: scaling has ${scaling.offset.length} offsets and ${scaling.scale.length} scales for ${f} features`,
    );
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

/** Checks a scaling read back from JSON (a job record, a model file); `where` names it in messages. */
export function validateScaling(v: unknown, features: number, where: string): Scaling {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new DataError(`${where}: expected an object with method, offset, scale, got ${describeValue(v)}`);
  }
  const rec = v as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    if (key !== 'method' && key !== 'offset' && key !== 'scale')
      throw new DataError(`${where}: unknown key "${key}" (allowed: method, offset, scale)`);
  }
  const method = rec.method;
  if (typeof method !== 'string' || !SCALING_METHODS.includes(method as ScalingMethod)) {
    throw new DataError(`${where}.method: expected one of ${SCALING_METHODS.join(', ')}, got ${describeValue(method)}`);
  }
  const numbers = (field: 'offset' | 'scale'): number[] => {
    const a = rec[field];
    if (!Array.isArray(a))
      throw new DataError(`${where}.${field}: expected an array of ${features} numbers, got ${describeValue(a)}`);
    if (a.length !== features) throw new DataError(`${where}.${field}: expected ${features} numbers, got ${a.length}`);
    a.forEach((e, j) => {
      if (typeof e !== 'number' || !Number.isFinite(e))
        throw new DataError(`${where}.${field}[${j}]: expected a finite number, got ${describeValue(e)}`);
      if (field === 'scale' && e === 0) throw new DataError(`${where}.scale[${j}]: must not be 0`);
    });
    return [...(a as number[])];
  };
  return { method: method as ScalingMethod, offset: numbers('offset'), scale: numbers('scale') };
}
