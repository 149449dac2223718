import { createWasmKernels, jsKernels, wasmSimdAvailable } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';
import { SpecError } from './spec.js';

export type KernelChoice = 'auto' | 'js' | 'wasm-simd';

/**
 * The kernel a choice resolves to here, by name: "auto" is the WebAssembly SIMD kernel wherever the
 * runtime validates it, else the TypeScript one.
 */
export function kernelName(choice: KernelChoice | string): 'js' | 'wasm-simd' {
  if (choice === 'js') return 'js';
  if (choice === 'wasm-simd' || choice === 'auto') {
    if (wasmSimdAvailable()) return 'wasm-simd';
    if (choice === 'auto') return 'js';
    throw new SpecError('kernel wasm-simd: this runtime does not support WebAssembly SIMD; use kernel "js"');
  }
  throw new SpecError(`unknown kernel ${JSON.stringify(choice)} (known: auto, js, wasm-simd)`);
}

/**
 * Resolves a kernel choice to an implementation. A WebAssembly kernels object owns its memory arena,
 * which only grows, so each call makes a new one: give every job (or network) its own and let it go
 * with the job, and a long-running service never runs out of arena.
 */
export function selectKernels(choice: KernelChoice | string): Kernels {
  return kernelName(choice) === 'js' ? jsKernels : createWasmKernels();
}
