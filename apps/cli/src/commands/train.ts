import { writeFile } from 'node:fs/promises';
import { modelToJson, trainLocal } from '@redgrad/train';
import type { EpochMetrics, PreparedJob, StepProgress } from '@redgrad/train';
import { CliError } from '../errors.js';
import { ProgressLine, bar, duration, fmt } from '../progress.js';

export interface TrainFlags {
  local?: boolean;
  out?: string;
  init?: string;
  json?: boolean;
  encoding?: 'base64' | 'arrays';
  /** print an epoch line every this many epochs (default: about 20 lines in all) */
  every?: number;
}

/**
 * What the squared-error loss is next to the MSE: the loss is ½ Σ (y − ŷ)² per sample, summed over
 * the outputs (its gradient is then plain y − ŷ), the MSE the mean of (y − ŷ)² per value.
 */
export function halfMseNote(outputs: number): string {
  return outputs === 1
    ? 'loss = MSE/2: the squared-error loss is ½(y − ŷ)²'
    : `loss = MSE × ${outputs}/2: the squared-error loss is ½ Σ (y − ŷ)² over the ${outputs} outputs`;
}

export async function trainCommand(specPath: string, flags: TrainFlags): Promise<void> {
  if (!flags.local)
    throw new CliError(
      'train runs in this process and needs --local; to train on the cluster use `redgrad submit JOB.json --watch`',
    );
  const progress = new ProgressLine();
  const log = (line: string) => {
    if (flags.json) return;
    progress.clear();
    process.stdout.write(line + '\n');
  };
  let every = 1;
  let epochs = 0;
  const onStart = (job: PreparedJob, kernel: string) => {
    epochs = job.spec.epochs;
    every = flags.every ?? Math.max(1, Math.ceil(epochs / 20)); // about 20 epoch lines, whatever the length
    const layers = job.arch.layers.map((l) => `${l.outputs} ${l.activation}`).join(' → ');
    log(
      `${job.spec.name}: ${job.train.n} training samples, ${job.test?.n ?? 0} test; ${job.train.features} → ${layers}; ${job.arch.loss}; batch ${job.batchSize}, shard ${job.spec.shardSize}, kernel ${kernel}`,
    );
  };
  const onStep = (p: StepProgress) => {
    const eta = p.step > 0 ? ((p.steps - p.step) * p.elapsedMs) / p.step : NaN;
    progress.update(
      `epoch ${p.epoch}/${p.epochs} ${bar(p.step / p.steps)} step ${p.step}/${p.steps} loss ${fmt(p.loss)}${p.accuracy !== undefined ? ` acc ${fmt(p.accuracy, 3)}` : ''} ${Math.round(p.samplesPerSecond)} samples/s ETA ${duration(eta)}`,
    );
  };
  // the last epoch is followed by a pass over the whole training set, long on a large one
  const evaluating = () => {
    if (flags.json) return;
    if (progress.enabled) progress.update('evaluating the final weights…', true);
    else process.stderr.write('evaluating the final weights…\n');
  };
  const onEpoch = (h: EpochMetrics) => {
    if (h.epoch % every === 0 || h.epoch === 1 || h.epoch === epochs)
      log(
        `epoch ${String(h.epoch).padStart(4)}  train loss ${fmt(h.trainLoss)}${h.trainAccuracy !== undefined ? ` acc ${fmt(h.trainAccuracy, 3)}` : ''}${h.testLoss !== undefined ? `  test loss ${fmt(h.testLoss)}` : ''}${h.testAccuracy !== undefined ? ` acc ${fmt(h.testAccuracy, 3)}` : ''}${h.testR2 !== undefined ? ` R² ${fmt(h.testR2, 3)}` : ''}`,
      );
    if (h.epoch === epochs) evaluating();
  };
  const run = await trainLocal(specPath, { init: flags.init, onStart, onStep, onEpoch });
  progress.clear();
  const { result, job, model } = run;
  const classification = job.train.task === 'classification';
  if (flags.out) await writeFile(flags.out, modelToJson(model, flags.encoding ?? 'base64'));
  const summary = {
    name: job.spec.name,
    trainLoss: result.train.loss,
    ...(classification ? { trainAccuracy: result.trainEval.accuracy } : { trainR2: result.trainEval.r2 }),
    ...(result.test ? { testLoss: result.test.loss } : {}),
    ...(result.test && classification ? { testAccuracy: result.test.accuracy, confusion: result.test.confusion } : {}),
    ...(result.test && !classification ? { testMse: result.test.mse, testR2: result.test.r2 } : {}),
    epochs: result.epochs,
    steps: result.steps,
    samples: result.samples,
    samplesPerSecond: Math.round(result.samplesPerSecond),
    elapsedMs: Math.round(result.elapsedMs),
    kernel: model.kernel,
    batchSize: job.batchSize,
    shardSize: job.spec.shardSize,
    ...(flags.out ? { model: flags.out } : {}),
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  if (result.test && classification)
    log(`test: loss ${fmt(result.test.loss)}, accuracy ${fmt(result.test.accuracy)} on ${result.test.n} samples`);
  if (result.test && !classification) {
    const outputs = job.arch.layers[job.arch.layers.length - 1].outputs;
    log(
      `test: loss ${fmt(result.test.loss)}, MSE ${fmt(result.test.mse, 6)}, R² ${fmt(result.test.r2)} on ${result.test.n} samples (${halfMseNote(outputs)})`,
    );
  }
  log(
    `done: ${result.steps} steps in ${duration(result.elapsedMs)}, ${Math.round(result.samplesPerSecond)} samples/s; ${flags.out ? `model written to ${flags.out}` : 'no model written (add --out model.json to keep it)'}`,
  );
}
