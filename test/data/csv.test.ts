import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, parseCsv, readCsv } from '@redgrad/data';
import { InputFileError } from '@redgrad/errors';

const parse = (text: string, opts: Parameters<typeof parseCsv>[1] = { source: 'toy.csv' }) => parseCsv(text, opts);

function errorOf(fn: () => unknown): DataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error('expected a DataError');
}

describe('parseCsv', () => {
  it('reads features and one-hot labels in sorted class order, last column by default', () => {
    const ds = parse('a,b,kind\n1,2,dog\n3.5,-4,cat\n0,1e2,dog\n');
    expect(ds).toMatchObject({
      task: 'classification',
      n: 3,
      features: 2,
      outputs: 2,
      classes: ['cat', 'dog'],
      featureNames: ['a', 'b'],
    });
    expect([...ds.x]).toEqual([1, 2, 3.5, -4, 0, 100]);
    expect([...ds.y]).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('sorts numeric class names numerically', () => {
    const ds = parse('x,y\n1,10\n2,9\n3,2\n4,10\n');
    expect(ds.classes).toEqual(['2', '9', '10']);
    expect([...ds.y]).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1]);
  });

  it('takes the label by name or index, the features being all other columns', () => {
    const byName = parse('kind,a,b\nx,1,2\ny,3,4\n', { source: 't.csv', label: 'kind' });
    const byIndex = parse('kind,a,b\nx,1,2\ny,3,4\n', { source: 't.csv', label: 0 });
    for (const ds of [byName, byIndex]) {
      expect(ds.featureNames).toEqual(['a', 'b']);
      expect([...ds.x]).toEqual([1, 2, 3, 4]);
      expect([...ds.y]).toEqual([1, 0, 0, 1]);
    }
  });

  it('uses a given class order and rejects a label outside it, naming the line', () => {
    const ds = parse('a,c\n1,b\n2,a\n', { source: 't.csv', classes: ['b', 'a', 'z'] });
    expect(ds.outputs).toBe(3);
    expect([...ds.y]).toEqual([1, 0, 0, 0, 1, 0]);
    expect(errorOf(() => parse('a,c\n1,b\n2,q\n', { source: 't.csv', classes: ['a', 'b'] })).message).toBe(
      't.csv line 3: unknown class "q" in column "c" (classes: a, b)',
    );
  });

  it('reads regression with several targets', () => {
    const ds = parse('u,v,w,z\n1,2,3,4\n5,6,7,8\n', { source: 'r.csv', task: 'regression', label: ['z', 1] });
    expect(ds).toMatchObject({
      task: 'regression',
      features: 2,
      outputs: 2,
      featureNames: ['u', 'w'],
      targetNames: ['z', 'v'],
    });
    expect(ds.classes).toBeUndefined();
    expect([...ds.x]).toEqual([1, 3, 5, 7]);
    expect([...ds.y]).toEqual([4, 2, 8, 6]);
  });

  it('handles quoted fields, CRLF, a BOM, blank lines and surrounding spaces', () => {
    const text = '\uFEFF"a", b ,label\r\n"1.5", 2 ,"x, ""quoted"""\r\n\r\n3,4,"multi\nline"\r\n\r\n\n';
    const ds = parse(text);
    expect(ds.featureNames).toEqual(['a', 'b']);
    expect([...ds.x]).toEqual([1.5, 2, 3, 4]);
    expect(ds.classes).toEqual(['multi\nline', 'x, "quoted"']);
  });

  it('counts lines across quoted newlines in error messages', () => {
    expect(errorOf(() => parse('a,b\n1,"x\ny"\n2\n')).message).toBe('toy.csv line 4: expected 2 cells, got 1');
  });

  it('stores values as float32', () => {
    expect(parse('a,b\n0.1,x\n').x[0]).toBe(Math.fround(0.1));
  });
});

describe('parseCsv errors', () => {
  const cases: [string, string, string][] = [
    ['ragged row', 'a,b,c\n1,2,x\n1,2\n', 'toy.csv line 3: expected 3 cells, got 2'],
    ['too many cells', 'a,b,c\n1,2,3,4\n', 'toy.csv line 2: expected 3 cells, got 4'],
    ['non-numeric cell', 'a,b,c\n1,2,x\n1,abc,x\n', 'toy.csv line 3: column "b" is not a number: "abc"'],
    ['hex is not decimal', 'a,b\n0x10,x\n', 'toy.csv line 2: column "a" is not a number: "0x10"'],
    ['empty cell', 'a,b,c\n1,,x\n', 'toy.csv line 2: column "b" is empty; expected a number'],
    ['NaN', 'a,b\nNaN,x\n', 'toy.csv line 2: column "a" is NaN; only finite numbers are allowed'],
    ['Inf', 'a,b\n1,x\n-inf,x\n', 'toy.csv line 3: column "a" is -inf; only finite numbers are allowed'],
    ['float32 overflow', 'a,b\n1e39,x\n', 'toy.csv line 2: column "a" value 1e39 overflows float32'],
    ['empty file', '', 'toy.csv: empty file'],
    ['only a BOM and blank lines', '\uFEFF\n\r\n  \n', 'toy.csv: empty file'],
    ['header only', 'a,b\n\n', 'toy.csv: no data rows after the header'],
    ['empty label', 'a,b\n1, \n', 'toy.csv line 2: empty label in column "b"'],
    ['unterminated quote', 'a,b\n1,"x\n2,y\n', 'toy.csv line 2: unterminated quoted field'],
    ['duplicate column', 'a,a,b\n1,2,x\n', 'toy.csv line 1: duplicate column name "a" (columns 0 and 1)'],
    ['only a label column', 'label\nx\n', 'toy.csv: no feature columns (columns: label)'],
  ];
  it.each(cases)('%s', (_, text, message) => {
    expect(errorOf(() => parse(text)).message).toBe(message);
  });

  it('names the columns when the label column is unknown', () => {
    expect(errorOf(() => parse('a,b,c\n1,2,x\n', { source: 'iris.csv', label: 'species' })).message).toBe(
      'iris.csv: unknown label column "species" (columns: 0:a, 1:b, 2:c)',
    );
    expect(errorOf(() => parse('a,b,c\n1,2,x\n', { source: 'iris.csv', label: 3 })).message).toMatch(
      /unknown label column index 3/,
    );
  });

  it('allows one label column only for classification', () => {
    expect(errorOf(() => parse('a,b,c\n1,2,3\n', { source: 't.csv', label: ['b', 'c'] })).message).toBe(
      't.csv: classification takes one label column, got 2',
    );
  });
});

describe('readCsv', () => {
  it('reads a file, names the set after it and puts the path in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redgrad-csv-'));
    const good = join(dir, 'good.csv');
    writeFileSync(good, 'a,b\n1,x\n2,y\n');
    const ds = await readCsv(good);
    expect(ds.name).toBe('good.csv');
    expect([...ds.x]).toEqual([1, 2]);

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,b\n1,x\n2\n');
    await expect(readCsv(bad)).rejects.toThrow(`${bad} line 3: expected 2 cells, got 1`);
    await expect(readCsv(join(dir, 'missing.csv'))).rejects.toThrow(InputFileError);
    await expect(readCsv(join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: cannot read \(ENOENT\)/);
  });
});
