import { basename } from 'node:path';
import { readInputText } from '@redgrad/errors';
import type { Dataset, Task } from './dataset.js';
import { DataError } from './dataset.js';

export type LabelSpec = string | number | (string | number)[];

export interface CsvOptions {
  /** Label column(s) by header name or 0-based index; default the last column. Regression may name several. */
  label?: LabelSpec;
  /** Default 'classification'. */
  task?: Task;
  /** Class order for the one-hot encoding; a label outside it is an error. Default: sorted unique labels. */
  classes?: string[];
  /** Data set name; default the file's base name. */
  name?: string;
}

interface CsvRecord {
  cells: string[];
  line: number; // 1-based physical line where the record starts
}

/** Reads a CSV file with a header row into a Dataset. Every problem in it is a DataError naming the file and line. */
export async function readCsv(path: string, opts: CsvOptions = {}): Promise<Dataset> {
  return parseCsv(await readInputText(path), { ...opts, source: path, name: opts.name ?? basename(path) });
}

/** Parses CSV text; `source` names the file in error messages. */
export function parseCsv(text: string, opts: CsvOptions & { source: string }): Dataset {
  const { source } = opts;
  const task = opts.task ?? 'classification';
  const records = splitRecords(text, source);
  if (records.length === 0) throw new DataError(`${source}: empty file`);
  const header = records[0].cells.map((c) => c.trim());
  const width = header.length;
  const seen = new Map<string, number>();
  header.forEach((h, j) => {
    if (h === '') throw new DataError(`${source} line ${records[0].line}: column ${j} has an empty name`);
    if (seen.has(h))
      throw new DataError(
        `${source} line ${records[0].line}: duplicate column name "${h}" (columns ${seen.get(h)} and ${j})`,
      );
    seen.set(h, j);
  });

  const labelCols = resolveLabels(opts.label, header, source);
  if (task === 'classification' && labelCols.length !== 1) {
    throw new DataError(`${source}: classification takes one label column, got ${labelCols.length}`);
  }
  const featureCols = header.map((_, j) => j).filter((j) => !labelCols.includes(j));
  if (featureCols.length === 0) throw new DataError(`${source}: no feature columns (columns: ${header.join(', ')})`);

  const rows = records.slice(1);
  if (rows.length === 0) throw new DataError(`${source}: no data rows after the header`);
  for (const r of rows) {
    if (r.cells.length !== width) {
      throw new DataError(`${source} line ${r.line}: expected ${width} cells, got ${r.cells.length}`);
    }
  }

  const n = rows.length;
  const features = featureCols.length;
  const x = new Float32Array(n * features); // [n, features]
  rows.forEach((r, i) => {
    featureCols.forEach((j, k) => {
      x[i * features + k] = parseNumber(r.cells[j], header[j], r.line, source);
    });
  });
  const featureNames = featureCols.map((j) => header[j]);
  const name = opts.name ?? source;

  if (task === 'regression') {
    const outputs = labelCols.length;
    const y = new Float32Array(n * outputs); // [n, outputs]
    rows.forEach((r, i) => {
      labelCols.forEach((j, k) => {
        y[i * outputs + k] = parseNumber(r.cells[j], header[j], r.line, source);
      });
    });
    return { name, task, n, features, outputs, x, y, featureNames, targetNames: labelCols.map((j) => header[j]) };
  }

  const lc = labelCols[0];
  const labels = rows.map((r) => r.cells[lc].trim());
  rows.forEach((r, i) => {
    if (labels[i] === '') throw new DataError(`${source} line ${r.line}: empty label in column "${header[lc]}"`);
  });
  const classes = opts.classes ?? sortedClasses(labels);
  const classIndex = new Map(classes.map((c, k) => [c, k]));
  const outputs = classes.length;
  const y = new Float32Array(n * outputs); // [n, classes] one-hot
  rows.forEach((r, i) => {
    const k = classIndex.get(labels[i]);
    if (k === undefined) {
      throw new DataError(
        `${source} line ${r.line}: unknown class "${labels[i]}" in column "${header[lc]}" (classes: ${classes.join(', ')})`,
      );
    }
    y[i * outputs + k] = 1;
  });
  return { name, task, n, features, outputs, x, y, classes: [...classes], featureNames };
}

/** Unique labels in a deterministic order: numeric when all are numbers, else by UTF-16 code units. */
function sortedClasses(labels: string[]): string[] {
  const unique = [...new Set(labels)];
  if (unique.every((s) => DECIMAL.test(s)))
    return unique.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function resolveLabels(label: LabelSpec | undefined, header: string[], source: string): number[] {
  const specs = label === undefined ? [header.length - 1] : Array.isArray(label) ? label : [label];
  if (specs.length === 0) throw new DataError(`${source}: label names no column`);
  const cols = specs.map((s) => {
    const j =
      typeof s === 'number' ? (Number.isInteger(s) && s >= 0 && s < header.length ? s : -1) : header.indexOf(s.trim());
    if (j < 0) {
      const what = typeof s === 'number' ? `index ${s}` : `"${s}"`;
      throw new DataError(
        `${source}: unknown label column ${what} (columns: ${header.map((h, i) => `${i}:${h}`).join(', ')})`,
      );
    }
    return j;
  });
  if (new Set(cols).size !== cols.length) throw new DataError(`${source}: label names the same column twice`);
  return cols;
}

// Plain decimal numbers only: Number() alone would accept '', ' ', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

function parseNumber(cell: string, column: string, line: number, source: string): number {
  const s = cell.trim();
  if (DECIMAL.test(s)) {
    const v = Math.fround(Number(s));
    if (Number.isFinite(v)) return v;
    throw new DataError(`${source} line ${line}: column "${column}" value ${s} overflows float32`);
  }
  if (NON_FINITE.test(s))
    throw new DataError(`${source} line ${line}: column "${column}" is ${s}; only finite numbers are allowed`);
  if (s === '') throw new DataError(`${source} line ${line}: column "${column}" is empty; expected a number`);
  throw new DataError(`${source} line ${line}: column "${column}" is not a number: ${JSON.stringify(cell)}`);
}

/**
 * RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines; CRLF or LF line ends;
 * a leading BOM is dropped; blank lines are skipped.
 */
function splitRecords(text: string, source: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const len = text.length;
  while (i < len) {
    const start = line;
    const cells: string[] = [];
    let cell = '';
    let quotedAny = false;
    for (;;) {
      if (i < len && text[i] === '"') {
        // a quote opens a field only at its start
        quotedAny = true;
        cell = '';
        i++;
        for (;;) {
          if (i >= len) throw new DataError(`${source} line ${start}: unterminated quoted field`);
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          cell += c;
          i++;
        }
        while (i < len && (text[i] === ' ' || text[i] === '\t')) i++;
        if (i < len && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          throw new DataError(`${source} line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote`);
        }
      }
      const plain = i;
      while (i < len && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++;
      cell += text.slice(plain, i);
      cells.push(cell);
      cell = '';
      if (i < len && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    const blank = !quotedAny && cells.length === 1 && cells[0].trim() === '';
    if (!blank) records.push({ cells, line: start });
  }
  return records;
}

/** Feature rows of an unlabelled CSV (for predictions): the columns `featureNames` when given and present, else every column. */
export function parseFeatureCsv(
  text: string,
  opts: { source: string; features: number; featureNames?: string[] },
): { x: Float32Array; n: number; header: string[] } {
  const { source, features } = opts;
  const records = splitRecords(text, source);
  if (records.length === 0) throw new DataError(`${source}: empty file`);
  const header = records[0].cells.map((c) => c.trim());
  const names = opts.featureNames;
  const cols = names?.every((f) => header.includes(f)) ? names.map((f) => header.indexOf(f)) : header.map((_, j) => j);
  if (cols.length !== features) {
    throw new DataError(
      `${source}: has ${header.length} columns (${header.join(', ')}); the model takes ${features} features${opts.featureNames ? ` (${opts.featureNames.join(', ')})` : ''}`,
    );
  }
  const rows = records.slice(1);
  if (rows.length === 0) throw new DataError(`${source}: no data rows after the header`);
  const x = new Float32Array(rows.length * features); // [n, features]
  rows.forEach((r, i) => {
    if (r.cells.length !== header.length)
      throw new DataError(`${source} line ${r.line}: expected ${header.length} cells, got ${r.cells.length}`);
    cols.forEach((c, j) => {
      x[i * features + j] = parseNumber(r.cells[c], header[c], r.line, source);
    });
  });
  return { x, n: rows.length, header };
}
