import { dirname, resolve } from 'node:path';
import { readInputText } from '@redgrad/errors';
import { LocalBackend } from './local-backend.js';
import { train } from './loop.js';
import type { EpochMetrics, StepProgress, TrainResult } from './loop.js';
import { modelOf } from './model.js';
import type { Model } from './model-file.js';
import { prepareJob } from './prepare.js';
import type { PreparedJob } from './prepare.js';
import { SpecError, validateJobSpec } from './spec.js';
import { selectKernels } from './kernels.js';
import { readInitWeights } from './interop/init-weights.js';
import type { InitWeights } from './interop/init-weights.js';

export interface LocalRun {
  job: PreparedJob;
  result: TrainResult;
  model: Model;
}

/** Reads and validates a job spec file; errors name the file. */
export async function readJobSpec(path: string) {
  const text = await readInputText(path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return validateJobSpec(raw);
  } catch (e) {
    if (e instanceof SpecError) throw new SpecError(`${path}: ${e.message}`);
    throw e;
  }
}

/** `redgrad train --local`: the whole job in this process. */
export async function trainLocal(
  specPath: string,
  opts: {
    init?: string;
    onStart?: (job: PreparedJob, kernel: string) => void;
    onStep?: (p: StepProgress) => void;
    onEpoch?: (m: EpochMetrics) => void;
  } = {},
): Promise<LocalRun> {
  const spec = await readJobSpec(specPath);
  const job = await prepareJob(spec, dirname(resolve(specPath)));
  const kernels = selectKernels(spec.kernel);
  let init: Float32Array | undefined;
  if (opts.init) {
    const start = await readInitWeights(opts.init);
    const wanted = describeInit({ layers: job.arch.layers, loss: start.loss ? job.arch.loss : undefined });
    if (describeInit(start) !== wanted)
      throw new SpecError(`${opts.init}: its layers ${describeInit(start)} do not match the job's ${wanted}`);
    init = start.params;
  }
  const backend = new LocalBackend(job.arch, kernels, job.train, job.train.task === 'classification', spec.shardSize);
  opts.onStart?.(job, kernels.name);
  try {
    const result = await train(job, { backend, kernels, init, onStep: opts.onStep, onEpoch: opts.onEpoch });
    return { job, result, model: modelOf(job, result, kernels.name) };
  } finally {
    await backend.close();
  }
}

/** Layers and, when the init file states it (a tfjs model does not), the loss. */
function describeInit(m: Pick<InitWeights, 'layers' | 'loss'>): string {
  return m.layers.map((l) => `${l.inputs}-${l.outputs} ${l.activation}`).join(', ') + (m.loss ? ` (${m.loss})` : '');
}
