import { LOSS_OUTPUTS } from '@redgrad/nn';
import type { Architecture } from '@redgrad/nn';
import { applyScaling, fitScaling, loadData, splitTrainTest } from '@redgrad/data';
import type { Dataset, Scaling } from '@redgrad/data';
import type { JobSpec } from './spec.js';
import { SpecError } from './spec.js';

/** A job ready to train: its data split and scaled, its architecture resolved. */
export interface PreparedJob {
  spec: JobSpec;
  train: Dataset; // scaled
  test?: Dataset; // scaled with the training set's scaling
  scaling: Scaling;
  arch: Architecture;
  batchSize: number; // resolved ("full" → the training set size)
}

/** Loads the data (paths relative to baseDir), splits, fits scaling on the training part only. */
export async function prepareJob(spec: JobSpec, baseDir: string): Promise<PreparedJob> {
  const loaded = await loadData(spec.data, baseDir);
  let train = loaded.train;
  let test = loaded.test;
  if (!test && spec.testSplit > 0) ({ train, test } = splitTrainTest(train, spec.testSplit, spec.seed));
  return prepareFromData(spec, train, test);
}

/** The same, for data already loaded and split (the coordinator gets it from Redis). */
export function prepareFromData(
  spec: JobSpec,
  rawTrain: Dataset,
  rawTest: Dataset | undefined,
  scaling?: Scaling,
): PreparedJob {
  if (rawTest && (rawTest.features !== rawTrain.features || rawTest.outputs !== rawTrain.outputs)) {
    throw new SpecError(
      `spec.data: the test set has ${rawTest.features} features and ${rawTest.outputs} outputs, the training set ${rawTrain.features} and ${rawTrain.outputs}`,
    );
  }
  const fitted = scaling ?? fitScaling(rawTrain, spec.scaling);
  return preparedJob(spec, applyScaling(rawTrain, fitted), rawTest && applyScaling(rawTest, fitted), fitted);
}

/** A job from data that is already split and scaled (what workers and coordinators get from Redis). */
export function preparedJob(spec: JobSpec, train: Dataset, test: Dataset | undefined, scaling: Scaling): PreparedJob {
  if (train.n === 0) throw new SpecError(`spec.data: the training set "${train.name}" is empty`);
  return {
    spec,
    train,
    test: test && test.n > 0 ? test : undefined,
    scaling,
    arch: architecture(spec, train),
    batchSize: spec.batchSize === 'full' ? train.n : Math.min(spec.batchSize, train.n),
  };
}

export function architecture(spec: JobSpec, data: Pick<Dataset, 'task' | 'features' | 'outputs'>): Architecture {
  const classification = data.task === 'classification';
  const loss = spec.loss ?? (classification ? 'cross-entropy' : 'squared-error');
  if (!classification && loss !== 'squared-error')
    throw new SpecError(`spec.loss: ${loss} needs class labels; this data set is a regression set (use squared-error)`);
  const output =
    spec.model.output ??
    (loss === 'squared-error' && !classification ? 'identity' : data.outputs === 1 ? 'sigmoid' : 'softmax');
  if (!LOSS_OUTPUTS[loss].includes(output))
    throw new SpecError(`spec.model.output: ${loss} needs one of ${LOSS_OUTPUTS[loss].join(', ')}, got "${output}"`);
  const sizes = [data.features, ...spec.model.hidden.map((h) => h.size), data.outputs];
  const acts = [...spec.model.hidden.map((h) => h.activation), output];
  return { loss, layers: acts.map((activation, i) => ({ inputs: sizes[i], outputs: sizes[i + 1], activation })) };
}
