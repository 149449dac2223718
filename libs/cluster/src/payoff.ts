/**
 * Does the cluster pay for a job? A step on W workers costs its compute divided among them plus a
 * transfer that does not shrink with the batch (the weights go out and every worker's result comes
 * back, whatever the batch size); `--local` pays the whole compute and no transfer. So below some
 * batch size a step is too small to be worth sending: this estimates where, from the model's size,
 * without running anything. Pure arithmetic; the constants are measured and say where from.
 */

/** Dense layers as the model has them (an Architecture's layers fit). */
export interface PayoffLayer {
  inputs: number;
  outputs: number;
}

/** What the estimate is made of; the defaults are DEFAULT_PAYOFF_CONSTANTS. */
export interface PayoffConstants {
  /**
   * GFLOP/s of a training step's matrix products, per kernel name: `gflops.<kernel>.step` of
   * `node --import tsx bench/kernels.ts` (all of one step's products over the time they take).
   */
  gflops: Record<string, number>;
  /** Bytes per millisecond Redis moves for step-sized payloads (SET/GET/XADD/XREAD of ~1 MB). */
  redisBytesPerMs: number;
  /** Per-step cost across Redis that does not depend on the bytes: round trips, task hand-out, bookkeeping. */
  fixedStepMs: number;
}

/**
 * Measured on the 2-core development machine (AMD EPYC, shared with other work), 2026-12-03, with
 * `node --import tsx bench/kernels.ts` and `node --import tsx bench/distributed.ts wasm-simd 512 1024`
 * (redis-server 7.0 with AOF on, as docker-compose.yml runs it):
 * - gflops: `gflops.wasm.step` 41.6 and `gflops.js.step` 5.1;
 * - redisBytesPerMs: `….workers1.floor.bytesPerMs` 2.0e6 and `….workers2.floor.bytesPerMs` 2.3e6;
 * - fixedStepMs: the overhead per step beyond its bytes of the step path as it is at that commit,
 *   from the run on the quietest machine: overhead 23.4 ms (1 worker) and 26.3 ms (2 workers), less
 *   their 3.8 MB and 6.6 MB at 2.0e6 bytes/ms, is 21.5 and 23.0 ms. The same run measured 2 workers
 *   at 0.66× local at batch 1024; these constants estimate 0.66×.
 * Re-measure them when the step path changes: bench/distributed.ts prints all three (`…fixedMs`
 * is the overhead beyond the bytes).
 */
export const DEFAULT_PAYOFF_CONSTANTS: PayoffConstants = {
  gflops: { 'wasm-simd': 41.6, js: 5.1 },
  redisBytesPerMs: 2.0e6,
  fixedStepMs: 22,
};

export interface PayoffInput {
  layers: readonly PayoffLayer[];
  /** Samples per step (the resolved batch size). */
  batchSize: number;
  /** Worker processes computing the step. */
  workers: number;
  /** The job's resolved kernel: 'wasm-simd' or 'js'. */
  kernel: string;
  /** bf16 results are half the bytes of f32 ones; the weights always go out as f32. */
  gradientEncoding?: 'f32' | 'bf16';
  /** The coordinator computes a block of each step too (REDGRAD_COORDINATOR_COMPUTE, on by default). */
  coordinatorComputes?: boolean;
}

export interface PayoffEstimate {
  batchSize: number;
  workers: number;
  /** Processes sharing a step's compute: the workers, plus the coordinator when it computes. */
  computers: number;
  /** A step's gradient compute in one process, ms: what `--local` pays per step. */
  computeMs: number;
  /** Bytes through Redis per step: weights written once and read by each worker, one result per worker written and read. */
  bytesPerStep: number;
  /** What a step pays across Redis on top of its share of compute, ms. */
  transferMs: number;
  /** computeMs / computers + transferMs. */
  clusterStepMs: number;
  /** The cluster's step is shorter than `--local`'s. */
  pays: boolean;
  /** Smallest batch size from which it is (null: never, e.g. one worker and nothing else computing). */
  minBatchSize: number | null;
}

/**
 * Flops of one sample's training step: the forward product (2 per weight), the weight gradient (2
 * per weight) and the input deltas (2 per weight, except for the first layer, whose input deltas
 * nobody needs). That is the usual 6 × weights less the first layer's 2 × weights; biases,
 * activations and the loss are O(units) and left out.
 */
export function flopsPerSample(layers: readonly PayoffLayer[]): number {
  const weights = layers.reduce((a, l) => a + l.inputs * l.outputs, 0);
  return 6 * weights - (layers.length ? 2 * layers[0].inputs * layers[0].outputs : 0);
}

/** Weights and biases, as the model's flat parameter block holds them. */
export function paramCount(layers: readonly PayoffLayer[]): number {
  return layers.reduce((a, l) => a + l.inputs * l.outputs + l.outputs, 0);
}

/**
 * Bytes through Redis per step with W workers each returning one result: the weights SET once and
 * GET by each worker, each result XADDed once and XREAD once. Payload headers (tens of bytes) are
 * left out.
 */
export function bytesPerStep(params: number, workers: number, gradientEncoding: 'f32' | 'bf16' = 'f32'): number {
  const weightBytes = 4 * params;
  const resultBytes = (gradientEncoding === 'bf16' ? 2 : 4) * params;
  return weightBytes * (1 + workers) + 2 * resultBytes * workers;
}

export function estimatePayoff(
  input: PayoffInput,
  constants: PayoffConstants = DEFAULT_PAYOFF_CONSTANTS,
): PayoffEstimate {
  const { layers, batchSize, workers, kernel } = input;
  if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`workers must be an integer ≥ 1, got ${workers}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new Error(`batchSize must be an integer ≥ 1, got ${batchSize}`);
  const gflops = constants.gflops[kernel];
  if (!(gflops > 0))
    throw new Error(
      `no compute rate for kernel ${JSON.stringify(kernel)} (known: ${Object.keys(constants.gflops).join(', ')})`,
    );
  const computers = workers + (input.coordinatorComputes ? 1 : 0);
  const msPerSample = flopsPerSample(layers) / (gflops * 1e6); // GFLOP/s = 1e6 flops per ms
  const computeMs = batchSize * msPerSample;
  const bytes = bytesPerStep(paramCount(layers), workers, input.gradientEncoding);
  const transferMs = bytes / constants.redisBytesPerMs + constants.fixedStepMs;
  const clusterStepMs = computeMs / computers + transferMs;
  // The cluster wins when the compute it saves, computeMs · (1 − 1/computers), exceeds the
  // transfer; the transfer does not depend on the batch, so that gives a smallest batch.
  const savedPerSample = msPerSample * (1 - 1 / computers);
  const minBatchSize = savedPerSample > 0 ? Math.floor(transferMs / savedPerSample) + 1 : null;
  return {
    batchSize,
    workers,
    computers,
    computeMs,
    bytesPerStep: bytes,
    transferMs,
    clusterStepMs,
    pays: clusterStepMs < computeMs,
    minBatchSize,
  };
}

/** Two significant digits, rounded up: a batch size to suggest, not a false precision. */
function roundUp2(n: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / unit) * unit;
}

const ms = (v: number) => (v < 10 ? v.toFixed(1) : String(Math.round(v)));

/** The line to show a user when the cluster does not pay for this spec; null when it does. */
export function payoffNote(e: PayoffEstimate): string | null {
  if (e.pays) return null;
  const who = `this cluster (${e.workers} worker${e.workers === 1 ? '' : 's'}${e.computers > e.workers ? ' and the coordinator' : ''})`;
  if (e.minBatchSize === null) {
    return `note: ${who} cannot beat --local at any batch size: one process computes each whole step, as --local does, and pays ≈${ms(e.transferMs)} ms of transfer per step on top; run 2 or more workers`;
  }
  return `note: steps of ${e.batchSize} samples are too small for ${who} to beat --local (≈${ms(e.computeMs)} ms of compute vs ≈${ms(e.transferMs)} ms of transfer per step); from batchSize ≈ ${roundUp2(e.minBatchSize)} it would`;
}
