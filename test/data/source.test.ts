import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { DataSource } from '@redgrad/data';
import {
  builtin,
  datasetHash,
  DataError,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  loadData,
  parseCsv,
  validateDataSource,
} from '@redgrad/data';

describe('validateDataSource', () => {
  it('accepts each kind of source', () => {
    const ok: DataSource[] = [
      { builtin: 'iris' },
      { format: 'csv', path: 'train.csv' },
      { format: 'csv', path: 'a.csv', test: 'b.csv', label: 'species', task: 'classification' },
      { format: 'csv', path: 'a.csv', label: ['y1', 3], task: 'regression' },
      { format: 'csv', path: 'a.csv', label: 0 },
      { format: 'idx', images: 'i.gz', labels: 'l.gz', testImages: 'ti.gz', testLabels: 'tl.gz' },
      { format: 'fashion-mnist' },
    ];
    for (const src of ok) expect(validateDataSource(JSON.parse(JSON.stringify(src)))).toEqual(src);
  });

  const cases: [string, unknown, string][] = [
    ['not an object', 'iris', 'data: expected an object, got "iris"'],
    [
      'unknown key',
      { format: 'csv', path: 'a.csv', lable: 'y' },
      'data: unknown key "lable" (allowed: format, path, test, label, task)',
    ],
    [
      'label of the wrong type',
      { format: 'csv', path: 'a.csv', label: true },
      'data.label: expected a column name or index, got true',
    ],
    [
      'negative label index',
      { format: 'csv', path: 'a.csv', label: -1 },
      'data.label: expected a column name or index, got -1',
    ],
    [
      'bad entry in a label list',
      { format: 'csv', path: 'a.csv', label: ['y', 1.5], task: 'regression' },
      'data.label[1]: expected a column name or index, got 1.5',
    ],
    [
      'several labels for classification',
      { format: 'csv', path: 'a.csv', label: ['a', 'b'] },
      'data.label: classification takes one label column, got 2',
    ],
    [
      'bad task',
      { format: 'csv', path: 'a.csv', task: 'ranking' },
      'data.task: expected "classification" or "regression", got "ranking"',
    ],
    ['missing path', { format: 'csv' }, 'data.path: expected a non-empty string, got nothing'],
    [
      'bad format',
      { format: 'xls', path: 'a.xls' },
      'data.format: expected one of csv, idx, fashion-mnist (or a "builtin" key), got "xls"',
    ],
    ['unknown built-in', { builtin: 'cifar' }, 'data.builtin: expected one of xor, iris, sine, got "cifar"'],
    ['builtin with extra keys', { builtin: 'iris', path: 'x' }, 'data: unknown key "path" (allowed: builtin)'],
    ['idx missing labels', { format: 'idx', images: 'i' }, 'data.labels: expected a non-empty string, got nothing'],
    [
      'idx test half given',
      { format: 'idx', images: 'i', labels: 'l', testImages: 't' },
      'data: testImages and testLabels go together; got only testImages',
    ],
    ['fashion-mnist with a path', { format: 'fashion-mnist', path: 'x' }, 'data: unknown key "path" (allowed: format)'],
  ];
  it.each(cases)('rejects %s', (_, obj, message) => {
    expect(() => validateDataSource(obj)).toThrow(DataError);
    expect(() => validateDataSource(obj)).toThrow(message);
  });

  it('names the field it was given', () => {
    expect(() => validateDataSource({ format: 'csv', path: 3 }, 'job.data')).toThrow(
      'job.data.path: expected a non-empty string, got 3',
    );
  });
});

describe('loadData', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redgrad-source-'));
  writeFileSync(join(dir, 'train.csv'), 'a,b,label\n1,2,cat\n3,4,dog\n5,6,emu\n');
  writeFileSync(join(dir, 'test.csv'), 'a,b,label\n7,8,dog\n');
  writeFileSync(join(dir, 'other.csv'), 'a,c,label\n7,8,dog\n');
  writeFileSync(join(dir, 'unseen.csv'), 'a,b,label\n7,8,fox\n');

  it('loads a built-in set', async () => {
    const { train, test } = await loadData({ builtin: 'xor' }, dir);
    expect(train.n).toBe(4);
    expect(test).toBeUndefined();
  });

  it('reads a CSV test file with the training class order', async () => {
    const { train, test } = await loadData({ format: 'csv', path: 'train.csv', test: 'test.csv' }, dir);
    expect(train.classes).toEqual(['cat', 'dog', 'emu']);
    expect(test?.classes).toEqual(['cat', 'dog', 'emu']);
    expect([...test!.y]).toEqual([0, 1, 0]);
  });

  it('rejects a test file with other columns or unseen classes', async () => {
    await expect(loadData({ format: 'csv', path: 'train.csv', test: 'other.csv' }, dir)).rejects.toThrow(
      `${join(dir, 'other.csv')}: feature columns (a, c) differ from ${join(dir, 'train.csv')} (a, b)`,
    );
    await expect(loadData({ format: 'csv', path: 'train.csv', test: 'unseen.csv' }, dir)).rejects.toThrow(
      `${join(dir, 'unseen.csv')} line 2: unknown class "fox"`,
    );
  });

  it('validates the source first', async () => {
    await expect(
      loadData({ format: 'csv', path: 'train.csv', lable: 'x' } as unknown as DataSource, dir),
    ).rejects.toThrow('data: unknown key "lable"');
  });

  it('reads IDX files relative to the base folder', async () => {
    const header = (magic: number, dims: number[]) => {
      const b = Buffer.alloc(4 + 4 * dims.length);
      b.writeUInt32BE(magic, 0);
      dims.forEach((d, i) => {
        b.writeUInt32BE(d, 4 + 4 * i);
      });
      return b;
    };
    writeFileSync(
      join(dir, 'img.gz'),
      gzipSync(Buffer.concat([header(IDX_IMAGES_MAGIC, [2, 1, 2]), Buffer.from([0, 255, 255, 0])])),
    );
    writeFileSync(join(dir, 'lab'), Buffer.concat([header(IDX_LABELS_MAGIC, [2]), Buffer.from([3, 4])]));
    const { train, test } = await loadData(
      { format: 'idx', images: 'img.gz', labels: 'lab', testImages: 'img.gz', testLabels: 'lab' },
      dir,
    );
    expect([...train.x]).toEqual([0, 1, 1, 0]);
    expect(test?.n).toBe(2);
    expect(train.y[3]).toBe(1);
    expect(train.y[10 + 4]).toBe(1);
  });
});

describe('datasetHash', () => {
  const text = 'a,b,label\n1,2,cat\n3,4,dog\n';
  it('depends on content, not on the name', () => {
    const a = parseCsv(text, { source: 'a.csv', name: 'a' });
    const b = parseCsv(text.replace('a,b', 'p,q'), { source: 'b.csv', name: 'b' });
    expect(datasetHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(datasetHash(b)).toBe(datasetHash(a));
  });

  it('changes with any value, the class names, or the task', async () => {
    const base = datasetHash(parseCsv(text, { source: 't' }));
    expect(datasetHash(parseCsv(text.replace('3,4', '3,5'), { source: 't' }))).not.toBe(base);
    expect(datasetHash(parseCsv(text.replace('dog', 'dingo'), { source: 't' }))).not.toBe(base);
    expect(datasetHash(parseCsv(text, { source: 't', classes: ['cat', 'dog', 'emu'] }))).not.toBe(base);
    const numeric = 'a,b,y\n1,2,0\n3,4,1\n';
    expect(datasetHash(parseCsv(numeric, { source: 't', task: 'regression' }))).not.toBe(
      datasetHash(parseCsv(numeric, { source: 't' })),
    );
  });

  it('is stable for the built-in iris', async () => {
    expect(datasetHash(await builtin('iris'))).toBe('25b83175656a1e08c27c01a975788d69c6f0730f3235037938675296f604c5cf');
  });
});
