/**
 * Training from code with redgrad's TypeScript API (README, "Using redgrad from TypeScript").
 *
 *   node --import tsx examples/api.ts                                   # a built checkout (npm run build)
 *   node --conditions=redgrad-source --import tsx examples/api.ts       # a checkout, from the sources
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx examples/api.ts  # also trains on a running cluster
 *
 * In a project that installed the package, the same code imports from 'redgrad'.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineSpec, loadModel, loadSpec, modelToJson, predict, saveModel, trainModel, trainOnCluster } from 'redgrad';

const xorPath = fileURLToPath(new URL('./xor.json', import.meta.url));
const irisPath = fileURLToPath(new URL('./iris.json', import.meta.url));

// 1. A spec from a file, or built in code: both are validated, and defaults fill in what is left out.
const xor = defineSpec({
  name: 'xor-from-code',
  data: { builtin: 'xor' },
  testSplit: 0,
  model: { hidden: [8], activation: 'tanh' },
  optimizer: { type: 'momentum', lr: 0.1 },
  batchSize: 4,
  epochs: 300,
  seed: 7,
});
const iris = await loadSpec(irisPath);

// 2. Train in this process, with a callback per epoch (onStep gets one per optimizer step).
const trained = await trainModel(xor, {
  onEpoch: (m) => {
    if (m.epoch % 100 === 0) console.log(`xor epoch ${m.epoch}: loss ${m.trainLoss.toFixed(4)}`);
  },
});
console.log(`xor trained: ${trained.result.steps} steps, accuracy ${trained.result.trainEval.accuracy}`);

// 3. Stop early: the promise still resolves, with the weights after the last finished step.
const stop = new AbortController();
const early = await trainModel(iris, {
  signal: stop.signal,
  onStep: (p) => {
    if (p.step === 10) stop.abort();
  },
});
console.log(
  `iris stopped: ${early.stopped} after ${early.result.steps} steps, test accuracy ${early.result.test?.accuracy?.toFixed(3)}`,
);

// 4. Save, load, and predict on arrays of raw features (the model's input scaling is applied for you).
const dir = await mkdtemp(join(tmpdir(), 'redgrad-api-'));
try {
  const path = join(dir, 'xor-model.json');
  await saveModel(trained.model, path);
  const model = await loadModel(path);
  const predictions = predict(model, [
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ]);
  console.log(`xor predictions: ${predictions.map((p) => p.label).join(' ')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

// 5. On a cluster (coordinator and workers on REDIS_URL): submit a spec file and await the model.
if (process.env.REDIS_URL) {
  const run = await trainOnCluster(xorPath, {
    redisUrl: process.env.REDIS_URL,
    prefix: process.env.REDGRAD_PREFIX,
    onProgress: (s) => {
      if (s.progress && s.progress.step % 100 === 0)
        console.log(`cluster ${s.jobId}: step ${s.progress.step}/${s.progress.steps}`);
    },
  });
  const local = await trainModel(xorPath);
  console.log(`cluster job ${run.jobId} ${run.state.status}`);
  console.log(
    `cluster model identical to local: ${run.model !== undefined && modelToJson(run.model) === modelToJson(local.model)}`,
  );
}
