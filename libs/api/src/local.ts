import { dirname, resolve } from 'node:path';
import {
  LocalBackend,
  SpecError,
  modelOf,
  prepareJob,
  readJobSpec,
  selectKernels,
  train,
  validateJobSpec,
} from '@redgrad/train';
import type { EpochMetrics, JobSpec, Model, StepProgress, TrainResult } from '@redgrad/train';

/** Reads and validates a job spec file (the same checks and messages as `redgrad train`). */
export async function loadSpec(path: string): Promise<JobSpec> {
  return readJobSpec(path);
}

/**
 * A job spec built in code: validated and completed with the documented defaults. Throws a
 * SpecError naming the field on a wrong value or an unknown key.
 */
export function defineSpec(spec: Record<string, unknown>): JobSpec {
  return validateJobSpec(spec);
}

export interface TrainModelOptions {
  /** Folder that relative data paths in the spec resolve against: the spec file's folder, else the working directory. */
  baseDir?: string;
  /** Warm start from this model's weights (same layers as the spec's). */
  init?: Model;
  /** After every optimizer step. */
  onStep?: (p: StepProgress) => void | Promise<void>;
  /** After every epoch, with its metrics (test figures when the job has a test set). */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
  /** Stops between steps; the promise then resolves with the weights so far and `stopped: true`. */
  signal?: AbortSignal;
}

export interface TrainedModel {
  /** The model file's content: save it with modelToJson, predict with predict(). */
  model: Model;
  /** Steps, per-epoch history, final train and test evaluations, speed. */
  result: TrainResult;
  /** True when the signal ended training early. */
  stopped: boolean;
}

/**
 * Trains a job in this process (no Redis), exactly as `redgrad train --local`: the same spec and
 * seed give the same weights bit for bit, and a cluster run of it gives them too.
 */
export async function trainModel(spec: JobSpec | string, opts: TrainModelOptions = {}): Promise<TrainedModel> {
  const validated = typeof spec === 'string' ? await readJobSpec(spec) : spec;
  const baseDir = opts.baseDir ?? (typeof spec === 'string' ? dirname(resolve(spec)) : process.cwd());
  const job = await prepareJob(validated, baseDir);
  // same parameter count is not enough: other activations or a different loss would silently train another model
  if (opts.init && describeLayers(opts.init) !== describeLayers(job)) {
    throw new SpecError(
      `init: the model's layers ${describeLayers(opts.init)} do not match the job's ${describeLayers(job)}`,
    );
  }
  const kernels = selectKernels(validated.kernel);
  const backend = new LocalBackend(
    job.arch,
    kernels,
    job.train,
    job.train.task === 'classification',
    validated.shardSize,
  );
  try {
    const result = await train(job, {
      backend,
      kernels,
      init: opts.init?.params,
      onStep: opts.onStep,
      onEpoch: opts.onEpoch,
      stopSignal: opts.signal,
    });
    return { model: modelOf(job, result, kernels.name), result, stopped: result.stopped };
  } finally {
    await backend.close();
  }
}

function describeLayers(m: Pick<Model, 'arch'>): string {
  return m.arch.layers.map((l) => `${l.inputs}-${l.outputs} ${l.activation}`).join(', ') + ` (${m.arch.loss})`;
}
