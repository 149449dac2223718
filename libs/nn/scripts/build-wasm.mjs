#!/usr/bin/env node
// Compiles libs/nn/assembly/gemm.ts (AssemblyScript, 128-bit SIMD) to libs/nn/src/kernels/wasm/gemm.wasm
// and records what went in and what came out in gemm.build.json beside it.
//
//   node libs/nn/scripts/build-wasm.mjs           build and write both files
//   node libs/nn/scripts/build-wasm.mjs --check   build in memory; exit 1 if the committed files differ
//
// Reproducible: the compiler is the pinned devDependency, run offline with fixed flags on a path
// relative to libs/nn, with no debug info or source map, so the same source gives the same bytes.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const nnDir = fileURLToPath(new URL('..', import.meta.url));
const sourcePath = 'assembly/gemm.ts'; // relative to nnDir
const wasmUrl = new URL('../src/kernels/wasm/gemm.wasm', import.meta.url);
const manifestUrl = new URL('../src/kernels/wasm/gemm.build.json', import.meta.url);

/** Compiler flags; any change here changes the recorded manifest, so a stale build is caught. */
export const ascFlags = [
  '--enable',
  'simd',
  '-O3',
  '--noAssert',
  '--runtime',
  'stub',
  '--importMemory', // the TypeScript wrapper owns the memory and sizes it once
  '--use',
  'abort=', // nothing can abort: no bounds checks, no allocation
];

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function compilerVersion() {
  const require = createRequire(import.meta.url);
  return require('assemblyscript/package.json').version;
}

/** Compiles the kernel source; returns the module bytes and the manifest describing them. */
export async function buildGemmWasm() {
  const source = readFileSync(new URL(`../${sourcePath}`, import.meta.url));
  let wasm = null;
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main([sourcePath, ...ascFlags, '--baseDir', nnDir, '--outFile', 'gemm.wasm'], {
    stderr,
    writeFile(name, contents) {
      if (name.endsWith('gemm.wasm')) wasm = contents;
    },
  });
  if (error) throw new Error(`asc failed on ${sourcePath}: ${error.message}\n${stderr.toString()}`);
  if (!wasm) throw new Error(`asc produced no output for ${sourcePath}`);
  const bytes = new Uint8Array(wasm);
  const manifest = {
    source: sourcePath,
    sourceSha256: sha256(source),
    compiler: `assemblyscript@${compilerVersion()}`,
    flags: ascFlags,
    wasmSha256: sha256(bytes),
    wasmBytes: bytes.length,
  };
  return { wasm: bytes, manifest };
}

function manifestText(manifest) {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

async function main() {
  const check = process.argv.includes('--check');
  const { wasm, manifest } = await buildGemmWasm();
  if (!check) {
    writeFileSync(wasmUrl, wasm);
    writeFileSync(manifestUrl, manifestText(manifest));
    console.log(`gemm.wasm ${manifest.wasmBytes} bytes sha256 ${manifest.wasmSha256}`);
    return;
  }
  const problems = [];
  const committed = readFileSync(wasmUrl);
  if (sha256(committed) !== manifest.wasmSha256) {
    problems.push(`gemm.wasm: committed sha256 ${sha256(committed)}, fresh build ${manifest.wasmSha256}`);
  }
  const committedManifest = readFileSync(manifestUrl, 'utf8');
  if (committedManifest !== manifestText(manifest)) {
    problems.push(
      `gemm.build.json differs from a fresh build:\n${committedManifest}\nexpected:\n${manifestText(manifest)}`,
    );
  }
  if (problems.length > 0) {
    console.error(`stale wasm kernels; run: node libs/nn/scripts/build-wasm.mjs\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log(`gemm.wasm up to date (sha256 ${manifest.wasmSha256})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
