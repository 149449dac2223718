import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanPrefix, uniquePrefix } from '../setup/redis.js';
import { REPO_ROOT } from '../compose/compose-file.js';
import { cli, lastJson, startService, useTestRedis, waitFor } from '../e2e/harness.js';
import type { SubmitResult } from '@redgrad/cluster';
import { reportPayoff } from '../../apps/cli/src/commands/payoff.js';

const testRedis = useTestRedis();
const IRIS_SPEC = join(REPO_ROOT, 'examples/iris.json'); // batch 16 of a 4-16-3 model: far too small to pay

describe('submit tells when the cluster cannot pay', () => {
  it('prints the estimate as a JSON field, or the note on stderr, counting live workers', async () => {
    const prefix = uniquePrefix('payoff');
    const env = { REDIS_URL: testRedis.url, REDGRAD_PREFIX: prefix };
    try {
      const json = await cli(['submit', IRIS_SPEC, '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      expect(json.stdout.trim().split('\n')).toHaveLength(1); // nothing but the one JSON object
      expect(json.stderr).not.toMatch(/note:/);
      const { payoff } = JSON.parse(json.stdout);
      expect(payoff).toMatchObject({ batchSize: 16, workers: 2, workersAssumed: true, pays: false });
      expect(payoff.computeMs).toBeLessThan(payoff.transferMs);
      expect(payoff.note).toMatch(
        /^note: steps of 16 samples are too small for this cluster \(2 workers\) to beat --local \(≈[\d.]+ ms of compute vs ≈[\d.]+ ms of transfer per step\); from batchSize ≈ \d+ it would \(estimated for 2 workers: none is live yet\)$/,
      );

      const human = await cli(['submit', IRIS_SPEC], env);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stderr).toContain(payoff.note);
      expect(human.stdout).not.toMatch(/note:/);

      // one live worker: no batch size makes the cluster faster than one process
      startService('worker', env);
      await waitFor(
        'the worker to send its heartbeat',
        async () => (await cli(['workers', '--json'], env)).stdout.includes('"workerId"'),
        30_000,
        200,
      );
      const one = lastJson((await cli(['submit', IRIS_SPEC, '--json'], env)).stdout).payoff;
      expect(one).toMatchObject({ workers: 1, workersAssumed: false, pays: false, minBatchSize: null });
      expect(one.note).toMatch(/this cluster \(1 worker\) cannot beat --local at any batch size/);
    } finally {
      await cleanPrefix(testRedis.redis, prefix);
    }
  });
});

describe('the estimate counts the coordinator only where the step plan gives it a block', () => {
  // a 784-256-128-10 model, batch 1024 in shards of 512: two shards
  const result = (shardSize: number) =>
    ({
      batchSize: 1024,
      arch: {
        layers: [
          { inputs: 784, outputs: 256, activation: 'relu' },
          { inputs: 256, outputs: 128, activation: 'relu' },
          { inputs: 128, outputs: 10, activation: 'softmax' },
        ],
      },
      record: { kernel: 'wasm-simd', spec: { shardSize, gradientEncoding: 'f32' } },
    }) as unknown as SubmitResult;

  it('with 1 worker the coordinator takes the other shard; with 2 workers and 2 shards it computes nothing', () => {
    const one = reportPayoff(result(512), 1, { json: true, coordinatorComputes: true });
    const two = reportPayoff(result(512), 2, { json: true, coordinatorComputes: true });
    const twoAlone = reportPayoff(result(512), 2, { json: true, coordinatorComputes: false });
    expect(one.computeMs).toBeCloseTo(reportPayoff(result(512), 2, { json: true }).computeMs, 9);
    expect(two.computeMs).toBe(twoAlone.computeMs);
    // 4 shards: with 2 workers the plan still gives each worker 2 shards and the coordinator none
    expect(reportPayoff(result(256), 2, { json: true, coordinatorComputes: true }).computeMs).toBe(
      reportPayoff(result(256), 2, { json: true }).computeMs,
    );
  });
});
