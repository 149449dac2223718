import type { AdamConstants, Kernels } from './types.js';

/**
 * Plain TypeScript kernels: the reference and the fallback. 4×4 register blocks keep 16 partial sums
 * in locals so V8 holds them in registers; each inner step does 16 multiply-adds for 8 loads.
 * Summation order inside a block is fixed, so results are deterministic for a given shape.
 */
export const jsKernels: Kernels = {
  name: 'js',

  alloc(length: number): Float32Array {
    return new Float32Array(length);
  },

  matmulABt(A, B, C, m, n, k, bias) {
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = i * k,
        a1 = a0 + k,
        a2 = a1 + k,
        a3 = a2 + k;
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const b0 = j * k,
          b1 = b0 + k,
          b2 = b1 + k,
          b3 = b2 + k;
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c03 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c13 = 0;
        let c20 = 0,
          c21 = 0,
          c22 = 0,
          c23 = 0,
          c30 = 0,
          c31 = 0,
          c32 = 0,
          c33 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = A[a0 + p],
            x1 = A[a1 + p],
            x2 = A[a2 + p],
            x3 = A[a3 + p];
          const y0 = B[b0 + p],
            y1 = B[b1 + p],
            y2 = B[b2 + p],
            y3 = B[b3 + p];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        const d0 = bias ? bias[j] : 0,
          d1 = bias ? bias[j + 1] : 0,
          d2 = bias ? bias[j + 2] : 0,
          d3 = bias ? bias[j + 3] : 0;
        let o = i * n + j;
        C[o] = c00 + d0;
        C[o + 1] = c01 + d1;
        C[o + 2] = c02 + d2;
        C[o + 3] = c03 + d3;
        o += n;
        C[o] = c10 + d0;
        C[o + 1] = c11 + d1;
        C[o + 2] = c12 + d2;
        C[o + 3] = c13 + d3;
        o += n;
        C[o] = c20 + d0;
        C[o + 1] = c21 + d1;
        C[o + 2] = c22 + d2;
        C[o + 3] = c23 + d3;
        o += n;
        C[o] = c30 + d0;
        C[o + 1] = c31 + d1;
        C[o + 2] = c32 + d2;
        C[o + 3] = c33 + d3;
      }
      for (; j < n; j++) {
        const b0 = j * k;
        let c0 = 0,
          c1 = 0,
          c2 = 0,
          c3 = 0;
        for (let p = 0; p < k; p++) {
          const y = B[b0 + p];
          c0 += A[a0 + p] * y;
          c1 += A[a1 + p] * y;
          c2 += A[a2 + p] * y;
          c3 += A[a3 + p] * y;
        }
        const d = bias ? bias[j] : 0;
        C[i * n + j] = c0 + d;
        C[(i + 1) * n + j] = c1 + d;
        C[(i + 2) * n + j] = c2 + d;
        C[(i + 3) * n + j] = c3 + d;
      }
    }
    for (; i < m; i++) {
      const a0 = i * k;
      for (let j = 0; j < n; j++) {
        const b0 = j * k;
        let c = 0;
        for (let p = 0; p < k; p++) c += A[a0 + p] * B[b0 + p];
        C[i * n + j] = c + (bias ? bias[j] : 0);
      }
    }
  },

  matmulAB(A, B, C, m, n, k) {
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = i * k,
        a1 = a0 + k,
        a2 = a1 + k,
        a3 = a2 + k;
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c03 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c13 = 0;
        let c20 = 0,
          c21 = 0,
          c22 = 0,
          c23 = 0,
          c30 = 0,
          c31 = 0,
          c32 = 0,
          c33 = 0;
        for (let p = 0, b = j; p < k; p++, b += n) {
          const x0 = A[a0 + p],
            x1 = A[a1 + p],
            x2 = A[a2 + p],
            x3 = A[a3 + p];
          const y0 = B[b],
            y1 = B[b + 1],
            y2 = B[b + 2],
            y3 = B[b + 3];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        let o = i * n + j;
        C[o] = c00;
        C[o + 1] = c01;
        C[o + 2] = c02;
        C[o + 3] = c03;
        o += n;
        C[o] = c10;
        C[o + 1] = c11;
        C[o + 2] = c12;
        C[o + 3] = c13;
        o += n;
        C[o] = c20;
        C[o + 1] = c21;
        C[o + 2] = c22;
        C[o + 3] = c23;
        o += n;
        C[o] = c30;
        C[o + 1] = c31;
        C[o + 2] = c32;
        C[o + 3] = c33;
      }
      for (; j < n; j++) {
        let c0 = 0,
          c1 = 0,
          c2 = 0,
          c3 = 0;
        for (let p = 0, b = j; p < k; p++, b += n) {
          const y = B[b];
          c0 += A[a0 + p] * y;
          c1 += A[a1 + p] * y;
          c2 += A[a2 + p] * y;
          c3 += A[a3 + p] * y;
        }
        C[i * n + j] = c0;
        C[(i + 1) * n + j] = c1;
        C[(i + 2) * n + j] = c2;
        C[(i + 3) * n + j] = c3;
      }
    }
    for (; i < m; i++) {
      const a0 = i * k;
      for (let j = 0; j < n; j++) {
        let c = 0;
        for (let p = 0, b = j; p < k; p++, b += n) c += A[a0 + p] * B[b];
        C[i * n + j] = c;
      }
    }
  },

  matmulAtB(A, B, C, m, n, k) {
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        let c00 = 0,
          c01 = 0,
          c02 = 0,
          c03 = 0,
          c10 = 0,
          c11 = 0,
          c12 = 0,
          c13 = 0;
        let c20 = 0,
          c21 = 0,
          c22 = 0,
          c23 = 0,
          c30 = 0,
          c31 = 0,
          c32 = 0,
          c33 = 0;
        for (let p = 0, a = i, b = j; p < k; p++, a += m, b += n) {
          const x0 = A[a],
            x1 = A[a + 1],
            x2 = A[a + 2],
            x3 = A[a + 3];
          const y0 = B[b],
            y1 = B[b + 1],
            y2 = B[b + 2],
            y3 = B[b + 3];
          c00 += x0 * y0;
          c01 += x0 * y1;
          c02 += x0 * y2;
          c03 += x0 * y3;
          c10 += x1 * y0;
          c11 += x1 * y1;
          c12 += x1 * y2;
          c13 += x1 * y3;
          c20 += x2 * y0;
          c21 += x2 * y1;
          c22 += x2 * y2;
          c23 += x2 * y3;
          c30 += x3 * y0;
          c31 += x3 * y1;
          c32 += x3 * y2;
          c33 += x3 * y3;
        }
        let o = i * n + j;
        C[o] = c00;
        C[o + 1] = c01;
        C[o + 2] = c02;
        C[o + 3] = c03;
        o += n;
        C[o] = c10;
        C[o + 1] = c11;
        C[o + 2] = c12;
        C[o + 3] = c13;
        o += n;
        C[o] = c20;
        C[o + 1] = c21;
        C[o + 2] = c22;
        C[o + 3] = c23;
        o += n;
        C[o] = c30;
        C[o + 1] = c31;
        C[o + 2] = c32;
        C[o + 3] = c33;
      }
      for (; j < n; j++) {
        let c0 = 0,
          c1 = 0,
          c2 = 0,
          c3 = 0;
        for (let p = 0, a = i, b = j; p < k; p++, a += m, b += n) {
          const y = B[b];
          c0 += A[a] * y;
          c1 += A[a + 1] * y;
          c2 += A[a + 2] * y;
          c3 += A[a + 3] * y;
        }
        C[i * n + j] = c0;
        C[(i + 1) * n + j] = c1;
        C[(i + 2) * n + j] = c2;
        C[(i + 3) * n + j] = c3;
      }
    }
    for (; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let c = 0;
        for (let p = 0, a = i, b = j; p < k; p++, a += m, b += n) c += A[a] * B[b];
        C[i * n + j] = c;
      }
    }
  },

  reluForward(u: Float32Array, z: Float32Array, len: number): void {
    for (let i = 0; i < len; i++) z[i] = u[i] > 0 ? u[i] : 0;
  },

  reluBackward(u: Float32Array, d: Float32Array, len: number): void {
    for (let i = 0; i < len; i++) if (!(u[i] > 0)) d[i] = 0;
  },

  addInto(dst: Float32Array, src: Float32Array, len: number): void {
    for (let i = 0; i < len; i++) dst[i] += src[i]; // a Float32Array store: the float32 sum
  },

  columnSums(A: Float32Array, rows: number, cols: number, out: Float32Array): void {
    for (let j = 0; j < cols; j++) out[j] = 0;
    for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) out[j] += A[o + j]; // float32 stores: f32 sums
  },

  divideCheck(g: Float32Array, n: number): boolean {
    let bad = 0;
    for (let i = 0; i < g.length; i++) {
      g[i] /= n;
      const v = g[i]; // the stored float32: a quotient can overflow it even when the f64 one is finite
      bad += v - v; // 0 for finite values, NaN for ±Inf or NaN: no branch in the hot loop
    }
    return bad === 0;
  },

  adamStep(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamConstants): void {
    // float32 arithmetic, each operation rounded as WebAssembly's f32x4 rounds it
    const f = Math.fround;
    const b1 = f(c.b1),
      b2 = f(c.b2),
      a1 = f(c.a1),
      a2 = f(c.a2),
      alpha = f(c.alpha),
      epsHat = f(c.epsHat);
    for (let i = 0; i < w.length; i++) {
      const gi = g[i];
      m[i] = f(b1 * m[i]) + f(a1 * gi); // a Float32Array store rounds like f
      v[i] = f(b2 * v[i]) + f(f(a2 * gi) * gi);
      w[i] -= f(f(alpha * m[i]) / f(f(Math.sqrt(v[i])) + epsHat));
    }
  },
};
