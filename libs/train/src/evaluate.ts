import type { Network } from '@redgrad/nn';
import { classIndex, sampleLoss } from '@redgrad/nn';
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
  const confusion = classification
    ? Array.from({ length: classes }, () => new Array<number>(classes).fill(0))
    : undefined;
  let loss = 0,
    sse = 0;
  const mean = new Float64Array(o); // regression targets' means, for R²
  if (!classification) for (let i = 0; i < ds.n * o; i++) mean[i % o] += ds.y[i] / ds.n;
  let sst = 0;
  for (let start = 0; start < ds.n; start += net.maxRows) {
    const count = Math.min(net.maxRows, ds.n - start);
    const y = net.forward(ds.x, start, count);
    for (let r = 0; r < count; r++) {
      const to = (start + r) * o,
        yo = r * o; // row offsets into ds.y and the outputs
      loss += sampleLoss(net.arch.loss, y, ds.y, yo, to, o);
      if (confusion) confusion[classIndex(ds.y, to, o)][classIndex(y, yo, o)]++;
      else
        for (let j = 0; j < o; j++) {
          sse += (y[yo + j] - ds.y[to + j]) ** 2;
          sst += (ds.y[to + j] - mean[j]) ** 2;
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
