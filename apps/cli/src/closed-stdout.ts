/**
 * `redgrad … | head`: a closed stdout ends the command quietly with exit 0, as for any Unix tool.
 * A command that started processes or made files registers their cleanup here, so that they are
 * stopped and removed before the exit rather than left behind.
 */
const cleanups = new Set<() => Promise<void>>();
let exiting = false;

/** Runs `cleanup` before an exit caused by a closed stdout; returns the function that unregisters it. */
export function onClosedStdout(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function watchStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (exiting) return; // the cleanups' own writes fail the same way
    exiting = true;
    void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(0));
  });
}
