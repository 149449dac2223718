import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../apps/cli/bin/redgrad.js', import.meta.url).pathname;
const EXAMPLES = new URL('../../examples/', import.meta.url).pathname;

async function redgrad(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redgrad-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the redgrad bin', () => {
  it('is linked by npm ci so `npx redgrad` works from the repo root, with --help everywhere', async () => {
    const bin = new URL('../../node_modules/.bin/redgrad', import.meta.url).pathname;
    const { stdout } = await run(bin, ['--help']);
    for (const cmd of [
      'train',
      'predict',
      'evaluate',
      'submit',
      'watch',
      'status',
      'list',
      'cancel',
      'export',
      'workers',
      'cluster',
    ])
      expect(stdout).toContain(cmd);
    expect((await run(bin, ['submit', '--help'])).stdout).toMatch(/--watch/);
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    const r = await redgrad('--version');
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('redgrad train --local', () => {
  it('trains iris to ≥ 0.95 test accuracy, and the same seed gives byte-identical model files', async () => {
    const a = await redgrad('train', '--local', join(EXAMPLES, 'iris.json'), '--json', '--out', join(dir, 'a.json'));
    const b = await redgrad('train', '--local', join(EXAMPLES, 'iris.json'), '--json', '--out', join(dir, 'b.json'));
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const summary = JSON.parse(a.stdout);
    expect(summary.testAccuracy).toBeGreaterThanOrEqual(0.95);
    for (const key of ['trainLoss', 'testLoss', 'testAccuracy', 'epochs', 'steps', 'samplesPerSecond'])
      expect(summary).toHaveProperty(key);
    expect(a.stdout.trim().split('\n')).toHaveLength(1);
    expect(Buffer.compare(await readFile(join(dir, 'a.json')), await readFile(join(dir, 'b.json')))).toBe(0);
  });

  it('gets all four XOR points right', async () => {
    const r = await redgrad('train', '--local', join(EXAMPLES, 'xor.json'), '--json', '--out', join(dir, 'xor.json'));
    expect(JSON.parse(r.stdout).trainAccuracy).toBe(1);
    await writeFile(join(dir, 'xor.csv'), 'x1,x2\n0,0\n0,1\n1,0\n1,1\n');
    const p = await redgrad('predict', join(dir, 'xor.json'), join(dir, 'xor.csv'));
    expect(
      p.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',')[0]),
    ).toEqual(['0', '1', '1', '0']);
  });

  it('reports R² on the regression example', async () => {
    const r = await redgrad('train', '--local', join(EXAMPLES, 'sine.json'), '--json');
    const summary = JSON.parse(r.stdout);
    expect(summary.testR2).toBeGreaterThan(0.95);
    // what the human output says next to both: with one output the squared-error loss is half the MSE
    expect(summary.testLoss).toBeCloseTo(summary.testMse / 2, 6);
  });

  it('evaluates a model file on labelled data and warm-starts from it', async () => {
    const cold = await redgrad(
      'train',
      '--local',
      join(EXAMPLES, 'iris.json'),
      '--out',
      join(dir, 'iris.json'),
      '--json',
    );
    expect(cold.code).toBe(0);
    const irisCsv = new URL('../../libs/data/builtin/iris.csv', import.meta.url).pathname;
    const ev = await redgrad('evaluate', join(dir, 'iris.json'), irisCsv, '--json');
    const e = JSON.parse(ev.stdout);
    expect(e.samples).toBe(150);
    expect(e.accuracy).toBeGreaterThan(0.95);
    expect(e.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(150);
    const warm = await redgrad(
      'train',
      '--local',
      join(EXAMPLES, 'iris.json'),
      '--init',
      join(dir, 'iris.json'),
      '--json',
      '--out',
      join(dir, 'warm.json'),
    );
    expect(warm.code).toBe(0);
    // --init was used: the same seed from the initial weights would give the cold model byte for
    // byte, and training on from the trained weights ends lower
    expect(Buffer.compare(await readFile(join(dir, 'warm.json')), await readFile(join(dir, 'iris.json')))).not.toBe(0);
    expect(JSON.parse(warm.stdout).trainLoss).toBeLessThan(JSON.parse(cold.stdout).trainLoss);
  });

  it('fails with a one-line reason and no stack trace on bad input', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ data: { builtin: 'iris' }, epochs: -1 }));
    const r = await redgrad('train', '--local', join(dir, 'bad.json'));
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(/^redgrad: .*bad\.json: spec\.epochs: expected an integer from 1 to \d+, got -1$/);
    await writeFile(join(dir, 'ragged.csv'), 'a,b,label\n1,2,x\n3,y\n');
    await writeFile(join(dir, 'ragged.json'), JSON.stringify({ data: { format: 'csv', path: 'ragged.csv' } }));
    const r2 = await redgrad('train', '--local', join(dir, 'ragged.json'));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/ragged\.csv line 3: expected 3 cells, got 2/);
    expect(r2.stderr).not.toMatch(/\n\s+at /);
    const r3 = await redgrad('predict', join(dir, 'missing.json'), join(dir, 'xor.csv'));
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/missing\.json: cannot read \(ENOENT\)/);
  });
});

describe('the CLI checks its option values', () => {
  it.each([
    [
      ['train', '--local', 'x.json', '--encoding', 'foo'],
      /argument 'foo' is invalid\. Allowed choices are base64, arrays/,
    ],
    [
      ['train', '--local', 'x.json', '--every', '0'],
      /--every <n>' argument '0' is invalid\. expected a whole number from 1/,
    ],
    [
      ['list', '-n', 'abc'],
      /--limit <n>' argument 'abc' is invalid\. expected a whole number from 1 to 10000, got "abc"/,
    ],
    [
      ['export-model', 'm.json', '--format', 'pmml', '-o', 'out'],
      /argument 'pmml' is invalid\. Allowed choices are onnx, tfjs/,
    ],
    [['export-model', 'm.json', '-o', 'out'], /required option '--format <format>' not specified/],
  ])('%j is a usage error (exit 1) before anything runs', async (args, message) => {
    const r = await redgrad(...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
  });
});

describe('train --local output', () => {
  it('prints an epoch line every --every epochs and the last, says "evaluating…" and that no model was written', async () => {
    await writeFile(
      join(dir, 'short-sine.json'),
      JSON.stringify({ data: { builtin: 'sine' }, model: { hidden: [8] }, epochs: 7, seed: 2 }),
    );
    const r = await redgrad('train', '--local', join(dir, 'short-sine.json'), '--every', '3');
    expect(r.code).toBe(0);
    const epochs = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('epoch'))
      .map((l) => Number(l.split(/\s+/)[1]));
    expect(epochs).toEqual([1, 3, 6, 7]);
    expect(r.stderr).toMatch(/evaluating the final weights…/);
    expect(r.stdout).toMatch(/no model written \(add --out model\.json to keep it\)\n$/);
    // testLoss next to the MSE comes with the reason they differ by a factor of 2
    expect(r.stdout).toMatch(
      /^test: loss [\d.]+, MSE [\d.]+, R² [-\d.]+ on 80 samples \(loss = MSE\/2: the squared-error loss is ½\(y − ŷ\)²\)$/m,
    );
    const withOut = await redgrad(
      'train',
      '--local',
      join(dir, 'short-sine.json'),
      '--out',
      join(dir, 'short-sine-model.json'),
    );
    expect(withOut.stdout).toMatch(/model written to .*short-sine-model\.json\n$/);
  });
});

describe('redgrad export-model', () => {
  it('writes an .onnx file and a tfjs directory from a model file', async () => {
    const trained = await redgrad(
      'train',
      '--local',
      join(EXAMPLES, 'iris.json'),
      '--out',
      join(dir, 'iris-export.json'),
      '--json',
    );
    expect(trained.code).toBe(0);
    const onnx = await redgrad(
      'export-model',
      join(dir, 'iris-export.json'),
      '--format',
      'onnx',
      '-o',
      join(dir, 'iris.onnx'),
    );
    expect(onnx.code).toBe(0);
    expect(onnx.stdout).toMatch(
      /iris\.onnx: 4 inputs → 3 outputs, input scaling \(standard\) built in: feed raw features/,
    );
    expect((await readFile(join(dir, 'iris.onnx'))).length).toBeGreaterThan(100);
    const tfjs = await redgrad(
      'export-model',
      join(dir, 'iris-export.json'),
      '--format',
      'tfjs',
      '-o',
      join(dir, 'iris-tfjs'),
      '--json',
    );
    expect(JSON.parse(tfjs.stdout)).toMatchObject({
      format: 'tfjs',
      files: [join(dir, 'iris-tfjs', 'model.json'), join(dir, 'iris-tfjs', 'weights.bin')],
    });
    // and the tfjs directory is a warm start
    const warm = await redgrad(
      'train',
      '--local',
      join(EXAMPLES, 'iris.json'),
      '--init',
      join(dir, 'iris-tfjs'),
      '--json',
    );
    expect(warm.code).toBe(0);
    const wrong = await redgrad(
      'export-model',
      join(dir, 'iris-export.json'),
      '--format',
      'onnx',
      '-o',
      join(dir, 'iris-tfjs'),
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/iris-tfjs: is a directory; --format onnx writes one file/);
  });
});

describe('predict and evaluate read IDX', () => {
  /** An IDX file: big-endian magic and dims, then unsigned bytes. */
  function idx(magic: number, dims: number[], data: number[]): Buffer {
    const header = Buffer.alloc(4 + 4 * dims.length);
    header.writeUInt32BE(magic, 0);
    for (const [i, d] of dims.entries()) header.writeUInt32BE(d, 4 + 4 * i);
    return Buffer.concat([header, Buffer.from(data)]);
  }

  it('predicts each image of an IDX images file (raw or .gz) and evaluates it with --labels; refuses other binaries', async () => {
    const model = join(dir, 'iris-for-idx.json');
    expect((await redgrad('train', '--local', join(EXAMPLES, 'iris.json'), '--out', model, '--json')).code).toBe(0);
    // three 2×2 "images" for the 4-input iris model
    await writeFile(
      join(dir, 'images-idx3-ubyte'),
      idx(0x803, [3, 2, 2], [10, 200, 30, 40, 50, 60, 70, 80, 255, 0, 128, 64]),
    );
    await writeFile(join(dir, 'images.gz'), gzipSync(await readFile(join(dir, 'images-idx3-ubyte'))));
    await writeFile(join(dir, 'labels-idx1-ubyte'), idx(0x801, [3], [0, 1, 2]));
    for (const images of ['images-idx3-ubyte', 'images.gz']) {
      const p = await redgrad('predict', model, join(dir, images), '--json');
      expect(p.code, p.stderr).toBe(0);
      expect(
        p.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).row),
      ).toEqual([1, 2, 3]);
    }
    const ev = await redgrad(
      'evaluate',
      model,
      join(dir, 'images.gz'),
      '--labels',
      join(dir, 'labels-idx1-ubyte'),
      '--json',
    );
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).samples).toBe(3);

    await writeFile(join(dir, 'noise.bin'), Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 1, 2]));
    for (const command of ['predict', 'evaluate']) {
      const r = await redgrad(command, model, join(dir, 'noise.bin'));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/noise\.bin: a binary file that is neither CSV nor IDX/);
    }
    const labelsAsData = await redgrad('predict', model, join(dir, 'labels-idx1-ubyte'));
    expect(labelsAsData.stderr).toMatch(/is an IDX labels file; predict takes the images file/);
  });
});
