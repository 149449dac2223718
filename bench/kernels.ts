/**
 * GFLOP/s of the matrix kernels on the products of a 784-256-128-10 MLP at batch 128.
 *   node --import tsx bench/kernels.ts
 * Each case: warm-up (also lets V8 tier the wasm up to TurboFan), then repeated windows of ~50 ms
 * for ~0.5 s; the best window is reported, since on a shared machine the slow ones measure the
 * neighbours. Operands of the wasm kernel are arena views (the zero-copy path training uses).
 */
import { pathToFileURL } from 'node:url';
import { jsKernels } from '../libs/nn/src/kernels/js.js';
import type { Kernels } from '../libs/nn/src/kernels/types.js';
import { createWasmKernels, wasmSimdAvailable } from '../libs/nn/src/kernels/wasm/index.js';
import { Rng } from '../libs/nn/src/rng.js';

type Product = 'abt' | 'atb' | 'ab';

/** [product, m, n, k] as passed to the kernel. */
const cases: [Product, number, number, number][] = [
  ['abt', 128, 256, 784], // forward, layer 1: U = Z·Wᵀ + b
  ['abt', 128, 128, 256],
  ['abt', 128, 10, 128],
  ['atb', 256, 784, 128], // weight gradients: dW = Dᵀ·Z
  ['atb', 128, 256, 128],
  ['atb', 10, 128, 128],
  ['ab', 128, 128, 10], // input deltas: dZ = D·W
  ['ab', 128, 256, 128],
];

const WINDOW_MS = 50;
const CASE_MS = 500;

function gflops(kernels: Kernels, op: Product, m: number, n: number, k: number, rng: Rng): number {
  const fill = (len: number) => {
    const x = kernels.alloc(len);
    for (let i = 0; i < len; i++) x[i] = rng.next() * 2 - 1;
    return x;
  };
  const A = fill(m * k),
    B = fill(n * k),
    C = kernels.alloc(m * n),
    bias = fill(n);
  const call =
    op === 'abt'
      ? () => kernels.matmulABt(A, B, C, m, n, k, bias)
      : op === 'ab'
        ? () => kernels.matmulAB(A, B, C, m, n, k)
        : () => kernels.matmulAtB(A, B, C, m, n, k);
  const warmEnd = performance.now() + 100;
  while (performance.now() < warmEnd) call();
  let best = 0;
  const caseEnd = performance.now() + CASE_MS;
  while (performance.now() < caseEnd) {
    let reps = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < WINDOW_MS) {
      call();
      reps++;
      t1 = performance.now();
    }
    best = Math.max(best, (2 * m * n * k * reps) / ((t1 - t0) * 1e6));
  }
  return best;
}

/**
 * Keys like `gflops.wasm.abt.128x256x784` (kernel, product, m×n×k) → GFLOP/s, and
 * `gflops.wasm.step`: the rate of one whole training step's products (all flops over the time
 * all of them take), which is what the compute estimate of libs/cluster/src/payoff.ts divides by.
 * The cases are exactly one step's products, so that rate is their flop-weighted harmonic mean.
 */
export async function benchKernels(): Promise<Record<string, number>> {
  const kernels: [string, Kernels][] = [['js', jsKernels]];
  if (wasmSimdAvailable()) kernels.push(['wasm', createWasmKernels({ maxFloats: 8 * 1024 * 1024 })]);
  const results: Record<string, number> = {};
  for (const [label, impl] of kernels) {
    let flops = 0,
      seconds = 0;
    for (const [op, m, n, k] of cases) {
      const rate = gflops(impl, op, m, n, k, new Rng(1));
      results[`gflops.${label}.${op}.${m}x${n}x${k}`] = rate;
      flops += 2 * m * n * k;
      seconds += (2 * m * n * k) / (rate * 1e9);
    }
    results[`gflops.${label}.step`] = flops / seconds / 1e9;
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchKernels();
  console.log('product  m×n×k          js GFLOP/s  wasm GFLOP/s  speed-up');
  for (const [op, m, n, k] of cases) {
    const shape = `${m}x${n}x${k}`;
    const js = results[`gflops.js.${op}.${shape}`];
    const wasm = results[`gflops.wasm.${op}.${shape}`];
    const row = [op.padEnd(8), shape.padEnd(14), js.toFixed(2).padStart(10)];
    if (wasm !== undefined) row.push(wasm.toFixed(2).padStart(13), `${(wasm / js).toFixed(1)}×`.padStart(9));
    console.log(row.join(' '));
  }
  const step = ['js', 'wasm']
    .filter((k) => results[`gflops.${k}.step`] !== undefined)
    .map((k) => `${k} ${results[`gflops.${k}.step`].toFixed(2)}`);
  console.log(`one training step's products together (GFLOP/s): ${step.join(', ')}`);
}
