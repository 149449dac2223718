import type { LayerLayout } from './network.js';
import type { Rng } from './rng.js';

export const INITS = ['auto', 'xavier', 'he'] as const;
export type Init = (typeof INITS)[number];

/**
 * Fills weights from N(0, σ²) and zeroes biases.
 * Xavier/Glorot (Glorot & Bengio, 2010): σ² = 2 / (fan_in + fan_out) — for sigmoid/tanh/softmax.
 * He (He et al., 2015): σ² = 2 / fan_in — for ReLU. 'auto' picks He for ReLU layers, else Xavier.
 */
export function initParams(params: Float32Array, layers: LayerLayout[], init: Init, rng: Rng): void {
  for (const l of layers) {
    const he = init === 'he' || (init === 'auto' && l.activation === 'relu');
    const sigma = he ? Math.sqrt(2 / l.inputs) : Math.sqrt(2 / (l.inputs + l.outputs));
    for (let i = l.wOffset; i < l.bOffset; i++) params[i] = rng.gauss() * sigma;
    params.fill(0, l.bOffset, l.bOffset + l.outputs);
  }
}
