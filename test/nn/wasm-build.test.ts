// The committed WebAssembly kernel is what its source compiles to. The fresh build runs the
// AssemblyScript compiler in a child process, so this file belongs to the e2e project.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('gemm.wasm build', () => {
  const wasmDir = new URL('../../libs/nn/src/kernels/wasm/', import.meta.url);
  const manifest = JSON.parse(readFileSync(new URL('gemm.build.json', wasmDir), 'utf8')) as {
    source: string;
    sourceSha256: string;
    wasmSha256: string;
  };
  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it('records the hashes of the committed source and module', () => {
    const source = readFileSync(new URL(`../../libs/nn/${manifest.source}`, import.meta.url));
    expect(sha256(source)).toBe(manifest.sourceSha256);
    expect(sha256(readFileSync(new URL('gemm.wasm', wasmDir)))).toBe(manifest.wasmSha256);
  });

  it('matches a fresh build byte for byte', () => {
    const script = fileURLToPath(new URL('../../libs/nn/scripts/build-wasm.mjs', import.meta.url));
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
