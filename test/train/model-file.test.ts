import { describe, expect, it } from 'vitest';
import { ModelFileError, modelFromJson, modelToJson } from '@redgrad/train';
import type { Model } from '@redgrad/train';

const model: Model = {
  task: 'classification',
  arch: {
    loss: 'cross-entropy',
    layers: [
      { inputs: 2, outputs: 3, activation: 'relu' },
      { inputs: 3, outputs: 2, activation: 'softmax' },
    ],
  },
  params: Float32Array.from({ length: 2 * 3 + 3 + 3 * 2 + 2 }, (_, i) => Math.fround(Math.sin(i + 1) / 3)),
  classes: ['no', 'yes'],
  featureNames: ['a', 'b'],
  scaling: { method: 'standard', offset: [1, 2], scale: [0.5, 0.25] },
  kernel: 'js',
};

// biome-ignore lint/suspicious/noExplicitAny: the edits break the file's shape on purpose
function mutate(edit: (file: any) => void): string {
  const f = JSON.parse(modelToJson(model));
  edit(f);
  return JSON.stringify(f);
}

describe('model file', () => {
  it('round-trips exactly in both encodings', () => {
    for (const enc of ['base64', 'arrays'] as const) {
      const back = modelFromJson(modelToJson(model, enc));
      expect(Array.from(back.params)).toEqual(Array.from(model.params));
      expect(back.arch).toEqual(model.arch);
      expect(back.scaling).toEqual(model.scaling);
      expect(back.classes).toEqual(['no', 'yes']);
    }
  });

  it('lays W out as [outputs][inputs] then b, layer after layer', () => {
    const file = JSON.parse(modelToJson(model, 'arrays'));
    expect(file.parameters.layers[0].W).toHaveLength(3);
    expect(file.parameters.layers[0].W[1][0]).toBe(model.params[2]); // row 1, column 0 of a [3, 2] W
    expect(file.parameters.layers[0].b[0]).toBe(model.params[6]);
  });

  it.each([
    ['{', /m\.json: not valid JSON/],
    [JSON.stringify({ format: 'other' }), /m\.json: format must be "redgrad-model"/],
    [
      modelToJson(model).replace('"relu"', '"swish"'),
      /m\.json\.layers\[0\]\.activation: expected one of identity, sigmoid, tanh, relu, softmax, got "swish"/,
    ],
    [
      modelToJson(model).replace('"length": 17', '"length": 16'),
      /m\.json\.parameters\.length: the layers need 17 parameters, got 16/,
    ],
    [
      modelToJson(model, 'arrays').replace(/"b": \[\n?\s*([-\d.e]+)/, '"b": [null'),
      /m\.json\.parameters\.layers\[0\]\.b\[0\]: expected a finite number, got null/,
    ],
    [
      mutate((f) => (f.layers[1].inputs = 4)),
      /m\.json\.layers: layer 1: inputs 4 do not match the previous layer's outputs 3/,
    ],
    [mutate((f) => (f.classes = ['only-one'])), /m\.json\.classes: expected 2 names for 2 output unit\(s\), got 1/],
    [mutate((f) => (f.scaling.scale = [1])), /m\.json\.scaling\.scale: expected 2 numbers/],
  ])('rejects a bad file with the field named (%#)', (text, message) => {
    expect(() => modelFromJson(text, 'm.json')).toThrow(ModelFileError);
    expect(() => modelFromJson(text, 'm.json')).toThrow(message);
  });
});
