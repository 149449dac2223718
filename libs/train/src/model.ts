import { Network, jsKernels } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';
import { DataError, applyScaling } from '@redgrad/data';
import type { Dataset } from '@redgrad/data';
import type { Model } from './model-file.js';
import type { PreparedJob } from './prepare.js';
import type { TrainResult } from './loop.js';

/**
 * The model of a finished job. Only deterministic content goes in (no times, no speeds), so the same
 * spec and seed give a byte-identical file.
 */
export function modelOf(
  job: PreparedJob,
  result: Pick<TrainResult, 'params' | 'steps' | 'history'>,
  kernel: string,
): Model {
  const { train } = job;
  return {
    task: train.task,
    arch: job.arch,
    params: result.params,
    classes: train.classes,
    featureNames: train.featureNames,
    scaling: job.scaling,
    kernel,
    // the order of the float additions is part of the bits: say which one produced them
    training: {
      name: job.spec.name,
      spec: job.spec,
      reduction: 'pairwise-tree',
      steps: result.steps,
      history: result.history,
    },
  };
}

/** A network loaded with a model's parameters, ready for predictions on unscaled data. */
export function networkFor(model: Model, maxRows = 256, kernels: Kernels = jsKernels): Network {
  const net = new Network(model.arch, kernels, maxRows);
  net.params.set(model.params);
  return net;
}

/** Applies the model's stored input scaling and checks the data's shape against the model. */
export function dataForModel(model: Model, ds: Dataset, source: string): Dataset {
  const inputs = model.arch.layers[0].inputs;
  const outputs = model.arch.layers[model.arch.layers.length - 1].outputs;
  if (ds.features !== inputs)
    throw new DataError(`${source}: has ${ds.features} feature columns, the model expects ${inputs}`);
  if (ds.outputs !== outputs)
    throw new DataError(`${source}: has ${ds.outputs} target columns (or classes), the model expects ${outputs}`);
  if (model.classes && ds.classes && ds.classes.join('\u0000') !== model.classes.join('\u0000')) {
    throw new DataError(
      `${source}: classes ${JSON.stringify(ds.classes)} differ from the model's ${JSON.stringify(model.classes)}`,
    );
  }
  return model.scaling ? applyScaling(ds, model.scaling) : ds;
}
