import { describe, expect, it } from 'vitest';
import { bytesPerStep, estimatePayoff, flopsPerSample, paramCount, payoffNote } from '@redgrad/cluster';
import type { PayoffConstants } from '@redgrad/cluster';

// One dense layer of 100 → 10: 1,000 weights, 1,010 parameters, 4,040 bytes as f32.
const small = [{ inputs: 100, outputs: 10 }];
// 1 GFLOP/s (1e6 flops per ms) and one f32 parameter block per ms keep the hand arithmetic short;
// the fixed part is not a round number so no estimate sits exactly on its break-even point.
const constants: PayoffConstants = { gflops: { js: 1 }, redisBytesPerMs: 4040, fixedStepMs: 0.9005 };

describe('payoff estimate', () => {
  it('counts flops and parameters of dense layers', () => {
    // 784-256-128-10: weights 200,704 + 32,768 + 1,280 = 234,752; 6 × 234,752 − 2 × 200,704
    expect(
      flopsPerSample([
        { inputs: 784, outputs: 256 },
        { inputs: 256, outputs: 128 },
        { inputs: 128, outputs: 10 },
      ]),
    ).toBe(1_007_104);
    expect(
      paramCount([
        { inputs: 784, outputs: 256 },
        { inputs: 256, outputs: 128 },
        { inputs: 128, outputs: 10 },
      ]),
    ).toBe(235_146);
    expect(flopsPerSample(small)).toBe(4000); // 6,000 − 2,000: no input deltas for the first layer
  });

  it('counts the bytes a step moves through Redis', () => {
    // 2 workers: weights SET once + GET twice = 3 × 4,040; 2 results XADDed and XREAD = 4 × 4,040
    expect(bytesPerStep(1010, 2)).toBe(28_280);
    // bf16 halves the results only: 3 × 4,040 + 4 × 2,020
    expect(bytesPerStep(1010, 2, 'bf16')).toBe(20_200);
  });

  it('says when steps are too small, and the batch size from which they are not', () => {
    const e = estimatePayoff({ layers: small, batchSize: 1000, workers: 2, kernel: 'js' }, constants);
    expect(e.computeMs).toBeCloseTo(4, 12); // 1,000 samples × 4,000 flops at 1e6 flops/ms
    expect(e.bytesPerStep).toBe(28_280);
    expect(e.transferMs).toBeCloseTo(7.9005, 12); // 28,280 / 4,040 = 7 ms, plus 0.9005
    expect(e.clusterStepMs).toBeCloseTo(9.9005, 12); // 4 / 2 + 7.9005
    expect(e.pays).toBe(false);
    // saves 0.002 ms per sample (half of 0.004): 7.9005 / 0.002 = 3,950.25 → 3,951
    expect(e.minBatchSize).toBe(3951);
    expect(payoffNote(e)).toBe(
      'note: steps of 1000 samples are too small for this cluster (2 workers) to beat --local (≈4.0 ms of compute vs ≈7.9 ms of transfer per step); from batchSize ≈ 4000 it would',
    );

    const at = (batchSize: number) => estimatePayoff({ layers: small, batchSize, workers: 2, kernel: 'js' }, constants);
    expect(at(3950).pays).toBe(false); // 15.8 ms local, 7.9 + 7.9005 cluster
    expect(at(3951).pays).toBe(true); // 15.804 ms local, 7.902 + 7.9005 cluster
    expect(payoffNote(at(3951))).toBeNull();
  });

  it('one worker alone never pays; with the coordinator computing too it can', () => {
    const one = estimatePayoff({ layers: small, batchSize: 100_000, workers: 1, kernel: 'js' }, constants);
    expect(one.pays).toBe(false);
    expect(one.minBatchSize).toBeNull();
    expect(payoffNote(one)).toMatch(/cannot beat --local at any batch size.*run 2 or more workers/);

    // bytes: 2 × 4,040 (SET, GET) + 2 × 4,040 (XADD, XREAD) = 4 ms, plus 0.9005; saves 0.002 ms per sample
    const helped = estimatePayoff(
      { layers: small, batchSize: 1000, workers: 1, kernel: 'js', coordinatorComputes: true },
      constants,
    );
    expect(helped.computers).toBe(2);
    expect(helped.transferMs).toBeCloseTo(4.9005, 12);
    expect(helped.minBatchSize).toBe(2451); // 4.9005 / 0.002 = 2,450.25
    expect(payoffNote(helped)).toContain('this cluster (1 worker and the coordinator)');
  });

  it('rejects what it cannot estimate', () => {
    expect(() => estimatePayoff({ layers: small, batchSize: 10, workers: 0, kernel: 'js' }, constants)).toThrow(
      /workers/,
    );
    expect(() => estimatePayoff({ layers: small, batchSize: 10, workers: 2, kernel: 'cuda' }, constants)).toThrow(
      /kernel "cuda"/,
    );
  });
});
