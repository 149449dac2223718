import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readInputText } from '@redgrad/errors';
import { TFJS_WEIGHTS_FILE, modelFromJson, modelToOnnx, modelToTfjs } from '@redgrad/train';
import type { Model } from '@redgrad/train';
import { CliError } from '../errors.js';

export const EXPORT_FORMATS = ['onnx', 'tfjs'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `redgrad export-model model.json --format onnx -o model.onnx` (or `--format tfjs -o dir/`). */
export async function exportModelCommand(
  modelPath: string,
  flags: { format: ExportFormat; out: string; json?: boolean },
): Promise<void> {
  const model = modelFromJson(await readInputText(modelPath), modelPath);
  const written = flags.format === 'onnx' ? await writeOnnx(model, flags.out) : await writeTfjs(model, flags.out);
  const layers = model.arch.layers;
  const summary = {
    format: flags.format,
    files: written,
    inputs: layers[0].inputs,
    outputs: layers[layers.length - 1].outputs,
    scaling: model.scaling?.method ?? 'none',
  };
  if (flags.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  const scaled =
    summary.scaling === 'none' ? 'no input scaling' : `input scaling (${summary.scaling}) built in: feed raw features`;
  process.stdout.write(
    `wrote ${written.join(', ')}: ${summary.inputs} inputs → ${summary.outputs} outputs, ${scaled}\n`,
  );
}

async function writeOnnx(model: Model, out: string): Promise<string[]> {
  if (await isDirectory(out))
    throw new CliError(`${out}: is a directory; --format onnx writes one file (e.g. -o model.onnx)`);
  await writeFile(out, modelToOnnx(model));
  return [out];
}

async function writeTfjs(model: Model, out: string): Promise<string[]> {
  if ((await exists(out)) && !(await isDirectory(out)))
    throw new CliError(`${out}: is a file; --format tfjs writes a directory (model.json and ${TFJS_WEIGHTS_FILE})`);
  const { modelJson, weights } = modelToTfjs(model);
  await mkdir(out, { recursive: true });
  const files = [join(out, 'model.json'), join(out, TFJS_WEIGHTS_FILE)];
  await writeFile(files[1], weights);
  await writeFile(files[0], modelJson);
  return files;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
