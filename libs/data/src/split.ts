import { Rng, deriveSeed } from '@redgrad/nn';
import type { Dataset } from './dataset.js';
import { classOf, DataError, subset } from './dataset.js';

/** Sub-stream tag for the train/test split, so it never shares random numbers with init or epoch shuffles. */
const SPLIT_STREAM = 0x5e1;

/**
 * Seeded train/test split. Classification is stratified: each class gives the same share of its samples
 * to the test set (largest remainder, so the total is round(n · fraction)), which keeps small sets like iris
 * balanced. Both halves keep the original sample order. fraction 0 gives an empty test set.
 */
export function splitTrainTest(ds: Dataset, fraction: number, seed: number): { train: Dataset; test: Dataset } {
  if (!(fraction >= 0 && fraction < 1))
    throw new DataError(`${ds.name}: test fraction must be in [0, 1), got ${fraction}`);
  const rng = new Rng(deriveSeed(seed, SPLIT_STREAM));
  const groups = ds.task === 'classification' ? classGroups(ds) : [Uint32Array.from({ length: ds.n }, (_, i) => i)];
  const takes = apportion(
    groups.map((g) => g.length),
    Math.round(ds.n * fraction),
  );
  const inTest = new Uint8Array(ds.n);
  groups.forEach((g, k) => {
    rng.shuffle(g);
    for (let r = 0; r < takes[k]; r++) inTest[g[r]] = 1;
  });
  const testCount = takes.reduce((a, b) => a + b, 0);
  if (testCount === ds.n && ds.n > 0)
    throw new DataError(`${ds.name}: test fraction ${fraction} leaves no training samples`);
  const train = new Uint32Array(ds.n - testCount);
  const test = new Uint32Array(testCount);
  let a = 0;
  let b = 0;
  for (let i = 0; i < ds.n; i++) {
    if (inTest[i]) test[b++] = i;
    else train[a++] = i;
  }
  return { train: subset(ds, train), test: subset(ds, test) };
}

/** Sample indices per class, ascending. */
function classGroups(ds: Dataset): Uint32Array[] {
  const counts = new Array<number>(ds.outputs).fill(0);
  const cls = new Uint32Array(ds.n);
  for (let i = 0; i < ds.n; i++) {
    cls[i] = classOf(ds, i);
    counts[cls[i]]++;
  }
  const groups = counts.map((c) => new Uint32Array(c));
  const fill = new Array<number>(ds.outputs).fill(0);
  for (let i = 0; i < ds.n; i++) groups[cls[i]][fill[cls[i]]++] = i;
  return groups;
}

/** Splits `total` over groups in proportion to their sizes (Hamilton's largest-remainder method; ties to the lower index). */
function apportion(sizes: number[], total: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  if (n === 0) return sizes.map(() => 0);
  const exact = sizes.map((s) => (s * total) / n);
  const takes = exact.map(Math.floor);
  let left = total - takes.reduce((a, b) => a + b, 0);
  const order = exact.map((e, k) => ({ k, rem: e - Math.floor(e) })).sort((p, q) => q.rem - p.rem || p.k - q.k);
  for (const { k } of order) {
    if (left === 0) break;
    takes[k]++;
    left--;
  }
  return takes;
}
