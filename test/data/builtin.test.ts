import { describe, expect, it } from 'vitest';
import { builtin, builtinNames, classOf, DataError } from '@redgrad/data';

describe('built-in data sets', () => {
  it('lists xor, iris and sine', () => {
    expect(builtinNames()).toEqual(['xor', 'iris', 'sine']);
  });

  it('xor: 4 points, 2 features, classes "0" and "1"', async () => {
    const ds = await builtin('xor');
    expect(ds).toMatchObject({ task: 'classification', n: 4, features: 2, outputs: 2, classes: ['0', '1'] });
    expect([...ds.x]).toEqual([0, 0, 0, 1, 1, 0, 1, 1]);
    expect([0, 1, 2, 3].map((i) => classOf(ds, i))).toEqual([0, 1, 1, 0]);
  });

  it("iris: Fisher's 150 samples, 4 features, 50 per species", async () => {
    const ds = await builtin('iris');
    expect(ds).toMatchObject({ name: 'iris', task: 'classification', n: 150, features: 4, outputs: 3 });
    expect(ds.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(ds.featureNames).toEqual(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    const counts = [0, 0, 0];
    for (let i = 0; i < ds.n; i++) counts[classOf(ds, i)]++;
    expect(counts).toEqual([50, 50, 50]);
    // First and last rows of the canonical table.
    expect([...ds.x.subarray(0, 4)]).toEqual([5.1, 3.5, 1.4, 0.2].map(Math.fround));
    expect([...ds.x.subarray(149 * 4)]).toEqual([5.9, 3.0, 5.1, 1.8].map(Math.fround));
    expect(classOf(ds, 149)).toBe(2);
  });

  it('sine: 400 regression rows following sin(x1) + 0.5 cos(2 x2) up to small noise', async () => {
    const ds = await builtin('sine');
    expect(ds).toMatchObject({ task: 'regression', n: 400, features: 2, outputs: 1, targetNames: ['y'] });
    let sq = 0;
    for (let i = 0; i < ds.n; i++) {
      const [x1, x2] = [ds.x[2 * i], ds.x[2 * i + 1]];
      expect(Math.abs(x1)).toBeLessThanOrEqual(3);
      expect(Math.abs(x2)).toBeLessThanOrEqual(3);
      sq += (ds.y[i] - Math.sin(x1) - 0.5 * Math.cos(2 * x2)) ** 2;
    }
    expect(Math.sqrt(sq / ds.n)).toBeGreaterThan(0.03);
    expect(Math.sqrt(sq / ds.n)).toBeLessThan(0.07);
  });

  it('rejects an unknown name, listing the available ones', async () => {
    await expect(builtin('mnist')).rejects.toThrow(DataError);
    await expect(builtin('toString')).rejects.toThrow(
      'unknown built-in data set "toString" (available: xor, iris, sine)',
    );
  });
});
