import { describe, expect, it } from 'vitest';
import { jsKernels, wasmSimdAvailable } from '@redgrad/nn';
import { kernelName, selectKernels } from '@redgrad/train';

describe('kernel selection', () => {
  it('resolves auto to the WebAssembly SIMD kernel on this runtime (Node 20 validates SIMD)', () => {
    expect(wasmSimdAvailable()).toBe(true);
    expect(kernelName('auto')).toBe('wasm-simd');
    expect(selectKernels('auto').name).toBe('wasm-simd');
    expect(selectKernels('js')).toBe(jsKernels);
    expect(() => kernelName('cuda')).toThrow('unknown kernel "cuda" (known: auto, js, wasm-simd)');
  });

  it("gives every caller its own WebAssembly arena, so one job cannot use up another job's", () => {
    const a = selectKernels('wasm-simd'),
      b = selectKernels('wasm-simd');
    expect(a).not.toBe(b);
    const x = a.alloc(4),
      y = b.alloc(4);
    expect(x.buffer).not.toBe(y.buffer);
    expect(x.byteOffset).toBe(y.byteOffset); // both arenas start empty
  });
});
