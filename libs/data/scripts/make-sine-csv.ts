/**
 * Writes builtin/sine.csv: a small deterministic regression set.
 * 400 rows of x1, x2 uniform in [-3, 3] and y = sin(x1) + 0.5·cos(2·x2) + N(0, 0.05²), seeded.
 * Usage: npx tsx libs/data/scripts/make-sine-csv.ts
 */
import { writeFileSync } from 'node:fs';
import { Rng } from '@redgrad/nn';

const ROWS = 400;
const NOISE = 0.05;
const rng = new Rng(20240601);
const lines = ['x1,x2,y'];
for (let i = 0; i < ROWS; i++) {
  const x1 = -3 + 6 * rng.next();
  const x2 = -3 + 6 * rng.next();
  const y = Math.sin(x1) + 0.5 * Math.cos(2 * x2) + NOISE * rng.gauss();
  lines.push([x1, x2, y].map((v) => v.toFixed(6)).join(','));
}
const out = new URL('../builtin/sine.csv', import.meta.url);
writeFileSync(out, lines.join('\n') + '\n');
console.log(`wrote ${ROWS} rows to ${out.pathname}`);
