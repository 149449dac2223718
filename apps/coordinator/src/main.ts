import { RedgradError } from '@redgrad/errors';
import { clusterEnv, serviceLogger } from '@redgrad/cluster';
import { Coordinator, coordinatorOptionsFromEnv } from './coordinator.js';

const log = serviceLogger('redgrad-coordinator');
let coordinator: Coordinator;
try {
  coordinator = new Coordinator(coordinatorOptionsFromEnv(process.env, { ...clusterEnv(), log }));
} catch (e) {
  const badSetting = e instanceof RedgradError && e.kind === 'user';
  log.fatal({ err: (e as Error).message }, badSetting ? 'bad configuration' : 'cannot start');
  process.exit(badSetting ? 1 : 2);
}
coordinator.start();
// A stopped coordinator's running jobs are taken over by another one from their checkpoints, so
// shutdown does not wait for jobs to finish.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => {
    log.info({ signal: sig }, 'shutting down');
    void coordinator.close(true).then(() => process.exit(0));
  });
}
