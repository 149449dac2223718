import type { Dataset } from '@redgrad/data';
import type { DatasetLike } from '@redgrad/protocol';

/** A data set as it came from Redis, with the names the job record keeps. */
export function datasetFromWire(ds: DatasetLike, featureNames?: string[]): Dataset {
  return {
    name: ds.name,
    task: ds.task,
    n: ds.n,
    features: ds.features,
    outputs: ds.outputs,
    x: ds.x,
    y: ds.y,
    classes: ds.classes,
    featureNames,
  };
}
