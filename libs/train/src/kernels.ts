import { jsKernels } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';

/** Resolves a spec's kernel choice to an implementation. */
export function selectKernels(choice: 'auto' | 'js' | 'wasm-simd'): Kernels {
  if (choice === 'wasm-simd') throw new Error('spec.kernel: wasm-simd is not available in this build');
  return jsKernels;
}
