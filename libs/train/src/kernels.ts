import { createWasmKernels, jsKernels, wasmSimdAvailable } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';

export type KernelChoice = 'auto' | 'js' | 'wasm-simd';

let wasm: Kernels | undefined;

/**
 * Resolves a kernel choice to an implementation. "auto" is the WebAssembly SIMD kernel wherever the
 * runtime validates it, else the TypeScript one. One wasm kernels object (and arena) per process.
 */
export function selectKernels(choice: KernelChoice | string): Kernels {
  if (choice === 'js') return jsKernels;
  if (choice === 'wasm-simd' || choice === 'auto') {
    if (wasmSimdAvailable()) return (wasm ??= createWasmKernels());
    if (choice === 'auto') return jsKernels;
    throw new Error('kernel wasm-simd: this runtime does not support WebAssembly SIMD; use kernel "js"');
  }
  throw new Error(`unknown kernel ${JSON.stringify(choice)} (known: auto, js, wasm-simd)`);
}
