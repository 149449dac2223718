import type { Activation } from './activations.js';
import { activateBackward } from './activations.js';
import { jsKernels } from './kernels/js.js';
import type { Kernels } from './kernels/types.js';

/**
 * Losses per sample, summed over the output units:
 *   squared-error         E = ½ Σ (y − t)²                      ∂E/∂y = y − t
 *   binary-cross-entropy  E = −Σ [t log y + (1 − t) log(1 − y)]  ∂E/∂y = (y − t) / (y (1 − y))
 *   cross-entropy         E = −Σ t log y                         ∂E/∂y = −t / y
 * Fused with their canonical output activation the output delta ∂E/∂u is simply y − t, and the loss
 * is computed from u with log-sum-exp / softplus so it stays finite for any u.
 */
export const LOSSES = ['squared-error', 'binary-cross-entropy', 'cross-entropy'] as const;
export type Loss = (typeof LOSSES)[number];

/** Output activations each loss accepts (BCE and CE need outputs in (0, 1)). */
export const LOSS_OUTPUTS: Record<Loss, readonly Activation[]> = {
  'squared-error': ['identity', 'sigmoid', 'tanh', 'relu', 'softmax'],
  'binary-cross-entropy': ['sigmoid', 'softmax'],
  'cross-entropy': ['softmax', 'sigmoid'],
};

/** Clamp for the unfused log terms; the fused paths never need it. */
const EPS = 1e-7;

/**
 * Writes the output deltas ∂E/∂u into `d` [rows, width] and returns the loss summed over the rows
 * (accumulated in float64).
 */
export function lossAndDelta(
  loss: Loss,
  act: Activation,
  u: Float32Array,
  y: Float32Array,
  t: Float32Array,
  d: Float32Array,
  rows: number,
  width: number,
  kernels: Kernels = jsKernels,
): number {
  const len = rows * width;
  let total = 0;
  if (loss === 'cross-entropy' && act === 'softmax') {
    for (let r = 0, o = 0; r < rows; r++, o += width) {
      let max = -Infinity;
      for (let j = 0; j < width; j++) if (u[o + j] > max) max = u[o + j];
      let sum = 0;
      for (let j = 0; j < width; j++) sum += Math.exp(u[o + j] - max);
      const logSum = max + Math.log(sum);
      for (let j = 0; j < width; j++) {
        const tj = t[o + j];
        if (tj !== 0) total -= tj * (u[o + j] - logSum); // −t·log softmax(u)
        d[o + j] = y[o + j] - tj;
      }
    }
    return total;
  }
  if (loss === 'binary-cross-entropy' && act === 'sigmoid') {
    for (let i = 0; i < len; i++) {
      const ui = u[i],
        ti = t[i];
      // −[t log σ(u) + (1−t) log(1−σ(u))] = max(u,0) − u·t + log(1 + e^{−|u|})
      total += Math.max(ui, 0) - ui * ti + Math.log1p(Math.exp(-Math.abs(ui)));
      d[i] = y[i] - ti;
    }
    return total;
  }
  switch (loss) {
    case 'squared-error':
      for (let i = 0; i < len; i++) {
        const e = y[i] - t[i];
        total += 0.5 * e * e;
        d[i] = e;
      }
      break;
    case 'binary-cross-entropy':
      for (let i = 0; i < len; i++) {
        const yi = Math.min(Math.max(y[i], EPS), 1 - EPS),
          ti = t[i];
        total -= ti * Math.log(yi) + (1 - ti) * Math.log(1 - yi);
        d[i] = (yi - ti) / (yi * (1 - yi));
      }
      break;
    case 'cross-entropy':
      for (let i = 0; i < len; i++) {
        const yi = Math.max(y[i], EPS),
          ti = t[i];
        if (ti !== 0) total -= ti * Math.log(yi);
        d[i] = -ti / yi;
      }
      break;
  }
  activateBackward(act, u, y, d, rows, width, kernels);
  return total;
}

/**
 * Loss of one prediction row (no delta): y[yOff…yOff+width) against t[tOff…tOff+width). Used by
 * evaluation and the brief's worked example.
 */
export function sampleLoss(
  loss: Loss,
  y: ArrayLike<number>,
  t: ArrayLike<number>,
  yOff = 0,
  tOff = 0,
  width = y.length - yOff,
): number {
  let total = 0;
  for (let j = 0; j < width; j++) {
    const yi = y[yOff + j],
      ti = t[tOff + j];
    if (loss === 'squared-error') total += 0.5 * (yi - ti) ** 2;
    else if (loss === 'binary-cross-entropy') {
      const c = Math.min(Math.max(yi, EPS), 1 - EPS);
      total -= ti * Math.log(c) + (1 - ti) * Math.log(1 - c);
    } else if (ti !== 0) total -= ti * Math.log(Math.max(yi, EPS));
  }
  return total;
}

/** Position of the largest value in a[offset…offset+width); the first one on ties. */
export function argmax(a: ArrayLike<number>, offset = 0, width = a.length - offset): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (a[offset + j] > a[offset + best]) best = j;
  return best;
}

/** Class index of the row a[offset…offset+width): argmax, or the 0.5 threshold for one output unit. */
export function classIndex(a: ArrayLike<number>, offset = 0, width = a.length - offset): number {
  return width === 1 ? (a[offset] >= 0.5 ? 1 : 0) : argmax(a, offset, width);
}

/** Whether a prediction row counts as correct: its class index is the target's. */
export function isCorrect(y: Float32Array, t: Float32Array, offset: number, width: number): boolean {
  return classIndex(y, offset, width) === classIndex(t, offset, width);
}
