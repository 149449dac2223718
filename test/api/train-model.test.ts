import { describe, expect, it } from 'vitest';
import { RedgradError, defineSpec, modelToJson, predict, trainModel } from '@redgrad/api';

const XOR = {
  data: { builtin: 'xor' },
  testSplit: 0,
  model: { hidden: [8] },
  optimizer: { type: 'momentum', lr: 0.1 },
  batchSize: 4,
  shardSize: 2,
  epochs: 300,
  seed: 7,
  kernel: 'js',
};

describe('trainModel', () => {
  it('gives the same model bit for bit on every run, with a callback per step and per epoch', async () => {
    let steps = 0,
      epochs = 0;
    const a = await trainModel(defineSpec(XOR), { onStep: () => void steps++, onEpoch: () => void epochs++ });
    const b = await trainModel(defineSpec(XOR));
    expect([steps, epochs]).toEqual([300, 300]);
    expect(modelToJson(a.model)).toBe(modelToJson(b.model));
    expect(
      predict(a.model, [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
      ]).map((p) => p.label),
    ).toEqual(['0', '1', '1', '0']);
  });

  it('warm-starts from a model of the same layers and refuses one of other layers', async () => {
    const first = await trainModel(defineSpec({ ...XOR, epochs: 5 }));
    const warm = await trainModel(defineSpec({ ...XOR, epochs: 5 }), { init: first.model });
    expect(warm.result.history[0].trainLoss).toBeLessThan(first.result.history[0].trainLoss);
    const relu = defineSpec({ ...XOR, epochs: 5, model: { hidden: [8], activation: 'relu' } });
    await expect(trainModel(relu, { init: first.model })).rejects.toThrow(/init: the model's layers .* do not match/);
    await expect(trainModel(relu, { init: first.model })).rejects.toBeInstanceOf(RedgradError);
  });

  it('checks the width of each row it predicts', async () => {
    const { model } = await trainModel(defineSpec({ ...XOR, epochs: 1 }));
    expect(() => predict(model, [[0, 1, 2]])).toThrow(/row 0: has 3 features, the model expects 2/);
  });
});
