import { execFileSync } from 'node:child_process';

/**
 * E2e tests start the bins, which run dist/ when it exists: bring it up to date with the sources
 * first, so a test never runs yesterday's build. tsc -b skips up-to-date workspaces, so after
 * `npm run build` (as in `npm test`) this takes seconds and writes nothing.
 */
export default function setup(): void {
  const root = new URL('../../', import.meta.url).pathname;
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [`${root}libs/nn/scripts/copy-wasm.mjs`], { cwd: root, stdio: 'inherit' });
}
