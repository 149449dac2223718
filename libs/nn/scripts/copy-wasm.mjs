// Build step after tsc: the WebAssembly kernel is loaded relative to the compiled module
// (dist/kernels/wasm/index.js reads ./gemm.wasm), and tsc copies no binary files.
import { copyFileSync, mkdirSync } from 'node:fs';

const from = new URL('../src/kernels/wasm/gemm.wasm', import.meta.url);
const to = new URL('../dist/kernels/wasm/', import.meta.url);
mkdirSync(to, { recursive: true });
copyFileSync(from, new URL('gemm.wasm', to));
