import type { LayerLayout } from './network.js';
import { jsKernels } from './kernels/js.js';
import type { Kernels } from './kernels/types.js';

export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam'] as const;
export type OptimizerKind = (typeof OPTIMIZERS)[number];

export interface OptimizerSpec {
  type: OptimizerKind;
  lr: number;
  /** momentum / nesterov: μ (default 0.9) */
  momentum?: number;
  /** adam: β1, β2, ε (defaults 0.9, 0.999, 1e-8) */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 penalty λ/2·‖W‖² on weights (not biases): adds λ·w to the gradient. Default 0. */
  weightDecay?: number;
}

/** Everything needed to resume an optimizer exactly: its step count and its state buffers. */
export interface OptimizerState {
  t: number;
  buffers: Float32Array[];
}

/**
 * The shared bookkeeping: the state buffers mirror the parameter layout, weight decay applies to the
 * weight ranges only, and each optimizer writes just its per-element rule.
 */
export abstract class Optimizer {
  t = 0;
  readonly buffers: Float32Array[];
  private readonly decayRanges: Array<[number, number]>;

  constructor(
    readonly spec: OptimizerSpec,
    readonly size: number,
    layers: LayerLayout[],
    stateCount: number,
    protected readonly kernels: Kernels,
  ) {
    this.buffers = Array.from({ length: stateCount }, () => kernels.alloc(size));
    this.decayRanges = layers.map((l) => [l.wOffset, l.bOffset]);
  }

  /** One update w ← w − η·(rule applied to g); `grad` is the batch-mean gradient and is modified. */
  step(params: Float32Array, grad: Float32Array, lr: number): void {
    const wd = this.spec.weightDecay ?? 0;
    if (wd !== 0) for (const [a, b] of this.decayRanges) for (let i = a; i < b; i++) grad[i] += wd * params[i];
    this.t++;
    this.update(params, grad, lr);
  }

  protected abstract update(params: Float32Array, grad: Float32Array, lr: number): void;

  state(): OptimizerState {
    return { t: this.t, buffers: this.buffers.map((b) => Float32Array.from(b)) };
  }

  restore(state: OptimizerState): void {
    if (state.buffers.length !== this.buffers.length)
      throw new Error(`optimizer state has ${state.buffers.length} buffers, expected ${this.buffers.length}`);
    state.buffers.forEach((b, i) => {
      if (b.length !== this.size)
        throw new Error(`optimizer state buffer ${i} has ${b.length} values, expected ${this.size}`);
      this.buffers[i].set(b);
    });
    this.t = state.t;
  }
}

/** Plain gradient descent: w ← w − η·g. */
class Sgd extends Optimizer {
  protected update(w: Float32Array, g: Float32Array, lr: number): void {
    for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
  }
}

/**
 * Heavy-ball momentum, and Nesterov's variant in the form of Sutskever et al. (2013) as PyTorch
 * writes it: v ← μv + g; w ← w − η·v (heavy ball) or w ← w − η·(g + μv) (Nesterov).
 */
class Momentum extends Optimizer {
  protected update(w: Float32Array, g: Float32Array, lr: number): void {
    const v = this.buffers[0];
    const mu = this.spec.momentum ?? 0.9;
    const nesterov = this.spec.type === 'nesterov';
    for (let i = 0; i < w.length; i++) {
      v[i] = mu * v[i] + g[i];
      w[i] -= lr * (nesterov ? g[i] + mu * v[i] : v[i]);
    }
  }
}

/**
 * Adam (Kingma & Ba, 2015) with bias-corrected moments, in the paper's "efficient" form: the bias
 * corrections fold into one step size α_t = η·√(1−β2^t)/(1−β1^t) and ε̂ = ε·√(1−β2^t), leaving one
 * square root and one division per element (measured ~2× faster than correcting m and v each time).
 * The element loop is the kernels' adamStep, in float32 as PyTorch's Adam: f32x4 in WebAssembly,
 * the same bits in TypeScript.
 */
class Adam extends Optimizer {
  protected update(w: Float32Array, g: Float32Array, lr: number): void {
    const [m, v] = this.buffers;
    const b1 = this.spec.beta1 ?? 0.9,
      b2 = this.spec.beta2 ?? 0.999,
      eps = this.spec.eps ?? 1e-8;
    const c2 = Math.sqrt(1 - Math.pow(b2, this.t));
    const alpha = (lr * c2) / (1 - Math.pow(b1, this.t));
    const epsHat = eps * c2;
    this.kernels.adamStep(w, g, m, v, { b1, b2, a1: 1 - b1, a2: 1 - b2, alpha, epsHat });
  }
}

/** State buffers come from `kernels.alloc`, so a WebAssembly kernel updates them in its own memory. */
export function createOptimizer(
  spec: OptimizerSpec,
  size: number,
  layers: LayerLayout[],
  kernels: Kernels = jsKernels,
): Optimizer {
  switch (spec.type) {
    case 'sgd':
      return new Sgd(spec, size, layers, 0, kernels);
    case 'momentum':
    case 'nesterov':
      return new Momentum(spec, size, layers, 1, kernels);
    case 'adam':
      return new Adam(spec, size, layers, 2, kernels);
  }
}
