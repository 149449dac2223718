import { describe, expect, it } from 'vitest';
import type { Dataset } from '@redgrad/data';
import { applyScaling, DataError, fitScaling, validateScaling } from '@redgrad/data';

// 4 samples, 3 features; the third column is constant.
const ds: Dataset = {
  name: 'toy',
  task: 'regression',
  n: 4,
  features: 3,
  outputs: 1,
  x: Float32Array.from([1, 10, 5, 2, 20, 5, 3, 30, 5, 6, 40, 5]),
  y: Float32Array.from([1, 2, 3, 4]),
};

describe('fitScaling', () => {
  it('standard: mean and 1/population std; a constant column keeps scale 1', () => {
    // col 0: mean 3, variance (4+1+0+9)/4 = 3.5; col 1: mean 25, variance (225+25+25+225)/4 = 125
    const s = fitScaling(ds, 'standard');
    expect(s.method).toBe('standard');
    expect(s.offset).toEqual([3, 25, 5]);
    expect(s.scale[0]).toBeCloseTo(1 / Math.sqrt(3.5), 12);
    expect(s.scale[1]).toBeCloseTo(1 / Math.sqrt(125), 12);
    expect(s.scale[2]).toBe(1);
  });

  it('minmax: min and 1/(max − min); a constant column keeps scale 1', () => {
    expect(fitScaling(ds, 'minmax')).toEqual({ method: 'minmax', offset: [1, 10, 5], scale: [1 / 5, 1 / 30, 1] });
  });

  it('none: identity', () => {
    expect(fitScaling(ds, 'none')).toEqual({ method: 'none', offset: [0, 0, 0], scale: [1, 1, 1] });
  });
});

describe('applyScaling', () => {
  it('maps x to (x − offset) · scale without touching the input', () => {
    const before = ds.x.slice();
    const out = applyScaling(ds, fitScaling(ds, 'minmax'));
    expect([...out.x]).toEqual([0, 0, 0, 0.2, 1 / 3, 0, 0.4, 2 / 3, 0, 1, 1, 0].map(Math.fround));
    expect(ds.x).toEqual(before);
    expect(out.y).toEqual(ds.y);
    expect(out.y).not.toBe(ds.y);

    const std = applyScaling(ds, fitScaling(ds, 'standard'));
    let mean = 0;
    let sq = 0;
    for (let i = 0; i < 4; i++) mean += std.x[i * 3] / 4;
    for (let i = 0; i < 4; i++) sq += (std.x[i * 3] - mean) ** 2 / 4;
    expect(mean).toBeCloseTo(0, 6);
    expect(sq).toBeCloseTo(1, 6);
  });

  it('rejects a scaling of the wrong width', () => {
    expect(() => applyScaling(ds, { method: 'none', offset: [0], scale: [1] })).toThrow(DataError);
  });
});

describe('validateScaling', () => {
  const where = 'model.json scaling';
  it('accepts a fitted scaling read back from JSON', () => {
    const s = fitScaling(ds, 'standard');
    expect(validateScaling(JSON.parse(JSON.stringify(s)), 3, where)).toEqual(s);
  });

  const cases: [string, unknown, string][] = [
    ['not an object', [1], 'model.json scaling: expected an object with method, offset, scale, got an array'],
    [
      'unknown key',
      { method: 'none', offset: [0, 0, 0], scale: [1, 1, 1], mean: 1 },
      'model.json scaling: unknown key "mean" (allowed: method, offset, scale)',
    ],
    [
      'bad method',
      { method: 'zscore', offset: [0, 0, 0], scale: [1, 1, 1] },
      'model.json scaling.method: expected one of none, standard, minmax, got "zscore"',
    ],
    [
      'missing offset',
      { method: 'none', scale: [1, 1, 1] },
      'model.json scaling.offset: expected an array of 3 numbers, got nothing',
    ],
    [
      'wrong length',
      { method: 'none', offset: [0, 0], scale: [1, 1, 1] },
      'model.json scaling.offset: expected 3 numbers, got 2',
    ],
    [
      'non-number',
      { method: 'none', offset: [0, '1', 0], scale: [1, 1, 1] },
      'model.json scaling.offset[1]: expected a finite number, got "1"',
    ],
    [
      'null',
      { method: 'none', offset: [0, 0, 0], scale: [1, null, 1] },
      'model.json scaling.scale[1]: expected a finite number, got null',
    ],
    [
      'zero scale',
      { method: 'none', offset: [0, 0, 0], scale: [1, 1, 0] },
      'model.json scaling.scale[2]: must not be 0',
    ],
  ];
  it.each(cases)('rejects %s', (_, obj, message) => {
    expect(() => validateScaling(obj, 3, where)).toThrow(DataError);
    expect(() => validateScaling(obj, 3, where)).toThrow(message);
  });
});
