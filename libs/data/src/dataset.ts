import { RedgradError } from '@redgrad/errors';
import { argmax } from '@redgrad/nn';

export type Task = 'classification' | 'regression';

/** An in-memory data set: features and targets as flat row-major float32 buffers. */
export interface Dataset {
  name: string; // e.g. file name or built-in name
  task: Task;
  n: number; // samples
  features: number; // columns of x
  outputs: number; // columns of y: number of classes (classification) or targets (regression)
  x: Float32Array; // [n, features] row-major
  y: Float32Array; // [n, outputs] row-major; one-hot for classification
  classes?: string[]; // classification: class name per one-hot position
  featureNames?: string[];
  targetNames?: string[]; // regression
}

/**
 * Every user-facing data problem: a bad file, a bad data spec, a bad scaling block.
 * The message names the file (or spec field) and the line or byte offset, and says what was wrong.
 * It is not retryable: the same input fails the same way.
 */
export class DataError extends RedgradError {
  override name = 'DataError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'bad-data', message, options);
  }
}

/** The class index of sample i of a one-hot classification set (argmax of its y row). */
export function classOf(ds: Dataset, i: number): number {
  return argmax(ds.y, i * ds.outputs, ds.outputs);
}

/** A new data set holding rows `indices` of `ds`, in that order (copies the rows). */
export function subset(ds: Dataset, indices: Uint32Array): Dataset {
  const { features: f, outputs: o } = ds;
  const x = new Float32Array(indices.length * f); // [m, features]
  const y = new Float32Array(indices.length * o); // [m, outputs]
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (i >= ds.n) throw new RangeError(`subset: index ${i} out of range for ${ds.n} samples`);
    x.set(ds.x.subarray(i * f, (i + 1) * f), r * f);
    y.set(ds.y.subarray(i * o, (i + 1) * o), r * o);
  }
  return { ...ds, n: indices.length, x, y };
}
