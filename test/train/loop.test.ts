import { describe, expect, it } from 'vitest';
import { Network, jsKernels } from '@redgrad/nn';
import { builtin } from '@redgrad/data';
import {
  LocalBackend,
  TrainingError,
  TreeReducer,
  epochOrder,
  initialParams,
  prepareFromData,
  train,
  validateJobSpec,
} from '@redgrad/train';
import type { Block, Checkpoint, GradientBackend, PreparedJob, ShardGradient, StepRequest } from '@redgrad/train';

async function irisJob(over: Record<string, unknown> = {}): Promise<PreparedJob> {
  const spec = validateJobSpec({
    data: { builtin: 'iris' },
    model: { hidden: [6] },
    optimizer: { type: 'momentum', lr: 0.05 },
    batchSize: 20,
    shardSize: 8,
    epochs: 3,
    seed: 5,
    ...over,
  });
  return prepareFromData(spec, await builtin('iris'), undefined);
}

function localBackend(job: PreparedJob): LocalBackend {
  return new LocalBackend(job.arch, jsKernels, job.train, true, job.spec.shardSize);
}

describe('training loop', () => {
  it('is deterministic: the same spec and seed give bit-identical weights', async () => {
    const job = await irisJob();
    const a = await train(job, { backend: localBackend(job), kernels: jsKernels });
    const b = await train(job, { backend: localBackend(job), kernels: jsKernels });
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer))).toBe(true);
    expect(a.steps).toBe(3 * Math.ceil(150 / 20)); // the last, partial batch of each epoch counts
    const init = new Float32Array(a.params.length);
    initialParams(job, init);
    expect(Buffer.from(a.params.buffer).equals(Buffer.from(init.buffer))).toBe(false); // it did train
  });

  it('one full-batch SGD step is w − η·(mean gradient), computed by hand from the network', async () => {
    const job = await irisJob({
      batchSize: 'full',
      shardSize: 150,
      epochs: 1,
      shuffle: false,
      optimizer: { type: 'sgd', lr: 0.5 },
    });
    const res = await train(job, { backend: localBackend(job), kernels: jsKernels });
    const net = new Network(job.arch, jsKernels, 150);
    initialParams(job, net.params);
    const w0 = Float32Array.from(net.params);
    net.shardGradient(
      job.train,
      Uint32Array.from({ length: 150 }, (_, i) => i),
      true,
    );
    for (let i = 0; i < w0.length; i++) {
      expect(res.params[i]).toBe(Math.fround(w0[i] - 0.5 * Math.fround(net.grad[i] / 150)));
    }
  });

  it('gives the same bits whichever aligned blocks the shards are summed in and in whatever order they arrive', async () => {
    const job = await irisJob({ epochs: 2, batchSize: 56 }); // 7 shards a step: the tree is not full
    // sums shards in blocks of two with a reducer of its own, as a worker does, and hands the blocks over last first
    class PairsReversed implements GradientBackend {
      readonly kernel = 'js';
      private readonly inner = localBackend(job);
      private readonly block = new TreeReducer(jsKernels, new Network(job.arch, jsKernels, 1).paramCount);
      async computeStep(req: StepRequest, accept: (b: Block, r: ShardGradient) => void): Promise<void> {
        for (let i = Math.ceil(req.shards.length / 2) - 1; i >= 0; i--) {
          const shards = req.shards.slice(2 * i, 2 * i + 2);
          this.block.reset(shards.length);
          await this.inner.computeStep({ ...req, shards }, (b, r) => this.block.add(b, r));
          accept({ level: 1, index: i }, this.block.result());
        }
      }
      async close(): Promise<void> {}
    }
    const a = await train(job, { backend: localBackend(job), kernels: jsKernels });
    const b = await train(job, { backend: new PairsReversed(), kernels: jsKernels });
    expect(Buffer.from(b.params.buffer).equals(Buffer.from(a.params.buffer))).toBe(true);
    expect(b.history).toEqual(a.history);
  });

  it('refuses a backend that returns before every shard is summed', async () => {
    const job = await irisJob();
    class Short implements GradientBackend {
      readonly kernel = 'js';
      private readonly inner = localBackend(job);
      async computeStep(req: StepRequest, accept: (b: Block, r: ShardGradient) => void): Promise<void> {
        await this.inner.computeStep({ ...req, shards: req.shards.slice(0, 1) }, accept);
      }
      async close(): Promise<void> {}
    }
    await expect(train(job, { backend: new Short(), kernels: jsKernels })).rejects.toThrow(
      /step 1: the backend returned before every shard was summed/,
    );
  });

  it('resumes from a mid-epoch checkpoint to the same weights as an uninterrupted run', async () => {
    const job = await irisJob({ checkpointEvery: 5, optimizer: { type: 'adam', lr: 0.01 } });
    const full = await train(job, { backend: localBackend(job), kernels: jsKernels });
    const checkpoints: Checkpoint[] = [];
    await train(job, { backend: localBackend(job), kernels: jsKernels, onCheckpoint: (c) => void checkpoints.push(c) });
    const mid = checkpoints.find((c) => c.stepInEpoch > 0 && c.epoch === 1)!;
    expect(mid).toBeDefined();
    const resumed = await train(job, { backend: localBackend(job), kernels: jsKernels, resume: structuredClone(mid) });
    expect(Buffer.from(resumed.params.buffer).equals(Buffer.from(full.params.buffer))).toBe(true);
    expect(resumed.history).toEqual(full.history);
  });

  it('epoch order: identity without shuffle, a seeded permutation with it', () => {
    const a = new Uint32Array(10),
      b = new Uint32Array(10),
      c = new Uint32Array(10);
    epochOrder(a, 1, 0, false);
    expect(Array.from(a)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    epochOrder(a, 1, 0, true);
    epochOrder(b, 1, 0, true);
    epochOrder(c, 1, 1, true);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('fails with a clear reason when the gradient goes non-finite', async () => {
    const job = await irisJob({
      loss: 'squared-error',
      model: { hidden: [6], activation: 'relu', output: 'identity' },
      optimizer: { type: 'sgd', lr: 10 },
      epochs: 50,
    });
    await expect(train(job, { backend: localBackend(job), kernels: jsKernels })).rejects.toThrow(TrainingError);
    await expect(train(job, { backend: localBackend(job), kernels: jsKernels })).rejects.toThrow(
      /not finite.*lower the learning rate/,
    );
  });

  it('warm-starts from given weights', async () => {
    const job = await irisJob({ epochs: 1 });
    const first = await train(job, { backend: localBackend(job), kernels: jsKernels });
    const warm = await train(job, { backend: localBackend(job), kernels: jsKernels, init: first.params });
    expect(warm.history[0].trainLoss).toBeLessThan(first.history[0].trainLoss);
  });

  it('a stop signal ends training between steps and returns the weights so far', async () => {
    const job = await irisJob({ checkpointEvery: 5 });
    const atStep5: Checkpoint[] = [];
    const full = await train(job, {
      backend: localBackend(job),
      kernels: jsKernels,
      onCheckpoint: (c) => void (c.step === 5 && atStep5.push(c)),
    });
    expect(full.stopped).toBe(false);

    const stop = new AbortController();
    const onStep = (p: { step: number }) => void (p.step === 5 && stop.abort());
    const part = await train(job, { backend: localBackend(job), kernels: jsKernels, stopSignal: stop.signal, onStep });
    expect(part).toMatchObject({ stopped: true, steps: 5, samples: 100, history: [] });
    expect(Buffer.from(part.params.buffer).equals(Buffer.from(atStep5[0].params.buffer))).toBe(true);
    expect(part.train.loss).toBeGreaterThan(0); // the unfinished epoch's mean so far
    expect(part.trainEval.n).toBe(150); // the weights returned, evaluated on the whole training set
  });
});
