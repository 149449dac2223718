/**
 * The matrix products training needs, the element-wise loops around them (ReLU, bias gradients) and
 * the two whole-parameter loops of every step (batch mean, Adam), behind one interface so the plain TypeScript reference and the WebAssembly SIMD kernels are
 * interchangeable. All matrices are row-major Float32Array views.
 *
 * Dense layer with W [out, in], a shard's activations Z [n, in] and deltas D [n, out]:
 *   forward   U  = Z · Wᵀ + b      matmulABt(Z, W, U, n, out, in, b)
 *   weights   dW = Dᵀ · Z          matmulAtB(D, Z, dW, out, in, n)
 *   backward  dZ = D · W           matmulAB(D, W, dZ, n, in, out)
 */
export interface Kernels {
  /** Recorded in jobs and model files; results are bit-identical only within one kernel. */
  readonly name: string;
  /**
   * A zeroed buffer the kernels can read and write without copying (for WebAssembly, a view of its
   * memory). Allocate everything at setup: views stay valid for the life of the kernels object.
   */
  alloc(length: number): Float32Array;
  /** C[m,n] = A[m,k] · B[n,k]ᵀ (+ bias[n] on every row). */
  matmulABt(
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    m: number,
    n: number,
    k: number,
    bias?: Float32Array | null,
  ): void;
  /** C[m,n] = A[m,k] · B[k,n]. */
  matmulAB(A: Float32Array, B: Float32Array, C: Float32Array, m: number, n: number, k: number): void;
  /** C[m,n] = A[k,m]ᵀ · B[k,n]. */
  matmulAtB(A: Float32Array, B: Float32Array, C: Float32Array, m: number, n: number, k: number): void;
  /** z[i] = u[i] > 0 ? u[i] : 0 for i < len (ReLU; NaN and −0 give +0). */
  reluForward(u: Float32Array, z: Float32Array, len: number): void;
  /** d[i] = u[i] > 0 ? d[i] : 0 for i < len (the ReLU derivative applied to deltas, in place). */
  reluBackward(u: Float32Array, d: Float32Array, len: number): void;
  /** dst[i] += src[i] for i < len, in float32 (adding a shard's gradient sum to the step's). */
  addInto(dst: Float32Array, src: Float32Array, len: number): void;
  /** out[j] = Σ_r A[r, j] for A [rows, cols], summed in row order in float32 (bias gradients). */
  columnSums(A: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /**
   * g[i] ← g[i] / n in place (a batch's gradient sum into its mean); false when any result is not
   * finite. Bit-identical across kernels: each quotient is the correctly rounded float32.
   */
  divideCheck(g: Float32Array, n: number): boolean;
  /**
   * One Adam step in place over the whole block (libs/nn/src/optim.ts has the formula), in float32
   * arithmetic with the constants rounded to float32: bit-identical across kernels.
   */
  adamStep(w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, c: AdamConstants): void;
}

/** Adam's per-step constants in the efficient form: α_t and ε̂ carry the bias corrections. */
export interface AdamConstants {
  b1: number;
  b2: number;
  a1: number; // 1 − β1
  a2: number; // 1 − β2
  alpha: number;
  epsHat: number;
}
