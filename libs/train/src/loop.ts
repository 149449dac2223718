import { Network, Rng, createOptimizer, deriveSeed, initParams, layout, learningRate } from '@redgrad/nn';
import type { Kernels, OptimizerState } from '@redgrad/nn';
import type { GradientBackend, ShardGradient } from './backend.js';
import type { Block } from './tree-reducer.js';
import type { Evaluation } from './evaluate.js';
import { evaluate } from './evaluate.js';
import type { PreparedJob } from './prepare.js';
import { TrainingError } from './training-error.js';
import { TreeReducer } from './tree-reducer.js';

/** Per-epoch record kept in checkpoints, the model file and the job's history. */
export interface EpochMetrics {
  epoch: number; // 1-based
  step: number; // global steps completed
  trainLoss: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  testR2?: number;
}

/** Everything needed to resume exactly: the epoch order is derived from (seed, epoch), so the position suffices. */
export interface Checkpoint {
  step: number; // global steps completed
  epoch: number; // 0-based epoch in progress
  stepInEpoch: number; // steps of that epoch completed
  params: Float32Array;
  optimizer: OptimizerState;
  epochLossSum: number;
  epochCorrect: number;
  epochCount: number;
  history: EpochMetrics[];
}

export interface StepProgress {
  epoch: number; // 1-based
  epochs: number;
  step: number; // completed, global
  steps: number;
  loss: number; // this batch, mean per sample
  accuracy?: number;
  lr: number;
  samples: number; // processed since start (or resume)
  elapsedMs: number;
  samplesPerSecond: number;
}

export interface TrainOptions {
  backend: GradientBackend;
  kernels: Kernels;
  /** Warm start: initial parameters instead of the seeded initialisation. */
  init?: Float32Array;
  resume?: Checkpoint;
  onStep?: (p: StepProgress) => void | Promise<void>;
  /** After each epoch's evaluation, with that epoch's record. */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
  /** Called every spec.checkpointEvery steps (when > 0) and at each epoch end. */
  onCheckpoint?: (c: Checkpoint) => void | Promise<void>;
  /** Stops between steps with an AbortError. */
  signal?: AbortSignal;
  /** Stops between steps and returns the weights so far, with `stopped: true`, instead of throwing. */
  stopSignal?: AbortSignal;
}

export interface TrainResult {
  params: Float32Array;
  steps: number;
  epochs: number;
  history: EpochMetrics[];
  /** Mean loss and accuracy of the last epoch, as seen during training. */
  train: { loss: number; accuracy?: number };
  /** The final weights evaluated on the whole training set. */
  trainEval: Evaluation;
  test?: Evaluation;
  samples: number;
  elapsedMs: number;
  samplesPerSecond: number;
  /** The stopSignal ended training before its last step; a stop mid-epoch has no history record for that epoch. */
  stopped: boolean;
}

/** Streams derived from the job seed; fixed constants so every process derives the same ones. */
const INIT_STREAM = 0x1417;
const EPOCH_STREAM = 0xe90c;

/** The training order of one epoch: the identity, or a Fisher–Yates shuffle seeded by (seed, epoch). */
export function epochOrder(order: Uint32Array, seed: number, epoch: number, shuffle: boolean): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (shuffle) new Rng(deriveSeed(seed, EPOCH_STREAM, epoch)).shuffle(order);
}

/** The seeded initial parameters of a job. */
export function initialParams(job: PreparedJob, out: Float32Array): void {
  initParams(out, layout(job.arch).layers, job.spec.model.init, new Rng(deriveSeed(job.spec.seed, INIT_STREAM)));
}

/**
 * The one training loop: data → shards → gradients → pairwise-tree sum over shards → mean → update →
 * metrics → checkpoint. Where shard gradients come from is the backend's business.
 */
export async function train(job: PreparedJob, opts: TrainOptions): Promise<TrainResult> {
  const { spec, train: data, test, batchSize } = job;
  const { backend, kernels } = opts;
  const { layers, paramCount } = layout(job.arch);
  const classification = data.task === 'classification';

  const params = kernels.alloc(paramCount); // [paramCount]
  const sum = new TreeReducer(kernels, paramCount); // the step's gradient sum, then its mean, in place
  const optimizer = createOptimizer(spec.optimizer, paramCount, layers, kernels);
  const evalNet = new Network(job.arch, kernels, 256);
  evalNet.useParams(params); // evaluates the training weights in place, no copy

  const stepsPerEpoch = Math.ceil(data.n / batchSize);
  const totalSteps = stepsPerEpoch * spec.epochs;
  const order = new Uint32Array(data.n); // [n] this epoch's sample order
  // shard views into `order`, fixed for the whole run: stepShards[s][k] is shard k of step s
  const stepShards: Uint32Array[][] = Array.from({ length: stepsPerEpoch }, (_, s) => {
    const start = s * batchSize,
      end = Math.min(start + batchSize, data.n);
    const shards: Uint32Array[] = [];
    for (let a = start; a < end; a += spec.shardSize) shards.push(order.subarray(a, Math.min(a + spec.shardSize, end)));
    return shards;
  });

  let step = 0,
    startEpoch = 0,
    startInEpoch = 0;
  let lastTestEval: Evaluation | undefined; // the latest epoch-end test evaluation
  let epochLossSum = 0,
    epochCorrect = 0,
    epochCount = 0;
  const history: EpochMetrics[] = [];
  if (opts.resume) {
    const r = opts.resume;
    if (r.params.length !== paramCount)
      throw new TrainingError(`checkpoint has ${r.params.length} parameters, the model needs ${paramCount}`);
    params.set(r.params);
    optimizer.restore(r.optimizer);
    ({ step, epoch: startEpoch, stepInEpoch: startInEpoch, epochLossSum, epochCorrect, epochCount } = r);
    history.push(...r.history);
  } else if (opts.init) {
    if (opts.init.length !== paramCount)
      throw new TrainingError(
        `the initial model has ${opts.init.length} parameters, this job's model needs ${paramCount}`,
      );
    params.set(opts.init);
  } else {
    initialParams(job, params);
  }

  const checkpoint = (epoch: number, stepInEpoch: number): Checkpoint => ({
    step,
    epoch,
    stepInEpoch,
    params: Float32Array.from(params),
    optimizer: optimizer.state(),
    epochLossSum,
    epochCorrect,
    epochCount,
    history: history.slice(),
  });

  const started = performance.now();
  let samples = 0;
  const accept = (block: Block, r: ShardGradient): void => sum.add(block, r);

  let stopped = false;
  training: for (let epoch = startEpoch; epoch < spec.epochs; epoch++) {
    epochOrder(order, spec.seed, epoch, spec.shuffle);
    for (let s = epoch === startEpoch ? startInEpoch : 0; s < stepsPerEpoch; s++) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new DOMException('training cancelled', 'AbortError');
      if (opts.stopSignal?.aborted) {
        stopped = true;
        break training;
      }
      const shards = stepShards[s];
      sum.reset(shards.length);
      await backend.computeStep({ step, epoch, params, shards }, accept);
      const n = shards.reduce((a, sh) => a + sh.length, 0);
      if (!sum.done) throw new TrainingError(`step ${step + 1}: the backend returned before every shard was summed`);
      const { grad: mean, lossSum: stepLoss, count: stepCount, correct: stepCorrect } = sum.result();
      if (stepCount !== n)
        throw new TrainingError(`step ${step + 1}: the backend returned ${stepCount} samples, expected ${n}`);
      if (!Number.isFinite(stepLoss) || !kernels.divideCheck(mean, n)) {
        throw new TrainingError(
          `step ${step + 1} (epoch ${epoch + 1}): the gradient or loss is not finite (loss sum ${stepLoss}); lower the learning rate (optimizer.lr = ${spec.optimizer.lr}) or check the data scaling`,
          'diverged',
        );
      }
      const lr = learningRate(spec.optimizer.lr, spec.schedule, step, totalSteps);
      optimizer.step(params, mean, lr);
      step++;
      samples += n;
      epochLossSum += stepLoss;
      epochCorrect += stepCorrect;
      epochCount += n;

      const elapsedMs = performance.now() - started;
      await opts.onStep?.({
        epoch: epoch + 1,
        epochs: spec.epochs,
        step,
        steps: totalSteps,
        loss: stepLoss / n,
        accuracy: classification ? stepCorrect / n : undefined,
        lr,
        samples,
        elapsedMs,
        samplesPerSecond: elapsedMs > 0 ? (samples * 1000) / elapsedMs : 0,
      });
      const epochEnd = s === stepsPerEpoch - 1;
      if (epochEnd) {
        const ev = test ? evaluate(evalNet, test) : undefined;
        lastTestEval = ev;
        history.push({
          epoch: epoch + 1,
          step,
          trainLoss: epochLossSum / epochCount,
          ...(classification ? { trainAccuracy: epochCorrect / epochCount } : {}),
          ...(ev ? { testLoss: ev.loss, ...(classification ? { testAccuracy: ev.accuracy } : { testR2: ev.r2 }) } : {}),
        });
        epochLossSum = 0;
        epochCorrect = 0;
        epochCount = 0;
        await opts.onEpoch?.(history[history.length - 1]);
      }
      if (opts.onCheckpoint && (epochEnd || (spec.checkpointEvery > 0 && step % spec.checkpointEvery === 0))) {
        await opts.onCheckpoint(epochEnd ? checkpoint(epoch + 1, 0) : checkpoint(epoch, s + 1));
      }
    }
  }

  const last = history[history.length - 1];
  // only a stop mid-epoch leaves steps of an unfinished epoch; they are the freshest training figures
  const unfinishedEpoch =
    epochCount > 0
      ? { loss: epochLossSum / epochCount, accuracy: classification ? epochCorrect / epochCount : undefined }
      : undefined;
  const elapsedMs = performance.now() - started;
  return {
    params: Float32Array.from(params),
    steps: step,
    epochs: spec.epochs,
    history,
    train: unfinishedEpoch ?? { loss: last?.trainLoss ?? Number.NaN, accuracy: last?.trainAccuracy },
    trainEval: evaluate(evalNet, data),
    // the last step ends an epoch, whose test evaluation is of these final weights (unless a resume
    // started after it, or a stop came before it)
    test: test ? ((stopped ? undefined : lastTestEval) ?? evaluate(evalNet, test)) : undefined,
    samples,
    elapsedMs,
    samplesPerSecond: elapsedMs > 0 ? (samples * 1000) / elapsedMs : 0,
    stopped,
  };
}
