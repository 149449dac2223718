import { gunzipSync } from 'node:zlib';
import { readInputBytes, readInputText } from '@redgrad/errors';
import { classIndex } from '@redgrad/nn';
import {
  DataError,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  parseFeatureCsv,
  parseIdx,
  readCsv,
  readIdx,
  scaleFeatures,
} from '@redgrad/data';
import type { Dataset } from '@redgrad/data';
import { dataForModel, evaluate, modelFromJson, networkFor } from '@redgrad/train';
import type { Model } from '@redgrad/train';
import { CliError } from '../errors.js';
import { fmt } from '../progress.js';
import { halfMseNote } from './train.js';

async function loadModel(path: string): Promise<Model> {
  return modelFromJson(await readInputText(path), path);
}

type InputKind = 'csv' | 'idx-images' | 'idx-labels';

/**
 * What a data file is, by its content rather than its name: IDX by its magic (inside gzip too),
 * CSV when it is text; any other binary file is refused by name.
 */
function inputKind(bytes: Uint8Array, path: string): InputKind {
  let head = bytes.subarray(0, 4096);
  const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) {
    try {
      head = gunzipSync(bytes).subarray(0, 4096);
    } catch (e) {
      throw new DataError(`${path}: gzip data is corrupt (${(e as Error).message})`);
    }
  }
  const magic = head.length >= 4 ? new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false) : -1;
  if (magic === IDX_IMAGES_MAGIC) return 'idx-images';
  if (magic === IDX_LABELS_MAGIC) return 'idx-labels';
  if (gzipped || head.includes(0)) {
    throw new CliError(
      `${path}: a binary file that is neither CSV nor IDX (MNIST images 0x00000803 / labels 0x00000801, raw or .gz)`,
    );
  }
  return 'csv';
}

/** Unscaled features [n, inputs] of a CSV (columns by the model's feature names) or an IDX images file. */
async function featuresOf(model: Model, dataPath: string): Promise<{ x: Float32Array; n: number }> {
  const inputs = model.arch.layers[0].inputs;
  const bytes = await readInputBytes(dataPath);
  const kind = inputKind(bytes, dataPath);
  if (kind === 'idx-labels') throw new CliError(`${dataPath}: is an IDX labels file; predict takes the images file`);
  if (kind === 'csv')
    return parseFeatureCsv(Buffer.from(bytes).toString('utf8'), {
      source: dataPath,
      features: inputs,
      featureNames: model.featureNames,
    });
  const images = parseIdx(bytes, dataPath, IDX_IMAGES_MAGIC);
  const [n, rows, cols] = images.dims;
  if (rows * cols !== inputs)
    throw new DataError(
      `${dataPath}: has ${rows}×${cols} = ${rows * cols} pixels per image, the model expects ${inputs}`,
    );
  const x = new Float32Array(n * inputs); // [n, rows*cols], pixels / 255 as in training
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] / 255;
  return { x, n };
}

/** `redgrad predict model.json data.csv` (or an IDX images file): one prediction per row, as CSV or JSON lines. */
export async function predictCommand(modelPath: string, dataPath: string, flags: { json?: boolean }): Promise<void> {
  const model = await loadModel(modelPath);
  const inputs = model.arch.layers[0].inputs;
  const outputs = model.arch.layers[model.arch.layers.length - 1].outputs;
  const { x, n } = await featuresOf(model, dataPath);
  const scaled = model.scaling ? scaleFeatures(x, n, inputs, model.scaling, dataPath) : x;
  const net = networkFor(model);
  const out: string[] = [];
  if (!flags.json)
    out.push(
      model.task === 'classification'
        ? ['prediction', ...(model.classes ?? []).map((c) => `p_${c}`)].join(',')
        : (model.classes ?? Array.from({ length: outputs }, (_, j) => `y${j}`)).join(','),
    );
  for (let start = 0; start < n; start += net.maxRows) {
    const count = Math.min(net.maxRows, n - start);
    const y = net.forward(scaled, start, count);
    for (let r = 0; r < count; r++) {
      const row = Array.from(y.subarray(r * outputs, (r + 1) * outputs));
      if (model.task === 'classification') {
        const k = classIndex(row);
        const label = model.classes ? model.classes[k] : String(k);
        out.push(
          flags.json
            ? JSON.stringify({ row: start + r + 1, prediction: label, probabilities: row })
            : [csvCell(label), ...row.map((v) => v.toPrecision(6))].join(','),
        );
      } else {
        out.push(
          flags.json
            ? JSON.stringify({ row: start + r + 1, prediction: row })
            : row.map((v) => v.toPrecision(7)).join(','),
        );
      }
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

/** `redgrad evaluate model.json data.csv` or `… images.idx --labels labels.idx`. */
export async function evaluateCommand(
  modelPath: string,
  dataPath: string,
  flags: { labels?: string; label?: string; json?: boolean },
): Promise<void> {
  const model = await loadModel(modelPath);
  let ds: Dataset;
  const kind = inputKind(await readInputBytes(dataPath), dataPath);
  if (kind === 'idx-labels')
    throw new CliError(`${dataPath}: is an IDX labels file; give the images file, and this one as --labels`);
  if (flags.labels || kind === 'idx-images') {
    if (!flags.labels) throw new CliError(`${dataPath}: an IDX image file needs its labels: --labels LABELS-FILE`);
    ds = await readIdx(dataPath, flags.labels, { classes: model.classes });
  } else {
    const label = flags.label === undefined ? undefined : /^\d+$/.test(flags.label) ? Number(flags.label) : flags.label;
    ds = await readCsv(dataPath, {
      task: model.task,
      label,
      classes: model.task === 'classification' ? model.classes : undefined,
    });
  }
  const ev = evaluate(networkFor(model), dataForModel(model, ds, dataPath));
  if (flags.json) {
    process.stdout.write(
      JSON.stringify({
        samples: ev.n,
        loss: ev.loss,
        accuracy: ev.accuracy,
        confusion: ev.confusion,
        mse: ev.mse,
        r2: ev.r2,
      }) + '\n',
    );
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
    lines.push(
      `MSE ${fmt(ev.mse, 6)}  R² ${fmt(ev.r2)}  (${halfMseNote(model.arch.layers[model.arch.layers.length - 1].outputs)})`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
