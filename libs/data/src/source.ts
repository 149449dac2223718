import { isAbsolute, resolve } from 'node:path';
import { builtin, builtinNames } from './builtin.js';
import type { LabelSpec } from './csv.js';
import { readCsv } from './csv.js';
import type { Dataset, Task } from './dataset.js';
import { DataError } from './dataset.js';
import { describeValue } from '@redgrad/errors';
import { FASHION_MNIST_CLASSES, fashionMnistPaths, readIdx } from './idx.js';

/** Where a job's data comes from: the `data` block of a job spec. Relative paths resolve against the spec's folder. */
export type DataSource =
  | { builtin: string }
  | { format: 'csv'; path: string; test?: string; label?: LabelSpec; task?: Task }
  | { format: 'idx'; images: string; labels: string; testImages?: string; testLabels?: string }
  | { format: 'fashion-mnist' }; // Debian's installed files, train + test

const ALLOWED = {
  csv: ['format', 'path', 'test', 'label', 'task'],
  idx: ['format', 'images', 'labels', 'testImages', 'testLabels'],
  'fashion-mnist': ['format'],
} as const;
const FORMATS = Object.keys(ALLOWED) as (keyof typeof ALLOWED)[];

/** Checks an untrusted `data` block; every message names the offending field (`field` is its path, e.g. "data"). */
export function validateDataSource(obj: unknown, field = 'data'): DataSource {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new DataError(`${field}: expected an object, got ${describeValue(obj)}`);
  }
  const rec = obj as Record<string, unknown>;
  const onlyKeys = (allowed: readonly string[]) => {
    for (const key of Object.keys(rec)) {
      if (!allowed.includes(key))
        throw new DataError(`${field}: unknown key "${key}" (allowed: ${allowed.join(', ')})`);
    }
  };
  const str = (key: string, required: boolean): string | undefined => {
    const v = rec[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v === '')
      throw new DataError(`${field}.${key}: expected a non-empty string, got ${describeValue(v)}`);
    return v;
  };

  if ('builtin' in rec) {
    onlyKeys(['builtin']);
    const name = rec.builtin;
    if (typeof name !== 'string' || !builtinNames().includes(name)) {
      throw new DataError(`${field}.builtin: expected one of ${builtinNames().join(', ')}, got ${describeValue(name)}`);
    }
    return { builtin: name };
  }
  const format = rec.format;
  if (typeof format !== 'string' || !FORMATS.includes(format as keyof typeof ALLOWED)) {
    throw new DataError(
      `${field}.format: expected one of ${FORMATS.join(', ')} (or a "builtin" key), got ${describeValue(format)}`,
    );
  }
  onlyKeys(ALLOWED[format as keyof typeof ALLOWED]);

  if (format === 'fashion-mnist') return { format: 'fashion-mnist' };
  if (format === 'idx') {
    const images = str('images', true)!;
    const labels = str('labels', true)!;
    const testImages = str('testImages', false);
    const testLabels = str('testLabels', false);
    if ((testImages === undefined) !== (testLabels === undefined)) {
      throw new DataError(
        `${field}: testImages and testLabels go together; got only ${testImages ? 'testImages' : 'testLabels'}`,
      );
    }
    return { format: 'idx', images, labels, ...(testImages !== undefined && { testImages, testLabels }) };
  }

  const path = str('path', true)!;
  const test = str('test', false);
  let task: Task | undefined;
  if (rec.task !== undefined) {
    if (rec.task !== 'classification' && rec.task !== 'regression') {
      throw new DataError(`${field}.task: expected "classification" or "regression", got ${describeValue(rec.task)}`);
    }
    task = rec.task;
  }
  let label: LabelSpec | undefined;
  if (rec.label !== undefined) {
    const one = (v: unknown, where: string): string | number => {
      if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v) && v >= 0)) return v;
      throw new DataError(`${where}: expected a column name or index, got ${describeValue(v)}`);
    };
    if (Array.isArray(rec.label)) {
      if (rec.label.length === 0) throw new DataError(`${field}.label: expected at least one column`);
      if ((task ?? 'classification') === 'classification' && rec.label.length !== 1) {
        throw new DataError(`${field}.label: classification takes one label column, got ${rec.label.length}`);
      }
      label = rec.label.map((v, i) => one(v, `${field}.label[${i}]`));
    } else {
      label = one(rec.label, `${field}.label`);
    }
  }
  return {
    format: 'csv',
    path,
    ...(test !== undefined && { test }),
    ...(label !== undefined && { label }),
    ...(task !== undefined && { task }),
  };
}

/**
 * Loads a data source (validated first). A test file is read with the training set's class order,
 * so one-hot positions agree between the two, and must have the same feature columns.
 */
export async function loadData(source: DataSource, baseDir: string): Promise<{ train: Dataset; test?: Dataset }> {
  const src = validateDataSource(source);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  if ('builtin' in src) return { train: await builtin(src.builtin) };
  switch (src.format) {
    case 'csv': {
      const opts = { label: src.label, task: src.task };
      const train = await readCsv(at(src.path), opts);
      if (src.test === undefined) return { train };
      const test = await readCsv(at(src.test), { ...opts, classes: train.classes });
      const trainCols = (train.featureNames ?? []).join(', ');
      const testCols = (test.featureNames ?? []).join(', ');
      if (trainCols !== testCols) {
        throw new DataError(
          `${at(src.test)}: feature columns (${testCols}) differ from ${at(src.path)} (${trainCols})`,
        );
      }
      return { train, test };
    }
    case 'idx': {
      const train = await readIdx(at(src.images), at(src.labels));
      if (src.testImages === undefined || src.testLabels === undefined) return { train };
      const test = await readIdx(at(src.testImages), at(src.testLabels));
      if (test.features !== train.features) {
        throw new DataError(
          `${at(src.testImages)}: ${test.features} pixels per image, but the training images have ${train.features}`,
        );
      }
      return { train, test };
    }
    case 'fashion-mnist': {
      const p = fashionMnistPaths();
      const opts = { classes: FASHION_MNIST_CLASSES };
      const train = await readIdx(p.trainImages, p.trainLabels, { ...opts, name: 'fashion-mnist-train' });
      const test = await readIdx(p.testImages, p.testLabels, { ...opts, name: 'fashion-mnist-test' });
      return { train, test };
    }
  }
}
