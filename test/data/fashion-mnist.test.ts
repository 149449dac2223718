import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classOf,
  DataError,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIRS,
  fashionMnistPaths,
  readIdx,
} from '@redgrad/data';

// Debian's dataset-fashion-mnist; these tests skip on machines without it.
const installed = FASHION_MNIST_DIRS.some((d) => existsSync(`${d}/t10k-images-idx3-ubyte.gz`));

describe('Fashion-MNIST', () => {
  it('says how to install the files when they are absent', () => {
    expect(() => fashionMnistPaths(['/nonexistent'])).toThrow(DataError);
    expect(() => fashionMnistPaths(['/nonexistent'])).toThrow('apt-get install dataset-fashion-mnist');
  });

  it.skipIf(!installed)('reads the installed test set: 10000 images of 28x28 in [0, 1], 1000 per class', async () => {
    const p = fashionMnistPaths();
    const ds = await readIdx(p.testImages, p.testLabels, { classes: FASHION_MNIST_CLASSES });
    expect(ds).toMatchObject({ n: 10000, features: 784, outputs: 10, classes: FASHION_MNIST_CLASSES });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of ds.x) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    expect([lo, hi]).toEqual([0, 1]);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < ds.n; i++) counts[classOf(ds, i)]++;
    expect(counts).toEqual(new Array<number>(10).fill(1000));
  });
});
