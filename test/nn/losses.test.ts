import { describe, expect, it } from 'vitest';
import { Network, jsKernels, lossAndDelta, sampleLoss } from '@redgrad/nn';

describe('losses', () => {
  it('reproduces the worked cross-entropy example (label M, natural log)', () => {
    const t = [0, 1, 0];
    expect(sampleLoss('cross-entropy', [0.01, 0.98, 0.01], t)).toBeCloseTo(0.0202, 4); // −ln 0.98
    expect(Number(sampleLoss('cross-entropy', [0.01, 0.98, 0.01], t).toFixed(2))).toBe(0.02);
    expect(Number(sampleLoss('cross-entropy', [0.25, 0.6, 0.15], t).toFixed(2))).toBe(0.51); // −ln 0.60
  });

  it('squared error is half the sum of squares, delta y − t for identity', () => {
    const u = Float32Array.from([1, 2, 3]);
    const y = Float32Array.from([1, 2, 3]);
    const t = Float32Array.from([0, 2, 5]);
    const d = new Float32Array(3);
    expect(lossAndDelta('squared-error', 'identity', u, y, t, d, 1, 3)).toBeCloseTo(0.5 * (1 + 0 + 4), 10);
    expect(Array.from(d)).toEqual([1, 0, -2]);
  });

  it('fused softmax + cross-entropy: delta y − t, loss −log y_label, finite for huge logits', () => {
    const u = Float32Array.from([1000, 0, -1000]);
    const y = Float32Array.from([1, 0, 0]); // softmax of u
    const t = Float32Array.from([0, 1, 0]);
    const d = new Float32Array(3);
    const e = lossAndDelta('cross-entropy', 'softmax', u, y, t, d, 1, 3);
    expect(e).toBeCloseTo(1000, 6);
    expect(Array.from(d)).toEqual([1, -1, 0]);
  });

  it('fused sigmoid + binary cross-entropy equals the textbook formula and stays finite', () => {
    const u = Float32Array.from([0.3, -2, 80]);
    const y = Float32Array.from(u, (v) => 1 / (1 + Math.exp(-v)));
    const t = Float32Array.from([1, 0, 0]);
    const d = new Float32Array(3);
    const e = lossAndDelta('binary-cross-entropy', 'sigmoid', u, y, t, d, 1, 3);
    const expected = -Math.log(1 / (1 + Math.exp(-0.3))) - Math.log(1 - 1 / (1 + Math.exp(2))) + 80; // last: softplus(80) ≈ 80
    expect(e).toBeCloseTo(expected, 5);
    expect(d[0]).toBeCloseTo(y[0] - 1, 6);
  });

  it('a hand-computed one-layer network: forward, loss and gradient', () => {
    // u = W z + b with W = [[1, 2], [3, 4]], b = [0.5, -1], z = (1, -1): u = (-0.5, -2)
    const net = new Network(
      { loss: 'squared-error', layers: [{ inputs: 2, outputs: 2, activation: 'identity' }] },
      jsKernels,
      1,
    );
    net.params.set([1, 2, 3, 4, 0.5, -1]);
    const stats = net.shardGradient(
      { x: Float32Array.from([1, -1]), y: Float32Array.from([0, 0]), features: 2, outputs: 2 },
      [0],
      false,
    );
    expect(stats.lossSum).toBeCloseTo(0.5 * (0.25 + 4), 10);
    // δ = y − t = (-0.5, -2); ∂E/∂W_ji = δ_j z_i; ∂E/∂b = δ
    expect(Array.from(net.grad)).toEqual([-0.5, 0.5, -2, 2, -0.5, -2]);
  });
});
