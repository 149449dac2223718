// Golden hashes of one model file, as `redgrad train --local --out` writes it, per kernel. Same
// spec and seed must give the same bytes; a change that moves any bit of training (data order,
// initialisation, a kernel's summation order, the optimizer, the file format) fails here even when
// every tolerance-based test still passes. If the change was meant to alter the bits, update the
// hash and say why in the commit.
//
// Every step has exactly one shard (batchSize = shardSize; the epoch's last, shorter batch is one
// shard too), so the hashes do not depend on how the sums of several shards are combined.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wasmSimdAvailable } from '@redgrad/nn';
import { modelToJson, trainLocal } from '@redgrad/train';

const SPEC = {
  name: 'golden-iris',
  data: { builtin: 'iris' },
  testSplit: 0.2,
  scaling: 'standard',
  model: { hidden: [16, 8], activation: 'relu', output: 'softmax' },
  loss: 'cross-entropy',
  optimizer: { type: 'adam', lr: 0.01, weightDecay: 0.001 },
  batchSize: 16,
  shardSize: 16,
  epochs: 20,
  seed: 11,
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redgrad-golden-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function modelFileSha256(kernel: 'js' | 'wasm-simd'): Promise<string> {
  const specPath = join(dir, `${kernel}.json`);
  await writeFile(specPath, JSON.stringify({ ...SPEC, kernel }));
  const run = await trainLocal(specPath);
  expect(run.result.steps).toBe(20 * Math.ceil(120 / 16)); // 120 training samples: one shard per step
  return createHash('sha256').update(modelToJson(run.model)).digest('hex');
}

describe('golden model files (iris, one shard per step)', () => {
  it('js kernel', async () => {
    expect(await modelFileSha256('js')).toBe('3339ecf740abc1fcb10a8a288b5360ce51ffcc02daae3491a04e8eea5e886205');
  });

  it.skipIf(!wasmSimdAvailable())('wasm-simd kernel', async () => {
    expect(await modelFileSha256('wasm-simd')).toBe('cc632533cf521f95b190da0aa48a62b62fab88b77e8fe889193c63abf0f4a34a');
  });
});
