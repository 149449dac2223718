/**
 * Activations, each forward formula with its derivative right below it. All work row-wise on
 * [rows, width] row-major buffers; backward turns ∂E/∂z (in `d`, in place) into ∂E/∂u.
 */
import { jsKernels } from './kernels/js.js';
import type { Kernels } from './kernels/types.js';

export const ACTIVATIONS = ['identity', 'sigmoid', 'tanh', 'relu', 'softmax'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** z = f(u) for `rows` rows of `width`. */
export function activate(
  act: Activation,
  u: Float32Array,
  z: Float32Array,
  rows: number,
  width: number,
  kernels: Kernels = jsKernels,
): void {
  const len = rows * width;
  switch (act) {
    case 'identity':
      for (let i = 0; i < len; i++) z[i] = u[i];
      return;
    case 'sigmoid':
      for (let i = 0; i < len; i++) z[i] = sigmoid(u[i]);
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) z[i] = Math.tanh(u[i]);
      return;
    case 'relu':
      kernels.reluForward(u, z, len); // max(u, 0); the kernels' loop (SIMD in WebAssembly)
      return;
    case 'softmax':
      for (let r = 0, o = 0; r < rows; r++, o += width) {
        let max = -Infinity;
        for (let j = 0; j < width; j++) if (u[o + j] > max) max = u[o + j];
        let sum = 0;
        for (let j = 0; j < width; j++) sum += Math.exp(u[o + j] - max);
        for (let j = 0; j < width; j++) z[o + j] = Math.exp(u[o + j] - max) / sum;
      }
      return;
  }
}

/** d ← f'(u) ⊙ d (softmax: d ← J_softmaxᵀ d, row by row). Uses the cached outputs z where cheaper. */
export function activateBackward(
  act: Activation,
  u: Float32Array,
  z: Float32Array,
  d: Float32Array,
  rows: number,
  width: number,
  kernels: Kernels = jsKernels,
): void {
  const len = rows * width;
  switch (act) {
    case 'identity':
      return; // f'(u) = 1
    case 'sigmoid':
      for (let i = 0; i < len; i++) d[i] *= z[i] * (1 - z[i]); // σ' = σ(1 − σ)
      return;
    case 'tanh':
      for (let i = 0; i < len; i++) d[i] *= 1 - z[i] * z[i]; // tanh' = 1 − tanh²
      return;
    case 'relu':
      kernels.reluBackward(u, d, len); // f' = 1 for u > 0, else 0
      return;
    case 'softmax':
      // ∂z_i/∂u_j = z_i(δ_ij − z_j)  ⇒  (Jᵀd)_i = z_i (d_i − Σ_j d_j z_j)
      for (let r = 0, o = 0; r < rows; r++, o += width) {
        let s = 0;
        for (let j = 0; j < width; j++) s += d[o + j] * z[o + j];
        for (let j = 0; j < width; j++) d[o + j] = z[o + j] * (d[o + j] - s);
      }
      return;
  }
}

export function sigmoid(u: number): number {
  // two branches so exp never overflows
  if (u >= 0) return 1 / (1 + Math.exp(-u));
  const e = Math.exp(u);
  return e / (1 + e);
}
