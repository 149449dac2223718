import { describe, expect, it } from 'vitest';
import { SpecError, validateJobSpec } from '@redgrad/train';

const base = { data: { builtin: 'iris' } };

describe('job spec validation', () => {
  it('fills defaults', () => {
    const s = validateJobSpec(base);
    expect(s).toMatchObject({
      batchSize: 32,
      shardSize: 32,
      epochs: 10,
      seed: 1,
      shuffle: true,
      scaling: 'standard',
      testSplit: 0.2,
      kernel: 'auto',
    });
    expect(s.model.hidden).toEqual([{ size: 16, activation: 'tanh' }]);
  });

  it.each([
    [{ ...base, epoch: 3 }, /spec: unknown key "epoch" \(did you mean "epochs"\?\); allowed: .*epochs/],
    [{ ...base, BatchSize: 3 }, /spec: unknown key "BatchSize" \(did you mean "batchSize"\?\)/],
    [{ ...base, model: { hiden: [4] } }, /spec.model: unknown key "hiden" \(did you mean "hidden"\?\)/],
    [
      { ...base, optimizer: { type: 'adam', lerning_rate: 0.1 } },
      /spec.optimizer: unknown key "lerning_rate"; allowed: /,
    ],
    [{ ...base, batchSize: 0 }, /spec.batchSize: expected an integer from 1 to \d+ or "full", got 0/],
    [{ ...base, batchSize: 16, shardSize: 32 }, /spec.shardSize: 32 is larger than batchSize 16/],
    [
      { ...base, optimizer: { type: 'adagrad' } },
      /spec.optimizer.type: expected one of sgd, momentum, nesterov, adam, got "adagrad"/,
    ],
    [{ ...base, optimizer: { type: 'sgd', lr: -1 } }, /spec.optimizer.lr: expected a number in \(0, 10\], got -1/],
    [{ ...base, optimizer: { type: 'sgd', beta1: 0.9 } }, /spec.optimizer: unknown key "beta1"/],
    [{ ...base, model: { hidden: [16, 'x'] } }, /spec.model.hidden\[1\]: expected an object, got "x"/],
    [
      { ...base, model: { output: 'tanh' }, loss: 'cross-entropy' },
      /spec.model.output: cross-entropy needs outputs in \(0, 1\)/,
    ],
    [{ ...base, data: { builtin: 'mnist' } }, /spec.data.builtin: expected one of .*iris.*got "mnist"/],
    [{ ...base, data: { format: 'csv', path: 'a.csv', lable: 'y' } }, /spec.data: unknown key "lable"/],
    [{ ...base, shuffle: 'yes' }, /spec.shuffle: expected true or false, got "yes"/],
    [[], /spec: expected an object, got an array of 0/],
  ])('rejects %j', (raw, message) => {
    expect(() => validateJobSpec(raw)).toThrow(SpecError);
    expect(() => validateJobSpec(raw)).toThrow(message);
  });
});
