import { readInputText } from '@redgrad/errors';
import { classIndex } from '@redgrad/nn';
import { parseFeatureCsv, readCsv, readIdx, scaleFeatures } from '@redgrad/data';
import type { Dataset } from '@redgrad/data';
import { dataForModel, evaluate, modelFromJson, networkFor } from '@redgrad/train';
import type { Model } from '@redgrad/train';
import { CliError } from '../errors.js';
import { fmt } from '../progress.js';
import { halfMseNote } from './train.js';

async function loadModel(path: string): Promise<Model> {
  return modelFromJson(await readInputText(path), path);
}

/** `redgrad predict model.json data.csv`: one prediction per row, as CSV or JSON lines. */
export async function predictCommand(modelPath: string, dataPath: string, flags: { json?: boolean }): Promise<void> {
  const model = await loadModel(modelPath);
  const inputs = model.arch.layers[0].inputs;
  const outputs = model.arch.layers[model.arch.layers.length - 1].outputs;
  const { x, n } = parseFeatureCsv(await readInputText(dataPath), { source: dataPath, features: inputs, featureNames: model.featureNames });
  const scaled = model.scaling ? scaleFeatures(x, n, inputs, model.scaling, dataPath) : x;
  const net = networkFor(model);
  const out: string[] = [];
  if (!flags.json) out.push(model.task === 'classification' ? ['prediction', ...(model.classes ?? []).map((c) => `p_${c}`)].join(',') : (model.classes ?? Array.from({ length: outputs }, (_, j) => `y${j}`)).join(','));
  for (let start = 0; start < n; start += net.maxRows) {
    const count = Math.min(net.maxRows, n - start);
    const y = net.forward(scaled, start, count);
    for (let r = 0; r < count; r++) {
      const row = Array.from(y.subarray(r * outputs, (r + 1) * outputs));
      if (model.task === 'classification') {
        const k = classIndex(row);
        const label = model.classes ? model.classes[k] : String(k);
        out.push(flags.json ? JSON.stringify({ row: start + r + 1, prediction: label, probabilities: row }) : [csvCell(label), ...row.map((v) => v.toPrecision(6))].join(','));
      } else {
        out.push(flags.json ? JSON.stringify({ row: start + r + 1, prediction: row }) : row.map((v) => v.toPrecision(7)).join(','));
      }
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

/** `redgrad evaluate model.json data.csv` or `… images.idx --labels labels.idx`. */
export async function evaluateCommand(modelPath: string, dataPath: string, flags: { labels?: string; label?: string; json?: boolean }): Promise<void> {
  const model = await loadModel(modelPath);
  let ds: Dataset;
  if (flags.labels || /idx\d?-ubyte(\.gz)?$|\.idx(\.gz)?$/.test(dataPath)) {
    if (!flags.labels) throw new CliError(`${dataPath}: an IDX image file needs its labels: --labels LABELS-FILE`);
    ds = await readIdx(dataPath, flags.labels, { classes: model.classes });
  } else {
    const label = flags.label === undefined ? undefined : /^\d+$/.test(flags.label) ? Number(flags.label) : flags.label;
    ds = await readCsv(dataPath, { task: model.task, label, classes: model.task === 'classification' ? model.classes : undefined });
  }
  const ev = evaluate(networkFor(model), dataForModel(model, ds, dataPath));
  if (flags.json) {
    process.stdout.write(JSON.stringify({ samples: ev.n, loss: ev.loss, accuracy: ev.accuracy, confusion: ev.confusion, mse: ev.mse, r2: ev.r2 }) + '\n');
    return;
  }
  const lines = [`${dataPath}: ${ev.n} samples, loss ${fmt(ev.loss)}`];
  if (ev.accuracy !== undefined && ev.confusion) {
    lines.push(`accuracy ${fmt(ev.accuracy)}`, 'confusion (rows: true class, columns: predicted):');
    const names = model.classes ?? ev.confusion.map((_, i) => String(i));
    const w = Math.max(6, ...names.map((c) => c.length)) + 1;
    lines.push(''.padEnd(w) + names.map((c) => c.padStart(w)).join(''));
    ev.confusion.forEach((row, i) => {
      lines.push(names[i].padEnd(w) + row.map((v) => String(v).padStart(w)).join(''));
    });
  } else {
    lines.push(`MSE ${fmt(ev.mse, 6)}  R² ${fmt(ev.r2)}  (${halfMseNote(model.arch.layers[model.arch.layers.length - 1].outputs)})`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
