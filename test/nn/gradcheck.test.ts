import { describe, expect, it } from 'vitest';
import { ACTIVATIONS, LOSSES, LOSS_OUTPUTS, Network, Rng, initParams, jsKernels } from '@redgrad/nn';
import type { Activation, Architecture, Loss } from '@redgrad/nn';

/**
 * Backprop against central finite differences, for every loss × the output activations it accepts ×
 * every hidden activation, at depths 1–4. The network computes in float32, so the differences use
 * h = 1e-2 (1e-3 with ReLU) on float64 loss sums of float32 forward passes, and the tolerance is
 * |analytic − numeric| ≤ 1e-2 · max(|analytic|, |numeric|) + 3e-7·|E|/h + 1e-4 (the absolute part
 * covers float32 rounding of the loss E, about 5 ulps, divided by the 2h step).
 */
const INPUTS = 3;
const OUTPUTS = 3;
const ROWS = 5;

function makeCase(loss: Loss, out: Activation, hidden: Activation, depth: number, seed: number) {
  const sizes = [INPUTS, ...Array.from({ length: depth - 1 }, (_, i) => 4 + i), OUTPUTS];
  const arch: Architecture = {
    loss,
    layers: sizes
      .slice(1)
      .map((o, i) => ({ inputs: sizes[i], outputs: o, activation: i === depth - 1 ? out : hidden })),
  };
  const net = new Network(arch, jsKernels, ROWS);
  const rng = new Rng(seed);
  initParams(net.params, net.layout, 'xavier', rng);
  for (let i = 0; i < net.paramCount; i++) net.params[i] += 0.1 * rng.gauss(); // non-zero biases too
  const x = Float32Array.from({ length: ROWS * INPUTS }, () => rng.gauss());
  const y = new Float32Array(ROWS * OUTPUTS);
  for (let r = 0; r < ROWS; r++) {
    if (loss === 'cross-entropy') y[r * OUTPUTS + rng.int(OUTPUTS)] = 1;
    else if (loss === 'binary-cross-entropy') for (let j = 0; j < OUTPUTS; j++) y[r * OUTPUTS + j] = rng.int(2);
    else
      for (let j = 0; j < OUTPUTS; j++)
        y[r * OUTPUTS + j] = out === 'softmax' || out === 'sigmoid' ? rng.next() : rng.gauss();
  }
  return {
    net,
    data: { x, y, features: INPUTS, outputs: OUTPUTS },
    indices: Uint32Array.from({ length: ROWS }, (_, i) => i),
  };
}

function worstErrorRatio(loss: Loss, out: Activation, hidden: Activation, depth: number): number {
  const { net, data, indices } = makeCase(loss, out, hidden, depth, 1000 * depth + ACTIVATIONS.indexOf(hidden));
  const lossAt = net.shardGradient(data, indices, false).lossSum;
  const analytic = Float32Array.from(net.grad);
  let worst = 0;
  for (let i = 0; i < net.paramCount; i++) {
    const w = net.params[i];
    const h = hidden === 'relu' || out === 'relu' ? 1e-3 : 1e-2; // smaller steps rarely cross a ReLU kink
    net.params[i] = w + h;
    const up = net.shardGradient(data, indices, false).lossSum;
    net.params[i] = w - h;
    const down = net.shardGradient(data, indices, false).lossSum;
    net.params[i] = w;
    const numeric = (up - down) / (Math.fround(w + h) - Math.fround(w - h));
    // ratio to the allowed error: 1% relative, plus float32 rounding of the loss (a few ulps of E)
    // divided by the 2h step
    const allowed = 1e-2 * Math.max(Math.abs(analytic[i]), Math.abs(numeric)) + (3e-7 * Math.abs(lossAt)) / h + 1e-4;
    worst = Math.max(worst, Math.abs(analytic[i] - numeric) / allowed);
  }
  return worst;
}

describe('backprop matches central finite differences', () => {
  for (const loss of LOSSES) {
    for (const out of LOSS_OUTPUTS[loss]) {
      it(`${loss} with ${out} output, every hidden activation, depths 1-4`, () => {
        for (let depth = 1; depth <= 4; depth++) {
          for (const hidden of depth === 1 ? (['identity'] as Activation[]) : ACTIVATIONS) {
            // ReLU kinks make finite differences meaningless exactly at u = 0; the seeds avoid it.
            const err = worstErrorRatio(loss, out, hidden, depth);
            expect(err, `${loss}/${out}/${hidden}/depth ${depth}`).toBeLessThan(1);
          }
        }
      });
    }
  }
});

describe('shard gradient is a sum', () => {
  it('the gradient of a shard equals the sum of its per-sample gradients', () => {
    const { net, data, indices } = makeCase('cross-entropy', 'softmax', 'tanh', 3, 7);
    const whole = net.shardGradient(data, indices, true);
    const total = Float32Array.from(net.grad);
    const sum = new Float64Array(net.paramCount);
    let lossSum = 0;
    for (const i of indices) {
      lossSum += net.shardGradient(data, [i], true).lossSum;
      for (let p = 0; p < net.paramCount; p++) sum[p] += net.grad[p];
    }
    expect(whole.count).toBe(ROWS);
    expect(whole.lossSum).toBeCloseTo(lossSum, 5);
    for (let p = 0; p < net.paramCount; p++) expect(total[p]).toBeCloseTo(sum[p], 5);
  });

  it('refuses a sample index outside the data set, naming it', () => {
    const { net, data } = makeCase('cross-entropy', 'softmax', 'tanh', 3, 7);
    const rows = data.x.length / data.features;
    expect(() => net.shardGradient(data, [0, rows], true)).toThrow(
      `sample index ${rows} is outside the data set's ${rows} rows`,
    );
  });
});
