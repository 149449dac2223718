import protobuf from 'protobufjs';
import { layout } from '@redgrad/nn';
import type { Activation } from '@redgrad/nn';
import type { Model } from '../model-file.js';
import { ONNX_SCHEMA } from './onnx-schema.js';

/** ONNX IR 8 with the default-domain opset 13: onnxruntime has run both since 1.10 (2021). */
const IR_VERSION = 8;
const OPSET = 13;
const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

const ACTIVATION_OPS: Record<Activation, string | undefined> = {
  identity: undefined,
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  relu: 'Relu',
  softmax: 'Softmax', // opset 13: along the last axis, one row at a time like redgrad's
};

interface OnnxNode {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute?: { name: string; type: number; i: number }[];
}

interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  rawData: Uint8Array;
}

/**
 * The model as an ONNX graph: input "input" [batch, features] of raw (unscaled) features →
 * Sub(offset) → Mul(scale) → per layer Gemm(W, b, transB=1) and its activation → "output"
 * [batch, outputs]. Gemm with transB takes W as redgrad stores it, [outputs, inputs] row-major, so
 * the parameters are copied byte for byte. Classes, feature names and the task go in the model's
 * metadata_props as JSON.
 */
export function modelToOnnx(model: Model, producerVersion = '0.1.0'): Uint8Array {
  const { layers } = layout(model.arch);
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  let current = 'input';
  const features = layers[0].inputs;
  const scaling = model.scaling && model.scaling.method !== 'none' ? model.scaling : undefined;
  if (scaling) {
    initializers.push(tensor('scaling.offset', [features], Float32Array.from(scaling.offset)));
    initializers.push(tensor('scaling.scale', [features], Float32Array.from(scaling.scale)));
    nodes.push({ opType: 'Sub', name: 'scaling.sub', input: [current, 'scaling.offset'], output: ['scaling.centred'] });
    nodes.push({
      opType: 'Mul',
      name: 'scaling.mul',
      input: ['scaling.centred', 'scaling.scale'],
      output: ['scaling.out'],
    });
    current = 'scaling.out';
  }
  layers.forEach((l, i) => {
    const last = i === layers.length - 1;
    const activation = model.arch.layers[i].activation;
    const op = ACTIVATION_OPS[activation];
    const w = `layer${i}.W`,
      b = `layer${i}.b`,
      u = op || !last ? `layer${i}.u` : 'output';
    initializers.push(
      tensor(w, [l.outputs, l.inputs], model.params.subarray(l.wOffset, l.wOffset + l.outputs * l.inputs)),
    );
    initializers.push(tensor(b, [l.outputs], model.params.subarray(l.bOffset, l.bOffset + l.outputs)));
    nodes.push({
      opType: 'Gemm',
      name: `layer${i}.gemm`,
      input: [current, w, b],
      output: [u],
      attribute: [{ name: 'transB', type: ATTRIBUTE_INT, i: 1 }],
    });
    current = u;
    if (op) {
      const z = last ? 'output' : `layer${i}.z`;
      const attribute = activation === 'softmax' ? [{ name: 'axis', type: ATTRIBUTE_INT, i: 1 }] : undefined;
      nodes.push({
        opType: op,
        name: `layer${i}.${activation}`,
        input: [current],
        output: [z],
        ...(attribute ? { attribute } : {}),
      });
      current = z;
    }
  });
  const outputs = layers[layers.length - 1].outputs;
  const metadata: Record<string, unknown> = { task: model.task };
  if (model.classes) metadata.classes = model.classes;
  if (model.featureNames) metadata.featureNames = model.featureNames;
  const message = {
    irVersion: IR_VERSION,
    producerName: 'redgrad',
    producerVersion,
    opsetImport: [{ domain: '', version: OPSET }],
    docString: "Exported from a redgrad model file. Input: raw features; the model's input scaling is the first nodes.",
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
    graph: {
      name: 'redgrad-mlp',
      node: nodes,
      initializer: initializers,
      input: [
        valueInfo(
          'input',
          features,
          model.featureNames ? `features: ${model.featureNames.join(', ')}` : 'raw features',
        ),
      ],
      output: [valueInfo('output', outputs, outputDoc(model))],
    },
  };
  const ModelProto = onnxRoot().lookupType('onnx.ModelProto');
  const invalid = ModelProto.verify(message);
  if (invalid) throw new Error(`ONNX export built an invalid message: ${invalid}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

let root: protobuf.Root | undefined;

function onnxRoot(): protobuf.Root {
  root ??= protobuf.Root.fromJSON(ONNX_SCHEMA);
  return root;
}

/** Float32 raw_data is little-endian whatever the host (onnx.proto, TensorProto.raw_data). */
function tensor(name: string, dims: number[], values: Float32Array): OnnxTensor {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { name, dims, dataType: FLOAT, rawData: bytes };
}

function valueInfo(name: string, width: number, docString: string) {
  return {
    name,
    docString,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

function outputDoc(model: Model): string {
  if (model.task === 'regression') return 'predicted targets';
  if (model.classes && model.classes.length === 2 && model.arch.layers[model.arch.layers.length - 1].outputs === 1) {
    return `probability of class ${model.classes[1]} (else ${model.classes[0]})`;
  }
  return model.classes ? `class probabilities: ${model.classes.join(', ')}` : 'class probabilities';
}
