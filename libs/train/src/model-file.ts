import { HOST_LITTLE_ENDIAN, RedgradError, describeValue } from '@redgrad/errors';
import { ACTIVATIONS, LOSSES, layout } from '@redgrad/nn';
import type { Activation, Architecture, LayerSpec, Loss } from '@redgrad/nn';
import { DataError, validateScaling } from '@redgrad/data';
import type { Scaling } from '@redgrad/data';

/**
 * The model file: plain JSON that other tools can write and read.
 *
 * {
 *   "format": "redgrad-model", "version": 1,
 *   "task": "classification" | "regression",
 *   "loss": "cross-entropy",
 *   "layers": [{ "inputs": 4, "outputs": 16, "activation": "tanh" }, …],
 *   "classes": ["setosa", …],                      // classification: name of each output unit
 *   "featureNames": ["sepal_length", …],           // optional
 *   "scaling": { "method": "standard", "offset": [...], "scale": [...] },   // x' = (x − offset)·scale
 *   "kernel": "js",                                // kernel that trained it (informative)
 *   "parameters": { "encoding": "base64-float32le", "length": 131, "data": "…" }
 *     or          { "encoding": "arrays", "layers": [{ "W": [[w_00, w_01, …], …] (rows = outputs), "b": [...] }] }
 *   "training": { … }                              // optional, informative: spec, steps, metrics
 * }
 * Parameters are float32: per layer W [outputs, inputs] row-major then b [outputs], layer after layer.
 */
export interface Model {
  task: 'classification' | 'regression';
  arch: Architecture;
  params: Float32Array;
  classes?: string[];
  featureNames?: string[];
  scaling?: Scaling;
  kernel?: string;
  training?: Record<string, unknown>;
}

export class ModelFileError extends RedgradError {
  override name = 'ModelFileError';

  constructor(message: string, options?: ErrorOptions) {
    super('user', 'bad-model-file', message, options);
  }
}

export function modelToJson(m: Model, encoding: 'base64' | 'arrays' = 'base64'): string {
  const { layers } = layout(m.arch);
  let parameters: unknown;
  if (encoding === 'base64') {
    const bytes = Buffer.from(m.params.buffer, m.params.byteOffset, m.params.byteLength);
    const le = HOST_LITTLE_ENDIAN ? bytes : swap32(bytes);
    parameters = { encoding: 'base64-float32le', length: m.params.length, data: le.toString('base64') };
  } else {
    parameters = {
      encoding: 'arrays',
      layers: layers.map((l) => ({
        W: Array.from({ length: l.outputs }, (_, j) =>
          Array.from(m.params.subarray(l.wOffset + j * l.inputs, l.wOffset + (j + 1) * l.inputs)),
        ),
        b: Array.from(m.params.subarray(l.bOffset, l.bOffset + l.outputs)),
      })),
    };
  }
  const file: Record<string, unknown> = {
    format: 'redgrad-model',
    version: 1,
    task: m.task,
    loss: m.arch.loss,
    layers: m.arch.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, activation: l.activation })),
  };
  if (m.classes) file.classes = m.classes;
  if (m.featureNames) file.featureNames = m.featureNames;
  if (m.scaling) file.scaling = m.scaling;
  if (m.kernel) file.kernel = m.kernel;
  file.parameters = parameters;
  if (m.training) file.training = m.training;
  return JSON.stringify(file, null, 1) + '\n';
}

/** Parses and validates a model file; `source` names it in errors. */
export function modelFromJson(text: string, source = 'model'): Model {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const f = obj(raw, source);
  if (f.format !== 'redgrad-model')
    throw new ModelFileError(`${source}: format must be "redgrad-model", got ${describeValue(f.format)}`);
  if (f.version !== 1)
    throw new ModelFileError(`${source}: version ${describeValue(f.version)} is not supported (expected 1)`);
  if (f.task !== 'classification' && f.task !== 'regression')
    throw new ModelFileError(`${source}.task: expected "classification" or "regression", got ${describeValue(f.task)}`);
  if (!LOSSES.includes(f.loss as Loss))
    throw new ModelFileError(`${source}.loss: expected one of ${LOSSES.join(', ')}, got ${describeValue(f.loss)}`);
  if (!Array.isArray(f.layers) || f.layers.length === 0)
    throw new ModelFileError(`${source}.layers: expected a non-empty array`);
  const layers: LayerSpec[] = f.layers.map((l: unknown, i: number) => {
    const o = obj(l, `${source}.layers[${i}]`);
    for (const k of ['inputs', 'outputs'] as const) {
      if (!Number.isInteger(o[k]) || (o[k] as number) < 1)
        throw new ModelFileError(
          `${source}.layers[${i}].${k}: expected a positive integer, got ${describeValue(o[k])}`,
        );
    }
    if (!ACTIVATIONS.includes(o.activation as Activation))
      throw new ModelFileError(
        `${source}.layers[${i}].activation: expected one of ${ACTIVATIONS.join(', ')}, got ${describeValue(o.activation)}`,
      );
    return { inputs: o.inputs as number, outputs: o.outputs as number, activation: o.activation as Activation };
  });
  const arch: Architecture = { layers, loss: f.loss as Loss };
  let lay;
  try {
    lay = layout(arch);
  } catch (e) {
    throw new ModelFileError(`${source}.layers: ${(e as Error).message}`);
  }
  const params = readParameters(f.parameters, lay.layers, lay.paramCount, `${source}.parameters`);
  const model: Model = { task: f.task, arch, params };
  const outputs = layers[layers.length - 1].outputs;
  if (f.classes !== undefined) {
    if (!Array.isArray(f.classes) || !f.classes.every((c) => typeof c === 'string'))
      throw new ModelFileError(`${source}.classes: expected an array of strings`);
    const expected = outputs === 1 ? 2 : outputs;
    if (f.classes.length !== expected)
      throw new ModelFileError(
        `${source}.classes: expected ${expected} names for ${outputs} output unit(s), got ${f.classes.length}`,
      );
    model.classes = f.classes as string[];
  }
  if (f.featureNames !== undefined) {
    if (!Array.isArray(f.featureNames) || f.featureNames.length !== layers[0].inputs)
      throw new ModelFileError(`${source}.featureNames: expected ${layers[0].inputs} names`);
    model.featureNames = f.featureNames.map(String);
  }
  if (f.scaling !== undefined) model.scaling = modelScaling(f.scaling, layers[0].inputs, `${source}.scaling`);
  if (f.kernel !== undefined) model.kernel = String(f.kernel);
  if (f.training !== undefined) model.training = obj(f.training, `${source}.training`);
  return model;
}

function readParameters(
  p: unknown,
  layers: ReturnType<typeof layout>['layers'],
  count: number,
  where: string,
): Float32Array {
  const o = obj(p, where);
  const params = new Float32Array(count);
  if (o.encoding === 'base64-float32le') {
    if (o.length !== count)
      throw new ModelFileError(`${where}.length: the layers need ${count} parameters, got ${describeValue(o.length)}`);
    if (typeof o.data !== 'string') throw new ModelFileError(`${where}.data: expected a base64 string`);
    const bytes = Buffer.from(o.data, 'base64');
    if (bytes.length !== count * 4)
      throw new ModelFileError(`${where}.data: expected ${count * 4} bytes, got ${bytes.length}`);
    const le = HOST_LITTLE_ENDIAN ? bytes : swap32(Buffer.from(bytes));
    new Uint8Array(params.buffer).set(le);
  } else if (o.encoding === 'arrays') {
    if (!Array.isArray(o.layers) || o.layers.length !== layers.length)
      throw new ModelFileError(`${where}.layers: expected ${layers.length} entries`);
    layers.forEach((l, i) => {
      const e = obj(o.layers && (o.layers as unknown[])[i], `${where}.layers[${i}]`);
      if (!Array.isArray(e.W) || e.W.length !== l.outputs)
        throw new ModelFileError(`${where}.layers[${i}].W: expected ${l.outputs} rows`);
      e.W.forEach((row: unknown, j: number) => {
        if (!Array.isArray(row) || row.length !== l.inputs)
          throw new ModelFileError(`${where}.layers[${i}].W[${j}]: expected ${l.inputs} numbers`);
        row.forEach((v: unknown, k: number) => {
          params[l.wOffset + j * l.inputs + k] = finite(v, `${where}.layers[${i}].W[${j}][${k}]`);
        });
      });
      if (!Array.isArray(e.b) || e.b.length !== l.outputs)
        throw new ModelFileError(`${where}.layers[${i}].b: expected ${l.outputs} numbers`);
      e.b.forEach((v: unknown, j: number) => {
        params[l.bOffset + j] = finite(v, `${where}.layers[${i}].b[${j}]`);
      });
    });
  } else {
    throw new ModelFileError(
      `${where}.encoding: expected "base64-float32le" or "arrays", got ${describeValue(o.encoding)}`,
    );
  }
  for (let i = 0; i < count; i++)
    if (!Number.isFinite(params[i])) throw new ModelFileError(`${where}: parameter ${i} is not finite`);
  return params;
}

/** The data library checks the scaling block; in a model file its faults are the file's. */
function modelScaling(v: unknown, features: number, where: string): Scaling {
  try {
    return validateScaling(v, features, where);
  } catch (e) {
    if (e instanceof DataError) throw new ModelFileError(e.message, { cause: e });
    throw e;
  }
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ModelFileError(`${where}: expected an object`);
  return v as Record<string, unknown>;
}

function finite(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ModelFileError(`${where}: expected a finite number, got ${describeValue(v)}`);
  return v;
}

function swap32(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c.swap32();
  return c;
}
