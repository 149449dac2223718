import { describe, expect, it } from 'vitest';
import type { Dataset } from '@redgrad/data';
import { builtin, classOf, DataError, splitTrainTest, subset } from '@redgrad/data';

const iris = await builtin('iris');
const sine = await builtin('sine');

function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.outputs).fill(0);
  for (let i = 0; i < ds.n; i++) counts[classOf(ds, i)]++;
  return counts;
}

/** Row i of x as a string key, to match samples between a split and its source. */
const rowKey = (ds: Dataset, i: number) =>
  [
    ...ds.x.subarray(i * ds.features, (i + 1) * ds.features),
    ...ds.y.subarray(i * ds.outputs, (i + 1) * ds.outputs),
  ].join(',');

describe('splitTrainTest', () => {
  it('stratifies classification by class', () => {
    const { train, test } = splitTrainTest(iris, 0.2, 42);
    expect([train.n, test.n]).toEqual([120, 30]);
    expect(classCounts(test)).toEqual([10, 10, 10]);
    expect(classCounts(train)).toEqual([40, 40, 40]);
    expect(test.classes).toEqual(iris.classes);
  });

  it('apportions uneven classes by largest remainder so the total is round(n · fraction)', () => {
    // classes of sizes 5, 3, 2; 30% → exact shares 1.5, 0.9, 0.6 → 1, 1, 1 = 3
    const labels = [0, 0, 0, 0, 0, 1, 1, 1, 2, 2];
    const ds: Dataset = {
      name: 'uneven',
      task: 'classification',
      n: 10,
      features: 1,
      outputs: 3,
      x: Float32Array.from(labels.map((_, i) => i)),
      y: Float32Array.from(labels.flatMap((k) => [0, 1, 2].map((j) => (j === k ? 1 : 0)))),
    };
    const { train, test } = splitTrainTest(ds, 0.3, 7);
    expect(classCounts(test)).toEqual([1, 1, 1]);
    expect(train.n).toBe(7);
  });

  it('partitions the samples, keeping their original order', () => {
    const { train, test } = splitTrainTest(iris, 0.3, 1);
    const all = new Map<string, number>();
    for (let i = 0; i < iris.n; i++) all.set(rowKey(iris, i), (all.get(rowKey(iris, i)) ?? 0) + 1);
    for (const part of [train, test]) {
      for (let i = 0; i < part.n; i++) all.set(rowKey(part, i), (all.get(rowKey(part, i)) ?? 0) - 1);
    }
    expect([...all.values()].every((c) => c === 0)).toBe(true);
    // original order: the class sequence of each half is non-decreasing, as in iris.csv
    for (const part of [train, test]) {
      for (let i = 1; i < part.n; i++) expect(classOf(part, i)).toBeGreaterThanOrEqual(classOf(part, i - 1));
    }
  });

  it('is deterministic in the seed', () => {
    const a = splitTrainTest(sine, 0.25, 123);
    const b = splitTrainTest(sine, 0.25, 123);
    const c = splitTrainTest(sine, 0.25, 124);
    expect(a.test.n).toBe(100);
    expect(b.test.x).toEqual(a.test.x);
    expect(b.train.y).toEqual(a.train.y);
    expect(c.test.x).not.toEqual(a.test.x);
    expect(splitTrainTest(iris, 0.2, 5).test.x).not.toEqual(splitTrainTest(iris, 0.2, 6).test.x);
  });

  it('fraction 0 gives an empty test set and the whole training set', () => {
    const { train, test } = splitTrainTest(iris, 0, 1);
    expect(test.n).toBe(0);
    expect(test.x.length).toBe(0);
    expect(train.x).toEqual(iris.x);
  });

  it('rejects fractions outside [0, 1) and splits that leave no training data', () => {
    expect(() => splitTrainTest(iris, 1, 1)).toThrow(DataError);
    expect(() => splitTrainTest(iris, -0.1, 1)).toThrow('iris: test fraction must be in [0, 1), got -0.1');
    expect(() => splitTrainTest(iris, Number.NaN, 1)).toThrow(DataError);
    expect(() => splitTrainTest(iris, 0.999, 1)).toThrow('iris: test fraction 0.999 leaves no training samples');
  });
});

describe('subset', () => {
  it('copies the given rows in the given order', () => {
    const s = subset(iris, Uint32Array.of(149, 0));
    expect(s.n).toBe(2);
    expect([...s.x]).toEqual([...iris.x.subarray(596, 600), ...iris.x.subarray(0, 4)]);
    expect([classOf(s, 0), classOf(s, 1)]).toEqual([2, 0]);
    expect(() => subset(iris, Uint32Array.of(150))).toThrow(RangeError);
  });
});
