import { describe, expect, it } from 'vitest';
import { createOptimizer, layout, learningRate } from '@redgrad/nn';
import type { OptimizerSpec } from '@redgrad/nn';

// one layer 1→1: params [w, b]; weight decay applies to w only
const layers = layout({ loss: 'squared-error', layers: [{ inputs: 1, outputs: 1, activation: 'identity' }] }).layers;

function steps(spec: OptimizerSpec, grads: number[][], w0 = [1, 1]): number[][] {
  const opt = createOptimizer(spec, 2, layers);
  const w = Float32Array.from(w0);
  return grads.map((g) => {
    opt.step(w, Float32Array.from(g), spec.lr);
    return Array.from(w);
  });
}

describe('optimizers (hand-computed)', () => {
  it('sgd: w ← w − η·g, with L2 decay on weights only', () => {
    expect(steps({ type: 'sgd', lr: 0.1 }, [[2, 4]])[0]).toEqual([Math.fround(0.8), Math.fround(0.6)]);
    expect(steps({ type: 'sgd', lr: 0.1, weightDecay: 0.5 }, [[2, 4]])[0]).toEqual([
      Math.fround(1 - 0.1 * 2.5),
      Math.fround(0.6),
    ]);
  });

  it('momentum: v ← μv + g; w ← w − η·v', () => {
    const [a, b] = steps({ type: 'momentum', lr: 0.1, momentum: 0.9 }, [
      [1, 0],
      [1, 0],
    ]);
    expect(a[0]).toBeCloseTo(1 - 0.1, 6);
    expect(b[0]).toBeCloseTo(1 - 0.1 - 0.1 * 1.9, 6);
  });

  it('nesterov: w ← w − η·(g + μv)', () => {
    const [a, b] = steps({ type: 'nesterov', lr: 0.1, momentum: 0.9 }, [
      [1, 0],
      [1, 0],
    ]);
    expect(a[0]).toBeCloseTo(1 - 0.1 * (1 + 0.9), 6);
    expect(b[0]).toBeCloseTo(1 - 0.19 - 0.1 * (1 + 0.9 * 1.9), 6);
  });

  it('adam: the first step moves each parameter by about η·sign(g); later steps follow the bias-corrected moments', () => {
    const [a, b] = steps({ type: 'adam', lr: 0.01 }, [
      [0.5, -3],
      [0.1, -3],
    ]);
    expect(a[0]).toBeCloseTo(1 - 0.01, 6);
    expect(a[1]).toBeCloseTo(1 + 0.01, 6);
    // step 2 by the textbook formulas
    const m = 0.9 * 0.05 + 0.1 * 0.1,
      v = 0.999 * 0.00025 + 0.001 * 0.01;
    const mh = m / (1 - 0.9 ** 2),
      vh = v / (1 - 0.999 ** 2);
    expect(b[0]).toBeCloseTo(a[0] - (0.01 * mh) / (Math.sqrt(vh) + 1e-8), 6);
  });

  it('saves and restores its state exactly', () => {
    const spec: OptimizerSpec = { type: 'adam', lr: 0.01 };
    const a = createOptimizer(spec, 2, layers);
    const w = Float32Array.from([1, 1]);
    a.step(w, Float32Array.from([1, 2]), 0.01);
    const b = createOptimizer(spec, 2, layers);
    b.restore(a.state());
    const w2 = Float32Array.from(w);
    a.step(w, Float32Array.from([3, -1]), 0.01);
    b.step(w2, Float32Array.from([3, -1]), 0.01);
    expect(Array.from(w2)).toEqual(Array.from(w));
  });
});

describe('learning-rate schedules', () => {
  it('constant, step, cosine and linear warm-up', () => {
    expect(learningRate(0.1, { type: 'constant' }, 500, 1000)).toBe(0.1);
    expect(learningRate(0.1, { type: 'step', stepSize: 100, gamma: 0.5 }, 250, 1000)).toBeCloseTo(0.025, 12);
    expect(learningRate(0.1, { type: 'cosine' }, 0, 1000)).toBeCloseTo(0.1, 12);
    expect(learningRate(0.1, { type: 'cosine' }, 500, 1000)).toBeCloseTo(0.05, 12);
    expect(learningRate(0.1, { type: 'cosine', minLr: 0.01 }, 1000, 1000)).toBeCloseTo(0.01, 12);
    expect(learningRate(0.1, { type: 'constant', warmupSteps: 10 }, 0, 1000)).toBeCloseTo(0.01, 12);
    expect(learningRate(0.1, { type: 'constant', warmupSteps: 10 }, 9, 1000)).toBeCloseTo(0.1, 12);
    expect(learningRate(0.1, { type: 'cosine', warmupSteps: 100 }, 550, 1000)).toBeCloseTo(0.05, 12);
  });
});
