import { RedgradError } from '@redgrad/errors';
import { clusterEnv, serviceLogger } from '@redgrad/cluster';
import { GradientWorker, workerOptionsFromEnv } from './worker.js';

const log = serviceLogger('redgrad-worker');
let worker: GradientWorker;
try {
  worker = new GradientWorker(workerOptionsFromEnv(process.env, { ...clusterEnv(), log }));
} catch (e) {
  const badSetting = e instanceof RedgradError && e.kind === 'user';
  log.fatal({ err: (e as Error).message }, badSetting ? 'bad configuration' : 'cannot start');
  process.exit(badSetting ? 1 : 2);
}
worker.start();
// SIGTERM/SIGINT: finish the shard in hand (milliseconds), then leave; a second signal stops at once
// and the unfinished task comes back to the queue through stalled-job detection.
let signals = 0;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    signals++;
    log.info({ signal: sig }, signals > 1 ? 'stopping now' : 'finishing the task in hand, then stopping');
    if (signals > 1) process.exit(1);
    void worker.close().then(() => process.exit(0));
  });
}
