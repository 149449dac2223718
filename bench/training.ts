/**
 * Training samples/s on one thread: the real loop, `train()` with `LocalBackend`, on synthetic data,
 * for each model × batch size of bench/cases.ts and each kernel (js, wasm-simd).
 *   node --import tsx bench/training.ts
 * One shard per step (shardSize = batch), so a step is gather → forward → backward → mean → Adam,
 * exactly what `redgrad train --local` runs. The loop is stopped through its AbortSignal once
 * enough windows are timed, so no final evaluation is counted.
 */
import { pathToFileURL } from 'node:url';
import type { Dataset } from '@redgrad/data';
import { Network, Rng, layout, wasmSimdAvailable } from '@redgrad/nn';
import type { Architecture } from '@redgrad/nn';
import { LocalBackend, preparedJob, selectKernels, train, validateJobSpec } from '@redgrad/train';
import type { PreparedJob } from '@redgrad/train';
import { LEARNING_RATE, MODELS, TIMING, summarize, trainKey } from './cases.js';
import type { BenchModel } from './cases.js';

/** Kernel label in figure names → the job spec's kernel choice. */
const KERNELS: Array<[label: string, choice: 'js' | 'wasm-simd']> = [
  ['js', 'js'],
  ['wasm', 'wasm-simd'],
];

/** x uniform in [0, 1), labels uniform one-hot: the speed does not depend on the values. */
export function syntheticDataset(model: BenchModel, seed = 1): Dataset {
  const rng = new Rng(seed);
  const { samples: n, features, classes } = model;
  const x = new Float32Array(n * features); // [n, features]
  const y = new Float32Array(n * classes); // [n, classes] one-hot
  for (let i = 0; i < x.length; i++) x[i] = rng.next();
  for (let r = 0; r < n; r++) y[r * classes + rng.int(classes)] = 1;
  return { name: `synthetic-${model.name}`, task: 'classification', n, features, outputs: classes, x, y };
}

function benchJob(model: BenchModel, data: Dataset, batch: number, kernel: 'js' | 'wasm-simd'): PreparedJob {
  const spec = validateJobSpec({
    name: `bench-${model.name}-b${batch}`,
    // Only validated, never loaded: the synthetic data goes straight to preparedJob below.
    data: { format: 'csv', path: 'synthetic-in-memory.csv', label: 'class' },
    testSplit: 0,
    scaling: 'none',
    model: { hidden: model.hidden, output: 'softmax' },
    loss: 'cross-entropy',
    optimizer: { type: 'adam', lr: LEARNING_RATE },
    batchSize: batch,
    shardSize: batch,
    epochs: 1_000_000, // never reached: the bench aborts once timed
    seed: 1,
    shuffle: true,
    kernel,
  });
  const identity = {
    method: 'none' as const,
    offset: new Array<number>(data.features).fill(0),
    scale: new Array<number>(data.features).fill(1),
  };
  return preparedJob(spec, data, undefined, identity);
}

/** Samples/s of each timing window of one training run. */
async function timeTraining(job: PreparedJob): Promise<number[]> {
  const kernels = selectKernels(job.spec.kernel);
  const backend = new LocalBackend(job.arch, kernels, job.train, true, job.spec.shardSize);
  const stop = new AbortController();
  const timed = new Error('bench: timed enough steps');
  const rates: number[] = [];
  const t0 = performance.now();
  const measureFrom = t0 + TIMING.warmupMs,
    measureUntil = measureFrom + TIMING.caseMs;
  let windowStart = -1,
    windowSamples = 0;
  const onStep = (p: { samples: number }) => {
    const now = performance.now();
    if (windowStart < 0) {
      if (now >= measureFrom) {
        windowStart = now;
        windowSamples = p.samples;
      }
      return;
    }
    if (now - windowStart < TIMING.windowMs) return;
    rates.push(((p.samples - windowSamples) * 1000) / (now - windowStart));
    windowStart = now;
    windowSamples = p.samples;
    if (now >= measureUntil) stop.abort(timed);
  };
  try {
    await train(job, { backend, kernels, onStep, signal: stop.signal });
  } catch (e) {
    if (e !== timed) throw e;
  } finally {
    await backend.close();
  }
  return rates;
}

/**
 * Samples/s of `Network.shardGradient` alone (gather, forward, backward) on random shards, over
 * half a case: set against the loop's figure it shows what the per-step O(params) work costs
 * (params copy, gradient mean, finiteness check, Adam).
 */
function timeGradient(job: PreparedJob): number[] {
  const net = new Network(job.arch, selectKernels(job.spec.kernel), job.batchSize);
  const rng = new Rng(2);
  const shard = new Uint32Array(job.batchSize); // [batch] sample indices
  initialParamsLike(net);
  const rates: number[] = [];
  const warmEnd = performance.now() + TIMING.warmupMs;
  const step = () => {
    for (let i = 0; i < shard.length; i++) shard[i] = rng.int(job.train.n);
    net.shardGradient(job.train, shard, true);
  };
  while (performance.now() < warmEnd) step();
  const end = performance.now() + TIMING.caseMs / 2;
  while (performance.now() < end) {
    const t0 = performance.now();
    let t1 = t0,
      steps = 0;
    while (t1 - t0 < TIMING.windowMs) {
      step();
      steps++;
      t1 = performance.now();
    }
    rates.push((steps * shard.length * 1000) / (t1 - t0));
  }
  return rates;
}

/** Small random weights: ReLU units that are all dead would skip no work but would be unrealistic. */
function initialParamsLike(net: Network): void {
  const rng = new Rng(3);
  for (let i = 0; i < net.params.length; i++) net.params[i] = (rng.next() - 0.5) * 0.1;
}

/** Multiply-adds ×2 per sample of one training step: forward, weight gradients, input deltas (not of layer 1). */
export function flopsPerSample(arch: Architecture): number {
  const { layers } = layout(arch);
  const weights = layers.reduce((a, l) => a + l.inputs * l.outputs, 0);
  return 2 * (2 * weights + weights - layers[0].inputs * layers[0].outputs);
}

/**
 * Keys `train.<kernel>.<model>.b<batch>.samplesPerSec` (best window) and `….median`,
 * `….gflops` (the best window's effective GFLOP/s), `grad.<kernel>.<model>.b<batch>.samplesPerSec`
 * (shardGradient alone), and `ratio.wasm_over_js.<model>.b<batch>`.
 */
export async function benchTraining(): Promise<Record<string, number>> {
  const kernels = KERNELS.filter(([, choice]) => choice !== 'wasm-simd' || wasmSimdAvailable());
  const results: Record<string, number> = {};
  for (const model of MODELS) {
    const data = syntheticDataset(model);
    for (const batch of model.batches) {
      for (const [label, choice] of kernels) {
        const job = benchJob(model, data, batch, choice);
        const { best, median } = summarize(await timeTraining(job));
        results[trainKey(label, model.name, batch)] = best;
        results[`${trainKey(label, model.name, batch)}.median`] = median;
        results[`train.${label}.${model.name}.b${batch}.gflops`] = (best * flopsPerSample(job.arch)) / 1e9;
        results[`grad.${label}.${model.name}.b${batch}.samplesPerSec`] = summarize(timeGradient(job)).best;
      }
      const js = results[trainKey('js', model.name, batch)],
        wasm = results[trainKey('wasm', model.name, batch)];
      if (wasm !== undefined) results[`ratio.wasm_over_js.${model.name}.b${batch}`] = wasm / js;
    }
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [key, value] of Object.entries(await benchTraining()))
    console.log(key.padEnd(56), value.toFixed(key.startsWith('ratio') ? 2 : 0));
}
