import type { Activation } from './activations.js';
import { activate, activateBackward } from './activations.js';
import type { Loss } from './losses.js';
import { isCorrect, lossAndDelta } from './losses.js';
import type { Kernels } from './kernels/types.js';

export interface LayerSpec {
  inputs: number;
  outputs: number;
  activation: Activation;
}

export interface Architecture {
  layers: LayerSpec[];
  loss: Loss;
}

/** Where each layer's W [out, in] and b [out] sit inside the one flat parameter block. */
export interface LayerLayout extends LayerSpec {
  wOffset: number;
  bOffset: number;
}

export function layout(arch: Architecture): { layers: LayerLayout[]; paramCount: number } {
  let offset = 0;
  const layers = arch.layers.map((l, i) => {
    if (i > 0 && l.inputs !== arch.layers[i - 1].outputs) {
      throw new Error(
        `layer ${i}: inputs ${l.inputs} do not match the previous layer's outputs ${arch.layers[i - 1].outputs}`,
      );
    }
    const wOffset = offset;
    const bOffset = wOffset + l.inputs * l.outputs;
    offset = bOffset + l.outputs;
    return { ...l, wOffset, bOffset };
  });
  return { layers, paramCount: offset };
}

/** What a shard's backprop returns beside its gradient sum. */
export interface ShardStats {
  lossSum: number;
  count: number;
  correct: number;
}

/** Samples as flat row-major arrays (a data set, or a subset of one). */
export interface Samples {
  x: Float32Array; // [n, features]
  y: Float32Array; // [n, outputs]
  features: number;
  outputs: number;
}

interface LayerBuffers {
  W: Float32Array; // [out, in]   view of params
  b: Float32Array; // [out]       view of params
  dW: Float32Array; // [out, in]  view of grad
  db: Float32Array; // [out]      view of grad
  u: Float32Array; // [maxRows, out] pre-activations
  z: Float32Array; // [maxRows, out] activations
  d: Float32Array; // [maxRows, out] deltas ∂E/∂u
}

/**
 * A multilayer perceptron whose parameters live in one Float32Array (each layer's W and b are views
 * into it) and whose gradient buffer mirrors that layout. Every activation, delta and scratch buffer
 * is allocated here for `maxRows` samples; forward and backward allocate nothing.
 */
export class Network {
  readonly arch: Architecture;
  readonly kernels: Kernels;
  readonly maxRows: number;
  readonly paramCount: number;
  readonly layout: LayerLayout[];
  /** All parameters: per layer W [out, in] then b [out]. Rebound by useParams. */
  params: Float32Array;
  /** ∂E/∂params summed over the last shard, same layout as params. */
  readonly grad: Float32Array;
  private readonly x: Float32Array; // [maxRows, inputs]  gathered inputs
  private readonly t: Float32Array; // [maxRows, outputs] gathered targets
  private readonly buffers: LayerBuffers[];

  constructor(arch: Architecture, kernels: Kernels, maxRows: number) {
    if (!Number.isInteger(maxRows) || maxRows < 1)
      throw new Error(`maxRows must be a positive integer, got ${maxRows}`);
    if (arch.layers.length === 0) throw new Error('a network needs at least one layer');
    this.arch = arch;
    this.kernels = kernels;
    this.maxRows = maxRows;
    const { layers, paramCount } = layout(arch);
    this.layout = layers;
    this.paramCount = paramCount;
    this.params = kernels.alloc(paramCount);
    this.grad = kernels.alloc(paramCount);
    this.x = kernels.alloc(maxRows * layers[0].inputs);
    this.t = kernels.alloc(maxRows * layers[layers.length - 1].outputs);
    this.buffers = layers.map((l) => ({
      W: this.params.subarray(l.wOffset, l.bOffset),
      b: this.params.subarray(l.bOffset, l.bOffset + l.outputs),
      dW: this.grad.subarray(l.wOffset, l.bOffset),
      db: this.grad.subarray(l.bOffset, l.bOffset + l.outputs),
      u: kernels.alloc(maxRows * l.outputs),
      z: kernels.alloc(maxRows * l.outputs),
      d: kernels.alloc(maxRows * l.outputs),
    }));
  }

  /**
   * Makes `params` (same layout, ideally from the same kernels' alloc) this network's parameters
   * without copying, so a caller that owns the weights need not copy them in every step. Creating
   * the views allocates, so rebinding the same buffer again is a no-op.
   */
  useParams(params: Float32Array): void {
    if (params === this.params) return;
    if (params.length !== this.paramCount)
      throw new Error(`useParams: ${params.length} values, the network has ${this.paramCount} parameters`);
    this.params = params;
    this.layout.forEach((l, i) => {
      this.buffers[i].W = params.subarray(l.wOffset, l.bOffset);
      this.buffers[i].b = params.subarray(l.bOffset, l.bOffset + l.outputs);
    });
  }

  get inputs(): number {
    return this.layout[0].inputs;
  }

  get outputs(): number {
    return this.layout[this.layout.length - 1].outputs;
  }

  /**
   * Backprop over the samples `indices` (at most maxRows) of `data`: writes the gradient SUM over
   * those samples into `this.grad` and returns the loss sum, count and correct count.
   */
  shardGradient(data: Samples, indices: ArrayLike<number>, classification: boolean): ShardStats {
    const n = indices.length;
    this.gather(data, indices);
    this.forwardGathered(n);
    const L = this.layout.length;
    const last = this.buffers[L - 1];
    const outW = this.layout[L - 1].outputs;
    const lossSum = lossAndDelta(
      this.arch.loss,
      this.layout[L - 1].activation,
      last.u,
      last.z,
      this.t,
      last.d,
      n,
      outW,
      this.kernels,
    );
    let correct = 0;
    if (classification) for (let r = 0; r < n; r++) if (isCorrect(last.z, this.t, r * outW, outW)) correct++;

    for (let l = L - 1; l >= 0; l--) {
      const spec = this.layout[l];
      const buf = this.buffers[l];
      const zPrev = l > 0 ? this.buffers[l - 1].z : this.x;
      // ∂E/∂W_ji = Σ_samples δ_j · z_i
      this.kernels.matmulAtB(buf.d, zPrev, buf.dW, spec.outputs, spec.inputs, n);
      // ∂E/∂b_j = Σ_samples δ_j
      this.kernels.columnSums(buf.d, n, spec.outputs, buf.db);
      if (l > 0) {
        // δ_prev = f'(u_prev) ⊙ (δ · W)
        const prev = this.buffers[l - 1];
        this.kernels.matmulAB(buf.d, buf.W, prev.d, n, spec.inputs, spec.outputs);
        activateBackward(this.layout[l - 1].activation, prev.u, prev.z, prev.d, n, spec.inputs, this.kernels);
      }
    }
    return { lossSum, count: n, correct };
  }

  /**
   * Forward pass for rows [start, start + count) of `x` [*, inputs]; returns a view of the output
   * activations [count, outputs], valid until the next call.
   */
  forward(x: Float32Array, start: number, count: number): Float32Array {
    if (count > this.maxRows) throw new Error(`forward: ${count} rows exceed maxRows ${this.maxRows}`);
    const w = this.inputs;
    this.x.set(x.subarray(start * w, (start + count) * w));
    this.forwardGathered(count);
    return this.buffers[this.buffers.length - 1].z.subarray(0, count * this.outputs);
  }

  private gather(data: Samples, indices: ArrayLike<number>): void {
    const n = indices.length;
    if (n > this.maxRows) throw new Error(`shard of ${n} samples exceeds maxRows ${this.maxRows}`);
    const fi = data.features,
      fo = data.outputs;
    if (fi !== this.inputs || fo !== this.outputs) {
      throw new Error(
        `data has ${fi} features and ${fo} outputs; the model expects ${this.inputs} and ${this.outputs}`,
      );
    }
    const rowsInData = Math.floor(data.x.length / fi);
    for (let r = 0; r < n; r++) {
      const s = indices[r];
      if (!(s >= 0 && s < rowsInData))
        throw new RangeError(`sample index ${s} is outside the data set's ${rowsInData} rows`);
      // a memcpy per row: 8 µs for 128 rows of 784 against 80 µs for an element loop (measured;
      // the two short-lived views per row cost less than the loop, and Buffer.copy was no faster)
      this.x.set(data.x.subarray(s * fi, s * fi + fi), r * fi);
      this.t.set(data.y.subarray(s * fo, s * fo + fo), r * fo);
    }
  }

  private forwardGathered(n: number): void {
    let zPrev = this.x;
    for (let l = 0; l < this.layout.length; l++) {
      const spec = this.layout[l];
      const buf = this.buffers[l];
      this.kernels.matmulABt(zPrev, buf.W, buf.u, n, spec.outputs, spec.inputs, buf.b);
      activate(spec.activation, buf.u, buf.z, n, spec.outputs, this.kernels);
      zPrev = buf.z;
    }
  }
}
