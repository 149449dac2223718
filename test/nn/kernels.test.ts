import { describe, expect, it } from 'vitest';
import { jsKernels } from '../../libs/nn/src/kernels/js.js';
import type { Kernels } from '../../libs/nn/src/kernels/types.js';
import { createWasmKernels, wasmSimdAvailable } from '../../libs/nn/src/kernels/wasm/index.js';
import { Rng } from '../../libs/nn/src/rng.js';

type Product = 'matmulABt' | 'matmulAB' | 'matmulAtB';
const products: Product[] = ['matmulABt', 'matmulAB', 'matmulAtB'];

/** Element (i,p) of A and (p,j) of the right factor, per product layout, for the tolerance scale. */
function absDot(
  op: Product,
  A: Float32Array,
  B: Float32Array,
  m: number,
  n: number,
  k: number,
  i: number,
  j: number,
): number {
  let s = 0;
  for (let p = 0; p < k; p++) {
    const a = op === 'matmulAtB' ? A[p * m + i] : A[i * k + p];
    const b = op === 'matmulABt' ? B[j * k + p] : B[p * n + j];
    s += Math.abs(a * b);
  }
  return s;
}

function fill(x: Float32Array, rng: Rng): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

function run(
  kernels: Kernels,
  op: Product,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  m: number,
  n: number,
  k: number,
  bias: Float32Array | null,
) {
  if (op === 'matmulABt') kernels.matmulABt(A, B, C, m, n, k, bias);
  else kernels[op](A, B, C, m, n, k);
}

/**
 * Tolerance: both kernels sum the same k products, the JS one in f64 and wasm in f32, so
 * |c_wasm − c_js| ≤ 1e-5 · Σ_p |a_ip · b_pj| + 1e-6 (f32 rounding grows at most ~k·2⁻²⁴ relative
 * to Σ|ab|; 1e-5 covers k up to ~160 in the worst case and far more in practice).
 */
function expectAgrees(
  op: Product,
  A: Float32Array,
  B: Float32Array,
  got: Float32Array,
  want: Float32Array,
  m: number,
  n: number,
  k: number,
) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const err = Math.abs(got[i * n + j] - want[i * n + j]);
      const tol = 1e-5 * absDot(op, A, B, m, n, k, i, j) + 1e-6;
      if (!(err <= tol)) {
        throw new Error(
          `${op} ${m}×${n}×${k}: C[${i},${j}] wasm ${got[i * n + j]} js ${want[i * n + j]} (|Δ| ${err} > ${tol})`,
        );
      }
    }
  }
}

describe.skipIf(!wasmSimdAvailable())('wasm-simd kernels', () => {
  const wasm = createWasmKernels({ maxFloats: 16 * 1024 * 1024 });

  it('is named and allocates zeroed, 16-byte-aligned views of its memory', () => {
    expect(wasm.name).toBe('wasm-simd');
    const a = wasm.alloc(3);
    const b = wasm.alloc(5);
    expect(a.length).toBe(3);
    expect(a.byteOffset % 16).toBe(0);
    expect(b.byteOffset % 16).toBe(0);
    expect(a.buffer).toBe(b.buffer);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 12);
    expect(Array.from(b)).toEqual([0, 0, 0, 0, 0]);
  });

  it('computes a hand-checked 2×3 · 3×2 product in all three layouts, with bias', () => {
    // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]: A·B = [[58,64],[139,154]]
    const expected = [58, 64, 139, 154];
    for (const arena of [true, false]) {
      const make = (v: number[]) => {
        const x = arena ? wasm.alloc(v.length) : new Float32Array(v.length);
        x.set(v);
        return x;
      };
      const C = arena ? wasm.alloc(4) : new Float32Array(4);
      wasm.matmulAB(make([1, 2, 3, 4, 5, 6]), make([7, 8, 9, 10, 11, 12]), C, 2, 2, 3);
      expect(Array.from(C)).toEqual(expected);
      wasm.matmulABt(make([1, 2, 3, 4, 5, 6]), make([7, 9, 11, 8, 10, 12]), C, 2, 2, 3, make([0.5, -1]));
      expect(Array.from(C)).toEqual([58.5, 63, 139.5, 153]);
      wasm.matmulAtB(make([1, 4, 2, 5, 3, 6]), make([7, 8, 9, 10, 11, 12]), C, 2, 2, 3);
      expect(Array.from(C)).toEqual(expected);
    }
  });

  it('agrees with jsKernels on random shapes 1..70 (arena views and plain arrays, with and without bias)', () => {
    const rng = new Rng(20240611);
    for (let trial = 0; trial < 180; trial++) {
      const op = products[trial % 3];
      const edge = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 70];
      const pick = () => (rng.next() < 0.4 ? edge[rng.int(edge.length)] : 1 + rng.int(70));
      const m = pick(),
        n = pick(),
        k = pick();
      const arena = trial % 2 === 0;
      const withBias = op === 'matmulABt' && trial % 4 < 2;
      const a = m * k,
        b = n * k; // A and B sizes in every layout; C is [m,n]
      const mk = (len: number) => fill(arena ? wasm.alloc(len) : new Float32Array(len), rng);
      const A = mk(a),
        B = mk(b),
        bias = withBias ? mk(n) : null;
      const C = arena ? wasm.alloc(m * n) : new Float32Array(m * n);
      C.fill(Number.NaN); // every element must be written
      const want = new Float32Array(m * n);
      run(jsKernels, op, A, B, want, m, n, k, bias);
      run(wasm, op, A, B, C, m, n, k, bias);
      expectAgrees(op, A, B, C, want, m, n, k);
    }
  });

  it('agrees with jsKernels on the MLP shapes (784-256-128-10, batch 128)', () => {
    const rng = new Rng(7);
    const cases: [Product, number, number, number][] = [
      ['matmulABt', 128, 256, 784],
      ['matmulABt', 128, 128, 256],
      ['matmulABt', 128, 10, 128],
      ['matmulAtB', 256, 784, 128],
      ['matmulAtB', 128, 256, 128],
      ['matmulAtB', 10, 128, 128],
      ['matmulAB', 128, 128, 10],
      ['matmulAB', 128, 256, 128],
      ['matmulAB', 128, 784, 256],
    ];
    for (const [op, m, n, k] of cases) {
      for (const arena of [true, false]) {
        const a = m * k,
          b = n * k; // A and B sizes in every layout; C is [m,n]
        const mk = (len: number) => fill(arena ? wasm.alloc(len) : new Float32Array(len), rng);
        const A = mk(a),
          B = mk(b),
          bias = op === 'matmulABt' ? mk(n) : null;
        const C = arena ? wasm.alloc(m * n) : new Float32Array(m * n);
        const want = new Float32Array(m * n);
        run(jsKernels, op, A, B, want, m, n, k, bias);
        run(wasm, op, A, B, C, m, n, k, bias);
        expectAgrees(op, A, B, C, want, m, n, k);
      }
    }
  });

  it('writes bias (or zeros) when k = 0', () => {
    const C = wasm.alloc(6).fill(Number.NaN);
    const bias = wasm.alloc(3);
    bias.set([1, 2, 3]);
    wasm.matmulABt(wasm.alloc(0), wasm.alloc(0), C, 2, 3, 0, bias);
    expect(Array.from(C)).toEqual([1, 2, 3, 1, 2, 3]);
    wasm.matmulAB(wasm.alloc(0), wasm.alloc(0), C, 2, 3, 0);
    expect(Array.from(C)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('is deterministic: the same inputs give bit-identical outputs', () => {
    const rng = new Rng(99);
    for (const op of products) {
      const [m, n, k] = [37, 45, 300]; // ragged edges and more than one k-block
      const A = fill(wasm.alloc(m * k), rng),
        B = fill(wasm.alloc(n * k), rng),
        bias = fill(wasm.alloc(n), rng);
      const C1 = wasm.alloc(m * n),
        C2 = wasm.alloc(m * n),
        C3 = new Float32Array(m * n);
      run(wasm, op, A, B, C1, m, n, k, bias);
      run(wasm, op, A, B, C2, m, n, k, bias);
      run(wasm, op, A.slice(), B.slice(), C3, m, n, k, bias.slice());
      expect(new Uint32Array(C2.buffer, C2.byteOffset, m * n)).toEqual(
        new Uint32Array(C1.buffer, C1.byteOffset, m * n),
      );
      expect(new Uint32Array(C3.buffer)).toEqual(new Uint32Array(C1.slice().buffer));
    }
  });

  it('computes ReLU forward and backward, bias-gradient column sums and shard-sum additions with the same bits as jsKernels', () => {
    const rng = new Rng(5);
    const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
    for (const [rows, cols] of [
      [1, 1],
      [3, 5],
      [7, 4],
      [128, 10],
      [64, 257],
    ]) {
      const len = rows * cols;
      const u = fill(wasm.alloc(len), rng);
      u[0] = NaN; // both kernels map NaN and −0 to +0 and treat them as inactive
      if (len > 2) u[2] = -0;
      const d = fill(wasm.alloc(len), rng);
      const zW = wasm.alloc(len),
        zJ = new Float32Array(len);
      wasm.reluForward(u, zW, len);
      jsKernels.reluForward(u, zJ, len);
      expect(bits(zW)).toEqual(bits(zJ));
      expect(zW[0]).toBe(0);
      const dW = wasm.alloc(len),
        dJ = Float32Array.from(d);
      dW.set(d);
      wasm.reluBackward(u, dW, len);
      jsKernels.reluBackward(u, dJ, len);
      expect(bits(dW)).toEqual(bits(dJ));
      const sW = wasm.alloc(cols),
        sJ = new Float32Array(cols);
      wasm.columnSums(d, rows, cols, sW);
      jsKernels.columnSums(d, rows, cols, sJ);
      expect(bits(sW)).toEqual(bits(sJ));
      let hand = 0; // float32 sum of column cols−1, in row order
      for (let r = 0; r < rows; r++) hand = Math.fround(hand + d[r * cols + cols - 1]);
      expect(sW[cols - 1]).toBe(hand);
      // plain arrays (copied in and out) give the same
      const sP = new Float32Array(cols);
      wasm.columnSums(Float32Array.from(d), rows, cols, sP);
      expect(bits(sP)).toEqual(bits(sJ));
      // adding one shard's sum to another's: float32 sums, the same bits
      const aW = wasm.alloc(len),
        aJ = Float32Array.from(u);
      aW.set(u);
      wasm.addInto(aW, d, len);
      jsKernels.addInto(aJ, d, len);
      expect(bits(aW)).toEqual(bits(aJ));
      if (len > 3) expect(aW[3]).toBe(Math.fround(u[3] + d[3]));
    }
  });

  it('divides a gradient sum and adam-steps with the same bits as jsKernels, and reports non-finite values', () => {
    const rng = new Rng(11);
    for (const len of [1, 2, 3, 5, 8, 17, 1001]) {
      for (const foreign of [false, true]) {
        const make = () => (foreign ? new Float32Array(len) : wasm.alloc(len));
        const [gJ, mJ, vJ, wJ] = [0, 0, 0, 0].map(() => new Float32Array(len));
        const [gW, mW, vW, wW] = [make(), make(), make(), make()];
        for (const [j, w] of [
          [gJ, gW],
          [mJ, mW],
          [vJ, vW],
          [wJ, wW],
        ]) {
          fill(j, rng);
          w.set(j);
        }
        for (let i = 0; i < len; i++) vJ[i] = vW[i] = Math.abs(vJ[i]); // second moments are ≥ 0
        expect(wasm.divideCheck(gW, 7)).toBe(jsKernels.divideCheck(gJ, 7));
        expect(Array.from(gW)).toEqual(Array.from(gJ));
        expect(gJ[0]).toBe(Math.fround(gJ[0])); // still float32 values
        for (let t = 1; t <= 3; t++) {
          const c = {
            b1: 0.9,
            b2: 0.999,
            a1: 1 - 0.9,
            a2: 1 - 0.999,
            alpha: (0.001 * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t),
            epsHat: 1e-8 * Math.sqrt(1 - 0.999 ** t),
          };
          jsKernels.adamStep(wJ, gJ, mJ, vJ, c);
          wasm.adamStep(wW, gW, mW, vW, c);
        }
        for (const [j, w] of [
          [wJ, wW],
          [mJ, mW],
          [vJ, vW],
        ])
          expect(
            Buffer.from(w.buffer, w.byteOffset, w.byteLength).equals(Buffer.from(j.buffer, j.byteOffset, j.byteLength)),
          ).toBe(true);
      }
    }
    // a hand-checked mean, and ±Inf / NaN anywhere (SIMD body or scalar tail) reported by both
    const g = wasm.alloc(6);
    g.set([2, -4, 6, 1, 3, 0]);
    expect(wasm.divideCheck(g, 2)).toBe(true);
    expect(Array.from(g)).toEqual([1, -2, 3, 0.5, 1.5, 0]);
    for (const at of [0, 3, 5]) {
      for (const bad of [Infinity, -Infinity, NaN]) {
        for (const k of [wasm, jsKernels]) {
          const x = k.alloc(6);
          x.fill(1);
          x[at] = bad;
          expect(k.divideCheck(x, 3), `${k.name} ${bad} at ${at}`).toBe(false);
        }
      }
    }
    for (const k of [wasm, jsKernels]) {
      const huge = k.alloc(5);
      huge.fill(3e38);
      expect(k.divideCheck(huge, 0.5), k.name).toBe(false); // the float32 quotient overflows to Infinity
    }
  });

  it('rejects short operands and an exhausted arena with clear errors, without detaching views', () => {
    const small = createWasmKernels({ maxFloats: 1000 });
    const view = small.alloc(896); // 896 floats = 56 × 64 bytes: no alignment slack
    expect(() => small.alloc(200)).toThrow(/wasm kernel arena exhausted: asked 200 floats, 104 left; raise maxFloats/);
    expect(() =>
      small.matmulAB(new Float32Array(50 * 50), new Float32Array(50 * 50), new Float32Array(50 * 50), 50, 50, 50),
    ).toThrow(/wasm kernel arena exhausted/);
    expect(small.alloc(104).length).toBe(104); // exactly fills the arena
    expect(view.length).toBe(896); // still attached
    expect(() => small.matmulAB(view, view, new Float32Array(3), 2, 2, 2)).toThrow(/C needs 4 floats, got 3/);
    expect(() => small.matmulABt(view, view, view, 2, 2, 2, new Float32Array(1))).toThrow(/bias needs 2 floats/);
    expect(() => createWasmKernels({ maxFloats: 0 })).toThrow(/maxFloats must be a positive integer/);
  });
});
