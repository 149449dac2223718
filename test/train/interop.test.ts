// The exporters checked by the runtimes that will load their files: onnxruntime-node runs the .onnx
// file, TensorFlow.js loads the layers model, and both must predict what redgrad predicts (1e-5) on
// each job's test set, fed raw features so that the exported input scaling is exercised too. Then
// the other direction: a tfjs model trained elsewhere is a warm start for `train --init`.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputFileError } from '@redgrad/errors';
import { loadData, scaleFeatures, splitTrainTest } from '@redgrad/data';
import {
  ModelFileError,
  SpecError,
  TFJS_SCALING_LAYER,
  modelToOnnx,
  modelToTfjs,
  networkFor,
  readInitWeights,
  trainLocal,
} from '@redgrad/train';
import type { Model } from '@redgrad/train';

const TOLERANCE = 1e-5;

// Together the jobs use every activation the exporters support and every scaling method.
const JOBS = {
  'iris, every hidden activation, standard scaling': {
    data: { builtin: 'iris' },
    scaling: 'standard',
    model: {
      hidden: [
        { size: 8, activation: 'identity' },
        { size: 8, activation: 'sigmoid' },
        { size: 8, activation: 'tanh' },
        { size: 8, activation: 'relu' },
      ],
      output: 'softmax',
    },
    optimizer: { type: 'adam', lr: 0.01 },
  },
  'sine regression, identity output, min-max scaling': {
    data: { builtin: 'sine' },
    scaling: 'minmax',
    model: { hidden: [{ size: 12, activation: 'tanh' }] },
    optimizer: { type: 'adam', lr: 0.01 },
  },
  'xor, one sigmoid output, no scaling': {
    data: { builtin: 'xor' },
    testSplit: 0,
    scaling: 'none',
    model: { hidden: [{ size: 6, activation: 'tanh' }], output: 'sigmoid' },
    loss: 'binary-cross-entropy',
    optimizer: { type: 'adam', lr: 0.05 },
  },
} as const;

interface Trained {
  model: Model;
  x: Float32Array; // [n, features], raw
  n: number;
  expected: Float32Array; // [n, outputs], redgrad's predictions
}

let dir: string;
const trained = new Map<string, Trained>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redgrad-interop-'));
  await tf.setBackend('cpu');
  for (const [name, job] of Object.entries(JOBS)) {
    const spec = { name: 'interop', epochs: 20, batchSize: 16, seed: 3, kernel: 'js', ...job };
    const specPath = join(dir, `${Object.keys(JOBS).indexOf(name)}.json`);
    await writeFile(specPath, JSON.stringify(spec));
    const { model } = await trainLocal(specPath);
    // the raw test set, split as prepareJob splits it; xor has none and is checked on its training set
    const loaded = await loadData(spec.data, dir);
    const testSplit = 'testSplit' in spec ? spec.testSplit : 0.2;
    const raw = testSplit > 0 ? splitTrainTest(loaded.train, testSplit, spec.seed).test : loaded.train;
    const features = model.arch.layers[0].inputs;
    const scaled = model.scaling ? scaleFeatures(raw.x, raw.n, features, model.scaling, 'test') : raw.x;
    const expected = networkFor(model, raw.n).forward(scaled, 0, raw.n).slice();
    trained.set(name, { model, x: raw.x, n: raw.n, expected });
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

async function loadTfjsFiles(modelDir: string): Promise<tf.LayersModel> {
  const file = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  const bytes = await readFile(join(modelDir, file.weightsManifest[0].paths[0]));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const weightSpecs = file.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: file.modelTopology, weightSpecs, weightData }));
}

describe.each(Object.keys(JOBS))('export of %s', (name) => {
  it("runs in onnxruntime with redgrad's predictions", async () => {
    const { model, x, n, expected } = trained.get(name)!;
    const path = join(dir, `${Object.keys(JOBS).indexOf(name)}.onnx`);
    await writeFile(path, modelToOnnx(model));
    const session = await ort.InferenceSession.create(path);
    try {
      const input = new ort.Tensor('float32', x, [n, model.arch.layers[0].inputs]);
      const { output } = await session.run({ input });
      expect(output.dims).toEqual([n, model.arch.layers[model.arch.layers.length - 1].outputs]);
      expect(maxDifference(output.data as Float32Array, expected)).toBeLessThan(TOLERANCE);
    } finally {
      await session.release();
    }
  });

  it("loads in TensorFlow.js with redgrad's predictions", async () => {
    const { model, x, n, expected } = trained.get(name)!;
    const modelDir = join(dir, `tfjs-${Object.keys(JOBS).indexOf(name)}`);
    const { modelJson, weights } = modelToTfjs(model);
    await mkdir(modelDir, { recursive: true });
    await writeFile(join(modelDir, 'model.json'), modelJson);
    await writeFile(join(modelDir, 'weights.bin'), weights);
    const loaded = await loadTfjsFiles(modelDir);
    const scalingLayers = model.scaling?.method === 'none' ? 0 : 1;
    expect(loaded.layers.length).toBe(model.arch.layers.length + scalingLayers);
    const y = tf.tidy(() => (loaded.predict(tf.tensor2d(x, [n, model.arch.layers[0].inputs])) as tf.Tensor).dataSync());
    expect(maxDifference(y, expected)).toBeLessThan(TOLERANCE);
    loaded.dispose();

    // and back: --init reads the export's weights bit for bit, skipping the scaling layer
    const back = await readInitWeights(modelDir);
    expect(back.layers).toEqual(model.arch.layers);
    expect(Array.from(back.params)).toEqual(Array.from(model.params));
  });
});

describe('a TensorFlow.js model as --init', () => {
  let modelDir: string;
  let reference: tf.Sequential;

  beforeAll(async () => {
    // a model built and saved by tfjs itself, as one trained elsewhere would be
    reference = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [4],
          units: 5,
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
          biasInitializer: tf.initializers.randomNormal({ seed: 2 }),
        }),
        tf.layers.dense({
          units: 3,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
        }),
      ],
    });
    modelDir = join(dir, 'from-tfjs');
    await mkdir(modelDir, { recursive: true });
    await reference.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const file = {
          format: 'layers-model',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
        };
        await writeFile(join(modelDir, 'model.json'), JSON.stringify(file));
        await writeFile(join(modelDir, 'group1-shard1of1.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  });

  it("gives the Dense layers in redgrad's layout: same predictions as tfjs", async () => {
    const init = await readInitWeights(join(modelDir, 'model.json'));
    expect(init.format).toBe('tfjs');
    expect(init.layers).toEqual([
      { inputs: 4, outputs: 5, activation: 'relu' },
      { inputs: 5, outputs: 3, activation: 'softmax' },
    ]);
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 0.7) * 2);
    const net = networkFor(
      { task: 'classification', arch: { layers: init.layers, loss: 'cross-entropy' }, params: init.params },
      10,
    );
    const ours = net.forward(x, 0, 10);
    const theirs = tf.tidy(() => (reference.predict(tf.tensor2d(x, [10, 4])) as tf.Tensor).dataSync());
    expect(maxDifference(ours, theirs)).toBeLessThan(TOLERANCE);
  });

  it('warm-starts train --local when the layers match, and names the mismatch when not', async () => {
    const spec = {
      name: 'warm',
      data: { builtin: 'iris' },
      model: { hidden: [{ size: 5, activation: 'relu' }] },
      epochs: 1,
      kernel: 'js',
    };
    const specPath = join(dir, 'warm.json');
    await writeFile(specPath, JSON.stringify(spec));
    const run = await trainLocal(specPath, { init: modelDir });
    expect(run.result.steps).toBeGreaterThan(0);
    await writeFile(specPath, JSON.stringify({ ...spec, model: { hidden: [6] } }));
    await expect(trainLocal(specPath, { init: modelDir })).rejects.toThrow(SpecError);
    await expect(trainLocal(specPath, { init: modelDir })).rejects.toThrow(
      /4-5 relu, 5-3 softmax do not match the job's 4-6 tanh/,
    );
  });
});

describe('a tfjs model.json --init rejects', () => {
  const base = () => ({
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Dense', config: { name: 'd', units: 2, activation: 'tanh', batch_input_shape: [null, 3] } },
        ],
      },
    },
    weightsManifest: [
      {
        paths: ['w.bin'],
        weights: [
          { name: 'd/kernel', shape: [3, 2], dtype: 'float32' },
          { name: 'd/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  });

  // biome-ignore lint/suspicious/noExplicitAny: the edits break the file's shape on purpose
  async function initFrom(edit: (f: any) => void, weightBytes = 32): Promise<unknown> {
    const d = await mkdtemp(join(dir, 'bad-'));
    const f = base();
    edit(f);
    await writeFile(join(d, 'model.json'), JSON.stringify(f));
    await writeFile(join(d, 'w.bin'), new Uint8Array(weightBytes));
    return readInitWeights(d).then(
      () => undefined,
      (e) => e,
    );
  }

  it('reads a well-formed one', async () => {
    expect(await initFrom(() => {})).toBeUndefined();
  });

  it.each([
    [
      'a layer that is not Dense',
      (f: ReturnType<typeof base>) => {
        (f.modelTopology.config.layers[0] as { class_name: string }).class_name = 'Conv2D';
      },
      /model\.json\.modelTopology\.config\.layers\[0\]\.class_name: only Dense layers can be read, got "Conv2D"/,
    ],
    [
      'an activation redgrad lacks',
      (f: ReturnType<typeof base>) => {
        f.modelTopology.config.layers[0].config.activation = 'elu';
      },
      /layers\[0\]\.config\.activation: expected one of linear, sigmoid, tanh, relu, softmax, got "elu"/,
    ],
    [
      'a functional model',
      (f: ReturnType<typeof base>) => {
        f.modelTopology.class_name = 'Model';
      },
      /modelTopology\.class_name: only a Sequential model/,
    ],
    [
      'a non-float32 weight',
      (f: ReturnType<typeof base>) => {
        f.weightsManifest[0].weights[1].dtype = 'int32';
      },
      /weightsManifest\[0\]\.weights\[1\]\.dtype: only float32 weights can be read, got "int32"/,
    ],
    [
      'a kernel for other inputs',
      (f: ReturnType<typeof base>) => {
        f.weightsManifest[0].weights[0].shape = [2, 2];
      },
      /"d\/kernel"\.shape: expected \[3, 2\] after the layer before, got \[2,2\]/,
      24,
    ],
    [
      'a kernel for other units',
      (f: ReturnType<typeof base>) => {
        f.weightsManifest[0].weights[0].shape = [2, 3];
      },
      /"d\/kernel"\.shape: expected \[inputs, 2\], got \[2,3\]/,
    ],
    [
      'a missing bias',
      (f: ReturnType<typeof base>) => {
        f.weightsManifest[0].weights.pop();
      },
      /no weight "d\/bias"/,
      24,
    ],
    [
      'a graph model',
      (f: ReturnType<typeof base>) => {
        f.format = 'graph-model';
      },
      /model\.json\.format: expected "layers-model"/,
    ],
  ])('%s, naming the file and field', async (_, edit, message, bytes = 32) => {
    const e = await initFrom(edit, bytes);
    expect(e).toBeInstanceOf(ModelFileError);
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).toContain(join(dir, 'bad-'));
  });

  it('a weights file of the wrong length', async () => {
    const e = await initFrom(() => {}, 28);
    expect(e).toBeInstanceOf(ModelFileError);
    expect((e as Error).message).toMatch(
      /weightsManifest\[0\]\.weights\[1\] \("d\/bias"\): needs bytes 24–32 but w\.bin hold 28/,
    );
  });

  it('a missing weights file, naming it', async () => {
    const e = await initFrom((f) => {
      f.weightsManifest[0].paths = ['gone.bin'];
    });
    expect(e).toBeInstanceOf(InputFileError);
    expect((e as Error).message).toMatch(/gone\.bin: cannot read \(ENOENT\)/);
  });

  it('a JSON file that is neither format', async () => {
    const e = await initFrom((f) => {
      delete f.modelTopology;
    });
    expect((e as Error).message).toMatch(/neither a redgrad model file .* nor a TensorFlow\.js layers model/);
  });

  it('keeps the scaling layer name stable (exports and --init agree on it)', () => {
    expect(TFJS_SCALING_LAYER).toBe('redgrad_scaling');
  });
});
