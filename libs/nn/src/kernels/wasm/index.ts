import { readFileSync } from 'node:fs';
import type { Kernels } from '../types.js';

/**
 * WebAssembly 128-bit SIMD kernels (source: libs/nn/assembly/gemm.ts, built by
 * libs/nn/scripts/build-wasm.mjs). Measured about 8× the plain TypeScript kernels on the MLP's
 * products: see bench/kernels.ts.
 *
 * Memory: one WebAssembly.Memory sized once at creation and never grown, because growing detaches
 * every Float32Array view already handed out. Layout: [module statics | kernel scratch | arena].
 * `alloc` bump-allocates 64-byte-aligned, zeroed views from the arena, so parameters, gradients and
 * activations live in Wasm memory and a product touches no JavaScript-side copy.
 *
 * Arrays that are not views of this memory (a plain Float32Array, or a view of another kernels
 * object) still work: they are copied into the free space above the arena top for the call and C is
 * copied back. Correct, but the copies cost O(mk + nk + mn) per call; allocate training buffers with
 * `alloc` to avoid them. C must not overlap A, B or bias.
 */

export interface WasmKernelOptions {
  /** Arena capacity in floats for `alloc` plus per-call copies of foreign arrays. Default 64M (256 MiB). */
  maxFloats?: number;
}

const DEFAULT_MAX_FLOATS = 64 * 1024 * 1024;
const PAGE_BYTES = 65536;
const MAX_PAGES = 65536; // wasm32: 4 GiB
const ALIGN = 64; // a cache line; also the 16 bytes v128 loads prefer

/** The part of the WebAssembly JS API used here (lib "dom" is not in this project's tsconfig). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

/** Exports of gemm.wasm; pointers are byte offsets into the memory, 0 means "no bias". */
interface GemmExports {
  scratchBytes(): number;
  heapBase(): number;
  matmulABt(a: number, b: number, c: number, m: number, n: number, k: number, bias: number, scratch: number): void;
  matmulAB(a: number, b: number, c: number, m: number, n: number, k: number, scratch: number): void;
  matmulAtB(a: number, b: number, c: number, m: number, n: number, k: number, scratch: number): void;
  reluForward(u: number, z: number, len: number): void;
  reluBackward(u: number, d: number, len: number): void;
  addInto(src: number, dst: number, len: number): void;
  columnSums(a: number, rows: number, cols: number, out: number): void;
  divideCheck(g: number, len: number, n: number): number;
  adamStep(
    w: number,
    g: number,
    m: number,
    v: number,
    len: number,
    b1: number,
    b2: number,
    a1: number,
    a2: number,
    alpha: number,
    epsHat: number,
  ): void;
}

const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let gemmBytes: Uint8Array | null = null;
let gemmModule: object | null = null;

function readGemmBytes(): Uint8Array {
  gemmBytes ??= new Uint8Array(readFileSync(new URL('./gemm.wasm', import.meta.url)));
  return gemmBytes;
}

/** True when this runtime can compile the SIMD module; otherwise fall back to jsKernels. */
export function wasmSimdAvailable(): boolean {
  if (!wasmApi) return false;
  try {
    return wasmApi.validate(readGemmBytes());
  } catch {
    return false;
  }
}

const alignUp = (x: number) => Math.ceil(x / ALIGN) * ALIGN;

function checkDim(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff)
    throw new RangeError(`${op}: ${name} must be a non-negative integer, got ${v}`);
}

function checkShape(op: string, m: number, n: number, k: number): void {
  checkDim(op, 'm', m);
  checkDim(op, 'n', n);
  checkDim(op, 'k', k);
}

function checkLength(op: string, name: string, x: Float32Array, needed: number): void {
  if (x.length < needed) throw new RangeError(`${op}: ${name} needs ${needed} floats, got ${x.length}`);
}

export function createWasmKernels(opts: WasmKernelOptions = {}): Kernels {
  if (!wasmApi) throw new Error('WebAssembly is not available in this runtime; use jsKernels');
  const maxFloats = opts.maxFloats ?? DEFAULT_MAX_FLOATS;
  if (!Number.isSafeInteger(maxFloats) || maxFloats <= 0) {
    throw new RangeError(`createWasmKernels: maxFloats must be a positive integer, got ${maxFloats}`);
  }

  gemmModule ??= new wasmApi.Module(readGemmBytes());
  // The module's static data ends at heapBase; ask a throwaway instance before sizing the memory.
  const probe = new wasmApi.Instance(gemmModule, { env: { memory: new wasmApi.Memory({ initial: 1, maximum: 1 }) } });
  const probeExports = probe.exports as GemmExports;
  const scratch = alignUp(probeExports.heapBase());
  const arenaStart = alignUp(scratch + probeExports.scratchBytes());
  const arenaEnd = arenaStart + maxFloats * 4;
  const pages = Math.ceil(arenaEnd / PAGE_BYTES);
  if (pages > MAX_PAGES) {
    throw new RangeError(
      `createWasmKernels: maxFloats ${maxFloats} needs ${pages} pages of 64 KiB; wasm32 allows ${MAX_PAGES}`,
    );
  }

  // initial = maximum: the whole arena is reserved up front (the OS commits pages only when touched).
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages });
  const gemm = new wasmApi.Instance(gemmModule, { env: { memory } }).exports as GemmExports;
  const buffer = memory.buffer;
  let top = arenaStart; // next free byte of the arena

  function exhausted(asked: number, free: number): Error {
    return new RangeError(
      `wasm kernel arena exhausted: asked ${asked} floats, ${(arenaEnd - free) / 4} left; raise maxFloats (now ${maxFloats})`,
    );
  }

  // Per-call placement of foreign operands in the free space above the arena top; reset every call
  // and kept in a closure variable so the fast path (all operands in the arena) allocates nothing.
  let callFree = top;

  function reserve(length: number): number {
    const at = callFree;
    if (at + length * 4 > arenaEnd) throw exhausted(length, at);
    callFree = Math.min(alignUp(at + length * 4), arenaEnd);
    return at;
  }

  /** Byte address of x's first `length` floats in wasm memory, copying a foreign array in. */
  function input(x: Float32Array, length: number): number {
    if (x.buffer === buffer) return x.byteOffset;
    const at = reserve(length);
    new Float32Array(buffer, at, length).set(length === x.length ? x : x.subarray(0, length));
    return at;
  }

  /** Byte address the kernel writes `length` floats of x to; a foreign x gets them by copyBack. */
  function output(x: Float32Array, length: number): number {
    return x.buffer === buffer ? x.byteOffset : reserve(length);
  }

  function copyBack(x: Float32Array, at: number, length: number): void {
    if (x.buffer !== buffer) x.set(new Float32Array(buffer, at, length));
  }

  /**
   * Checks and places the operands of C[m,n] = op(A)·op(B) + bias (A holds m·k floats and B n·k in
   * every layout), runs the product and copies a foreign C back.
   */
  function product(
    op: string,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    m: number,
    n: number,
    k: number,
    bias: Float32Array | null,
    run: (a: number, b: number, c: number, m: number, n: number, k: number, bias: number, scratch: number) => void,
  ): void {
    checkShape(op, m, n, k);
    checkLength(op, 'A', A, m * k);
    checkLength(op, 'B', B, n * k);
    checkLength(op, 'C', C, m * n);
    if (bias) checkLength(op, 'bias', bias, n);
    callFree = top;
    const a = input(A, m * k),
      b = input(B, n * k),
      d = bias ? input(bias, n) : 0;
    const c = output(C, m * n);
    run(a, b, c, m, n, k, d, scratch);
    copyBack(C, c, m * n);
  }

  /** A loop over `len` elements that reads x and writes y (reading it too when `yIsRead`). */
  function elementwise(
    op: string,
    xName: string,
    x: Float32Array,
    yName: string,
    y: Float32Array,
    yIsRead: boolean,
    len: number,
    run: (x: number, y: number, len: number) => void,
  ): void {
    checkLength(op, xName, x, len);
    checkLength(op, yName, y, len);
    callFree = top;
    const px = input(x, len),
      py = yIsRead ? input(y, len) : output(y, len);
    run(px, py, len);
    copyBack(y, py, len);
  }

  // the bias-less products in the shape `product` runs (made once: nothing allocates per call)
  const runAB = (a: number, b: number, c: number, m: number, n: number, k: number, _bias: number, s: number) =>
    gemm.matmulAB(a, b, c, m, n, k, s);
  const runAtB = (a: number, b: number, c: number, m: number, n: number, k: number, _bias: number, s: number) =>
    gemm.matmulAtB(a, b, c, m, n, k, s);

  return {
    name: 'wasm-simd',

    alloc(length: number): Float32Array {
      if (!Number.isSafeInteger(length) || length < 0)
        throw new RangeError(`alloc: length must be a non-negative integer, got ${length}`);
      if (top + length * 4 > arenaEnd) throw exhausted(length, top);
      const view = new Float32Array(buffer, top, length);
      view.fill(0); // the region may hold a previous call's copies of foreign operands
      top = Math.min(alignUp(top + length * 4), arenaEnd);
      return view;
    },

    matmulABt(A, B, C, m, n, k, bias) {
      product('matmulABt', A, B, C, m, n, k, bias ?? null, gemm.matmulABt);
    },

    matmulAB(A, B, C, m, n, k) {
      product('matmulAB', A, B, C, m, n, k, null, runAB);
    },

    matmulAtB(A, B, C, m, n, k) {
      product('matmulAtB', A, B, C, m, n, k, null, runAtB);
    },

    reluForward(u, z, len) {
      elementwise('reluForward', 'u', u, 'z', z, false, len, gemm.reluForward);
    },

    reluBackward(u, d, len) {
      elementwise('reluBackward', 'u', u, 'd', d, true, len, gemm.reluBackward);
    },

    addInto(dst, src, len) {
      elementwise('addInto', 'src', src, 'dst', dst, true, len, gemm.addInto);
    },

    columnSums(A, rows, cols, out) {
      checkDim('columnSums', 'rows', rows);
      checkDim('columnSums', 'cols', cols);
      checkLength('columnSums', 'A', A, rows * cols);
      checkLength('columnSums', 'out', out, cols);
      callFree = top;
      const pa = input(A, rows * cols),
        po = output(out, cols);
      gemm.columnSums(pa, rows, cols, po);
      copyBack(out, po, cols);
    },

    divideCheck(g, n) {
      callFree = top;
      const at = input(g, g.length);
      const finite = gemm.divideCheck(at, g.length, n) === 1;
      copyBack(g, at, g.length);
      return finite;
    },

    adamStep(w, g, m, v, c) {
      const len = w.length;
      checkLength('adamStep', 'g', g, len);
      checkLength('adamStep', 'm', m, len);
      checkLength('adamStep', 'v', v, len);
      callFree = top;
      const pw = input(w, len),
        pg = input(g, len),
        pm = input(m, len),
        pv = input(v, len);
      gemm.adamStep(pw, pg, pm, pv, len, c.b1, c.b2, c.a1, c.a2, c.alpha, c.epsHat);
      copyBack(w, pw, len);
      copyBack(m, pm, len);
      copyBack(v, pv, len);
    },
  };
}
