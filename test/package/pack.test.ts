import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

// npm passes its own settings to scripts as npm_* variables (workspace, prefix, …); the install
// below must behave as in a user's empty project, not as part of this repo's `npm test`.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(cmd, args, {
      cwd,
      env: { ...cleanEnv, ...env },
      maxBuffer: 1 << 24,
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let dir: string;
let project: string;
let tarball: string;
let version: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'redgrad-pack-'));
  project = join(dir, 'project');
  ({ version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')));
  // prepack runs `npm run build`: a no-op when dist/ is up to date (tsc -b), as in `npm test`
  const packed = await run('npm', ['pack', '--pack-destination', dir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = join(dir, (await readdir(dir)).find((f) => f.endsWith('.tgz'))!);
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'uses-redgrad', private: true, type: 'module' }),
  );
  const installed = await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], project);
  expect(installed.code, installed.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bin = (name: string) => join(project, 'node_modules/.bin', name);

describe('npm pack → npm install into an empty project', () => {
  it('ships compiled JavaScript and type declarations, no TypeScript sources', async () => {
    expect(tarball).toMatch(new RegExp(`redgrad-${version.replace(/\./g, '\\.')}\\.tgz$`));
    const files = (await run('tar', ['tzf', tarball], dir)).stdout.trim().split('\n');
    expect(files).toContain('package/node_modules/@redgrad/train/dist/index.js');
    expect(files).toContain('package/node_modules/@redgrad/train/dist/index.d.ts');
    expect(files).toContain('package/node_modules/@redgrad/nn/dist/kernels/wasm/gemm.wasm');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs the runtime dependencies and no TypeScript toolchain', () => {
    for (const dep of ['bullmq', 'ioredis', 'msgpackr', 'pino', 'commander'])
      expect(existsSync(join(project, 'node_modules', dep)), dep).toBe(true);
    for (const dev of ['typescript', 'tsx', 'esbuild', 'vitest'])
      expect(existsSync(join(project, 'node_modules', dev)), dev).toBe(false);
  });

  it('gives a working redgrad bin: --version and train --local', async () => {
    expect(await run(bin('redgrad'), ['--version'], project)).toMatchObject({ code: 0, stdout: `${version}\n` });
    const trained = await run(
      bin('redgrad'),
      ['train', '--local', 'node_modules/redgrad/examples/xor.json', '--json', '--out', 'xor.json'],
      project,
    );
    expect(trained.code, trained.stderr).toBe(0);
    expect(JSON.parse(trained.stdout)).toMatchObject({ trainAccuracy: 1, steps: 300 });
    expect(existsSync(join(project, 'xor.json'))).toBe(true);
  });

  it('gives redgrad-coordinator and redgrad-worker bins that start the compiled services', async () => {
    // a bad setting is reported by the service itself before it touches Redis: exit 1
    for (const [name, setting] of [
      ['redgrad-coordinator', 'REDGRAD_COORDINATOR_CONCURRENCY'],
      ['redgrad-worker', 'REDGRAD_WORKER_CONCURRENCY'],
    ]) {
      const r = await run(bin(name), [], project, { [setting]: 'many', REDIS_URL: 'redis://no-redis.invalid:1' });
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stdout + r.stderr).toContain(setting);
    }
  });

  it('exports the TypeScript API to a script that imports redgrad', async () => {
    await writeFile(
      join(project, 'use-api.mjs'),
      [
        "import { defineSpec, predict, trainModel } from 'redgrad';",
        "const spec = defineSpec({ data: { builtin: 'xor' }, testSplit: 0, model: { hidden: [8] }, optimizer: { type: 'momentum', lr: 0.1 }, batchSize: 4, epochs: 300, seed: 7 });",
        'const { model } = await trainModel(spec);',
        'console.log(predict(model, [[0, 0], [0, 1], [1, 0], [1, 1]]).map((p) => p.label).join(" "));',
      ].join('\n'),
    );
    expect(await run(process.execPath, ['use-api.mjs'], project)).toMatchObject({ code: 0, stdout: '0 1 1 0\n' });
  });
});
