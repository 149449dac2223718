import type { Network } from '@redgrad/nn';
import { sampleLoss } from '@redgrad/nn';
import type { Dataset } from '@redgrad/data';

export interface Evaluation {
  n: number;
  loss: number; // mean per sample
  /** classification */
  accuracy?: number;
  /** classification: confusion[true][predicted] counts */
  confusion?: number[][];
  /** regression: mean squared error per target value, and R² (1 − SS_res/SS_tot, pooled over targets) */
  mse?: number;
  r2?: number;
}

/** Runs `net` (with its current params) over all of `ds` in chunks of net.maxRows. */
export function evaluate(net: Network, ds: Dataset): Evaluation {
  const o = ds.outputs;
  const classification = ds.task === 'classification';
  const classes = o === 1 ? 2 : o;
  const confusion = classification ? Array.from({ length: classes }, () => new Array<number>(classes).fill(0)) : undefined;
  let loss = 0, sse = 0;
  const mean = new Float64Array(o);
  for (let i = 0; i < ds.n * o; i++) mean[i % o] += ds.y[i] / ds.n;
  let sst = 0;
  for (let start = 0; start < ds.n; start += net.maxRows) {
    const count = Math.min(net.maxRows, ds.n - start);
    const y = net.forward(ds.x, start, count);
    for (let r = 0; r < count; r++) {
      const t = ds.y.subarray((start + r) * o, (start + r + 1) * o);
      const p = y.subarray(r * o, (r + 1) * o);
      loss += sampleLoss(net.arch.loss, p, t);
      if (confusion) confusion[argmax(t)][argmax(p)]++;
      else for (let j = 0; j < o; j++) {
        sse += (p[j] - t[j]) ** 2;
        sst += (t[j] - mean[j]) ** 2;
      }
    }
  }
  const ev: Evaluation = { n: ds.n, loss: ds.n ? loss / ds.n : NaN };
  if (confusion) {
    ev.confusion = confusion;
    ev.accuracy = ds.n ? confusion.reduce((s, row, i) => s + row[i], 0) / ds.n : NaN;
  } else {
    ev.mse = ds.n ? sse / (ds.n * o) : NaN;
    ev.r2 = sst > 0 ? 1 - sse / sst : NaN;
  }
  return ev;
}

/** Class index of a prediction or one-hot row; one output unit means a 0.5 threshold. */
export function argmax(row: ArrayLike<number>): number {
  if (row.length === 1) return row[0] >= 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}
