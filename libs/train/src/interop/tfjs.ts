import { describeValue } from '@redgrad/errors';
import { layout } from '@redgrad/nn';
import type { Activation, LayerSpec } from '@redgrad/nn';
import { ModelFileError } from '../model-file.js';
import type { Model } from '../model-file.js';

/**
 * TensorFlow.js layers format (what `tf.loadLayersModel` reads and `model.save` writes): model.json
 * with a Keras Sequential topology and a weights manifest, plus weights.bin, little-endian float32
 * in manifest order. A Dense kernel is [inputs, outputs], the transpose of redgrad's W.
 */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

/**
 * The first layer of an export when the model scales its inputs: tfjs has no per-feature
 * normalisation layer it can load (its Rescaling takes one scalar scale and offset), so the scaling
 * x' = (x − offset)·scale is a frozen linear Dense layer with kernel diag(scale) and bias
 * −offset·scale. Keras and tfjs both load it; `--init` recognises it by this name and skips it.
 */
export const TFJS_SCALING_LAYER = 'redgrad_scaling';

const TFJS_ACTIVATIONS: Record<Activation, string> = {
  identity: 'linear',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  relu: 'relu',
  softmax: 'softmax',
};

export interface TfjsFiles {
  /** model.json's text */
  modelJson: string;
  /** weights.bin's bytes */
  weights: Uint8Array;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** The model as tfjs layers files; input scaling, if any, is the first (frozen) layer. */
export function modelToTfjs(model: Model, generatedBy = 'redgrad 0.1.0'): TfjsFiles {
  const { layers } = layout(model.arch);
  const features = layers[0].inputs;
  const topology: Record<string, unknown>[] = [];
  const specs: WeightSpec[] = [];
  const chunks: Float32Array[] = [];
  const dense = (
    name: string,
    units: number,
    activation: string,
    trainable: boolean,
    kernel: Float32Array,
    bias: Float32Array,
  ) => {
    const config: Record<string, unknown> = { name, units, activation, use_bias: true, trainable, dtype: 'float32' };
    if (topology.length === 0) config.batch_input_shape = [null, features];
    topology.push({ class_name: 'Dense', config });
    specs.push({ name: `${name}/kernel`, shape: [kernel.length / units, units], dtype: 'float32' });
    specs.push({ name: `${name}/bias`, shape: [units], dtype: 'float32' });
    chunks.push(kernel, bias);
  };
  const scaling = model.scaling && model.scaling.method !== 'none' ? model.scaling : undefined;
  if (scaling) {
    const kernel = new Float32Array(features * features); // [inputs, outputs], diagonal
    const bias = new Float32Array(features); // [features]
    for (let j = 0; j < features; j++) {
      kernel[j * features + j] = scaling.scale[j];
      bias[j] = -scaling.offset[j] * scaling.scale[j];
    }
    dense(TFJS_SCALING_LAYER, features, 'linear', false, kernel, bias);
  }
  layers.forEach((l, i) => {
    const kernel = new Float32Array(l.inputs * l.outputs); // [inputs, outputs]: W transposed
    for (let o = 0; o < l.outputs; o++) {
      for (let k = 0; k < l.inputs; k++) kernel[k * l.outputs + o] = model.params[l.wOffset + o * l.inputs + k];
    }
    const bias = model.params.slice(l.bOffset, l.bOffset + l.outputs);
    dense(`dense_${i + 1}`, l.outputs, TFJS_ACTIVATIONS[model.arch.layers[i].activation], true, kernel, bias);
  });
  const metadata: Record<string, unknown> = { task: model.task };
  if (model.classes) metadata.classes = model.classes;
  if (model.featureNames) metadata.featureNames = model.featureNames;
  if (scaling) metadata.scaling = { ...scaling, layer: TFJS_SCALING_LAYER };
  const file = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'redgrad', layers: topology },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
    userDefinedMetadata: { redgrad: metadata },
  };
  return { modelJson: JSON.stringify(file, null, 1) + '\n', weights: littleEndian(chunks) };
}

function littleEndian(chunks: Float32Array[]): Uint8Array {
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const bytes = new Uint8Array(total * 4);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i++, at += 4) view.setFloat32(at, c[i], true);
  }
  return bytes;
}

/** What a tfjs layers model gives a warm start: its Dense layers in redgrad's flat layout. */
export interface TfjsWeights {
  layers: LayerSpec[];
  /** per layer W [outputs, inputs] row-major, then b [outputs] */
  params: Float32Array;
}

/** How `--init` reads a tfjs model.json: the manifest's files by their relative paths. */
export type WeightFileReader = (path: string) => Promise<Uint8Array>;

/**
 * Reads a tfjs layers model of Dense layers (an optional InputLayer, and a leading redgrad scaling
 * layer, are skipped) into redgrad's parameter layout. `source` names model.json in errors.
 */
export async function tfjsToWeights(
  modelJsonText: string,
  readWeightFile: WeightFileReader,
  source = 'model.json',
): Promise<TfjsWeights> {
  let raw: unknown;
  try {
    raw = JSON.parse(modelJsonText);
  } catch (e) {
    throw new ModelFileError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  const file = obj(raw, source);
  if (file.format !== undefined && file.format !== 'layers-model') {
    throw new ModelFileError(
      `${source}.format: expected "layers-model" (a tfjs graph model has no layers to read), got ${describeValue(file.format)}`,
    );
  }
  const dense = denseLayers(file.modelTopology, `${source}.modelTopology`);
  const weights = await manifestWeights(file.weightsManifest, readWeightFile, `${source}.weightsManifest`);
  const layers: LayerSpec[] = [];
  const blocks: { kernel: Float32Array; bias: Float32Array | undefined; inputs: number; outputs: number }[] = [];
  let inputs = dense.inputs;
  dense.layers.forEach((d, i) => {
    const where = `${source}.modelTopology layer ${describeValue(d.name)}`;
    const kernel = weights.get(`${d.name}/kernel`);
    if (!kernel) throw new ModelFileError(`${source}.weightsManifest: no weight "${d.name}/kernel" for ${where}`);
    if (kernel.shape.length !== 2 || kernel.shape[1] !== d.units) {
      throw new ModelFileError(
        `${source}.weightsManifest "${d.name}/kernel".shape: expected [inputs, ${d.units}], got ${JSON.stringify(kernel.shape)}`,
      );
    }
    if (inputs !== undefined && kernel.shape[0] !== inputs) {
      throw new ModelFileError(
        `${source}.weightsManifest "${d.name}/kernel".shape: expected [${inputs}, ${d.units}] after the layer before, got ${JSON.stringify(kernel.shape)}`,
      );
    }
    const layerInputs = kernel.shape[0];
    let bias: Float32Array | undefined;
    if (d.useBias) {
      const b = weights.get(`${d.name}/bias`);
      if (!b) throw new ModelFileError(`${source}.weightsManifest: no weight "${d.name}/bias" for ${where}`);
      if (b.shape.length !== 1 || b.shape[0] !== d.units) {
        throw new ModelFileError(
          `${source}.weightsManifest "${d.name}/bias".shape: expected [${d.units}], got ${JSON.stringify(b.shape)}`,
        );
      }
      bias = b.values;
    }
    inputs = d.units;
    if (i === 0 && d.name === TFJS_SCALING_LAYER && d.activation === 'identity') return; // the export's input scaling
    layers.push({ inputs: layerInputs, outputs: d.units, activation: d.activation });
    blocks.push({ kernel: kernel.values, bias, inputs: layerInputs, outputs: d.units });
  });
  if (layers.length === 0) throw new ModelFileError(`${source}.modelTopology: has no Dense layers to start from`);
  const params = new Float32Array(blocks.reduce((s, b) => s + b.outputs * (b.inputs + 1), 0));
  let at = 0;
  for (const b of blocks) {
    for (let o = 0; o < b.outputs; o++) {
      for (let k = 0; k < b.inputs; k++) params[at + o * b.inputs + k] = b.kernel[k * b.outputs + o];
    }
    at += b.outputs * b.inputs;
    if (b.bias) params.set(b.bias, at);
    at += b.outputs;
  }
  for (let i = 0; i < params.length; i++) {
    if (!Number.isFinite(params[i]))
      throw new ModelFileError(`${source}: parameter ${i} (in redgrad's layout) is not finite`);
  }
  return { layers, params };
}

interface DenseConfig {
  name: string;
  units: number;
  activation: Activation;
  useBias: boolean;
}

function denseLayers(topology: unknown, where: string): { layers: DenseConfig[]; inputs: number | undefined } {
  const t = obj(topology, where);
  if (t.class_name !== 'Sequential') {
    throw new ModelFileError(
      `${where}.class_name: only a Sequential model of Dense layers can be read, got ${describeValue(t.class_name)}`,
    );
  }
  const config = t.config;
  // Keras ≥ 2.2 and tfjs nest the layer list in config; older Keras exports put it at config itself
  const list = Array.isArray(config) ? config : obj(config, `${where}.config`).layers;
  if (!Array.isArray(list)) throw new ModelFileError(`${where}.config.layers: expected an array`);
  let inputs: number | undefined;
  const layers: DenseConfig[] = [];
  list.forEach((entry: unknown, i: number) => {
    const at = `${where}.config.layers[${i}]`;
    const l = obj(entry, at);
    const c = obj(l.config, `${at}.config`);
    if (i === 0) inputs = inputWidth(c, at);
    if (l.class_name === 'InputLayer') return;
    if (l.class_name !== 'Dense')
      throw new ModelFileError(`${at}.class_name: only Dense layers can be read, got ${describeValue(l.class_name)}`);
    if (typeof c.name !== 'string' || c.name === '')
      throw new ModelFileError(`${at}.config.name: expected a non-empty string, got ${describeValue(c.name)}`);
    if (!Number.isInteger(c.units) || (c.units as number) < 1)
      throw new ModelFileError(`${at}.config.units: expected a positive integer, got ${describeValue(c.units)}`);
    const activation = c.activation ?? 'linear';
    const redgrad = (Object.keys(TFJS_ACTIVATIONS) as Activation[]).find((a) => TFJS_ACTIVATIONS[a] === activation);
    if (!redgrad) {
      throw new ModelFileError(
        `${at}.config.activation: expected one of ${Object.values(TFJS_ACTIVATIONS).join(', ')}, got ${describeValue(activation)}`,
      );
    }
    if (c.use_bias !== undefined && typeof c.use_bias !== 'boolean')
      throw new ModelFileError(`${at}.config.use_bias: expected true or false, got ${describeValue(c.use_bias)}`);
    layers.push({ name: c.name, units: c.units as number, activation: redgrad, useBias: c.use_bias !== false });
  });
  return { layers, inputs };
}

/** The input width a first layer declares (batch_input_shape [null, n]), if it declares one. */
function inputWidth(c: Record<string, unknown>, where: string): number | undefined {
  const shape = c.batch_input_shape ?? c.batch_shape;
  if (shape === undefined) return undefined;
  if (!Array.isArray(shape) || shape.length !== 2 || !Number.isInteger(shape[1]) || shape[1] < 1) {
    throw new ModelFileError(
      `${where}.config.batch_input_shape: expected [null, features], got ${describeValue(shape)}`,
    );
  }
  return shape[1];
}

async function manifestWeights(
  manifest: unknown,
  read: WeightFileReader,
  where: string,
): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  if (!Array.isArray(manifest) || manifest.length === 0)
    throw new ModelFileError(`${where}: expected a non-empty array of weight groups`);
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [g, entry] of manifest.entries()) {
    const at = `${where}[${g}]`;
    const group = obj(entry, at);
    if (
      !Array.isArray(group.paths) ||
      group.paths.length === 0 ||
      !group.paths.every((p) => typeof p === 'string' && p !== '')
    ) {
      throw new ModelFileError(`${at}.paths: expected a non-empty array of file names`);
    }
    if (!Array.isArray(group.weights)) throw new ModelFileError(`${at}.weights: expected an array`);
    // a group's files are shards of one byte stream (tfjs splits it at 4 MB by default)
    const parts: Uint8Array[] = [];
    for (const p of group.paths as string[]) parts.push(await read(p));
    const bytes = Buffer.concat(parts);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const [k, spec] of group.weights.entries()) {
      const w = obj(spec, `${at}.weights[${k}]`);
      if (typeof w.name !== 'string')
        throw new ModelFileError(`${at}.weights[${k}].name: expected a string, got ${describeValue(w.name)}`);
      if (w.dtype !== 'float32')
        throw new ModelFileError(
          `${at}.weights[${k}].dtype: only float32 weights can be read, got ${describeValue(w.dtype)}`,
        );
      if (w.quantization !== undefined)
        throw new ModelFileError(`${at}.weights[${k}].quantization: quantized weights cannot be read`);
      if (!Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 1)) {
        throw new ModelFileError(
          `${at}.weights[${k}].shape: expected an array of positive integers, got ${describeValue(w.shape)}`,
        );
      }
      const shape = w.shape as number[];
      const count = shape.reduce((a, b) => a * b, 1);
      if (offset + count * 4 > bytes.length) {
        throw new ModelFileError(
          `${at}.weights[${k}] ("${w.name}"): needs bytes ${offset}–${offset + count * 4} but ${(group.paths as string[]).join(' + ')} hold ${bytes.length}`,
        );
      }
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + i * 4, true);
      offset += count * 4;
      weights.set(w.name, { shape, values });
    }
    if (offset !== bytes.length) {
      throw new ModelFileError(
        `${at}: the weights take ${offset} bytes but ${(group.paths as string[]).join(' + ')} hold ${bytes.length}`,
      );
    }
  }
  return weights;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ModelFileError(`${where}: expected an object, got ${describeValue(v)}`);
  return v as Record<string, unknown>;
}
