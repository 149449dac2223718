// Single-precision matrix products for training, in WebAssembly 128-bit SIMD (AssemblyScript).
// Compiled by libs/nn/scripts/build-wasm.mjs into libs/nn/src/kernels/wasm/gemm.wasm; the
// TypeScript wrapper (libs/nn/src/kernels/wasm/index.ts) owns the memory and passes byte addresses.
//
// The three products are one blocked loop (GotoBLAS layout) differing only in how A and B are read:
//   ABt  A [m,k], B [n,k]      AB  A [m,k], B [k,n]      AtB  A [k,m], B [k,n]
// For each block of MC rows and KC steps of k, A is packed into strips [KC][4] (4 rows interleaved)
// and, per 8 columns of C, B into a panel [KC][8]; both are zero-padded at the edges. The 4×8 tile
// kernel then walks two contiguous streams with immediate offsets: per step of p it does 4 splat
// loads + 2 panel loads for 8 f32x4 multiply-adds into 8 accumulators that never leave registers
// (V8 on x64 has 15 usable xmm registers). Measured with bench/kernels.ts on this design's
// alternatives: packing (2 pointer bumps per step instead of 6) gained ~1.5× over reading A and B in
// place; unrolling p by 2 or 4 lost 25-40% (V8 hoists the extra loads and spills accumulators), and
// 5×8 or 6×8 tiles lost ~30%, so the loop is one p per iteration on a 4×8 tile.
//
// Each C element is summed in f32 over p = 0..k-1 in order; a later k-block continues from the
// stored partial sum, so the order is one sequential pass and results are deterministic per shape.

const KC: i32 = 256; // k-block: a B panel of KC×8 floats is 8 KiB and stays in L1
const MC: i32 = 128; // row block: packed A of MC×KC floats is 128 KiB and stays in L2
const A_PACK_BYTES: usize = <usize>MC * <usize>KC * 4;
const B_PANEL_OFFSET: usize = A_PACK_BYTES;
const BIAS_OFFSET: usize = B_PANEL_OFFSET + <usize>KC * 32; // [8] bias slice, zero-padded
const TILE_OFFSET: usize = BIAS_OFFSET + 32; // [4, 8] staging tile for C at ragged edges
const SCRATCH_BYTES: usize = TILE_OFFSET + 128;

/** Bytes of 16-byte-aligned scratch every product needs at its `scratch` argument. */
export function scratchBytes(): usize {
  return SCRATCH_BYTES;
}

/** First byte after the module's static data: the wrapper puts scratch and arena at or above it. */
export function heapBase(): usize {
  return __heap_base;
}

@inline function madd(acc: v128, x: v128, y: v128): v128 {
  return f32x4.add(acc, f32x4.mul(x, y));
}

/** Stores the transpose of the 4×4 block with rows r0..r3 as 4 vectors at dst, dst+step, ... */
@inline function storeTransposed4x4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, step: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

// ---- packing ------------------------------------------------------------------------------------

/**
 * Packs rows [0, mc) × steps [0, kc) of A into strips dst[ceil(mc/4)][kc][4].
 * `transposedA` false: element (r, p) at a + r·lda + 4p (AB, ABt); true: at a + 4r + p·lda (AtB).
 */
function packA(a: usize, lda: usize, transposedA: bool, mc: i32, kc: i32, dst: usize): void {
  const stripBytes = <usize>kc << 4;
  for (let i = 0; i < mc; i += 4) {
    const mr = min(4, mc - i);
    if (mr < 4) memory.fill(dst, 0, stripBytes);
    if (transposedA) {
      const src = a + (<usize>i << 2);
      if (mr == 4) {
        for (let p = 0; p < kc; p++) v128.store(dst + (<usize>p << 4), v128.load(src + <usize>p * lda));
      } else {
        for (let p = 0; p < kc; p++) {
          for (let r = 0; r < mr; r++) store<f32>(dst + (<usize>p << 4) + (<usize>r << 2), load<f32>(src + <usize>p * lda + (<usize>r << 2)));
        }
      }
    } else {
      const src = a + <usize>i * lda;
      let p = 0;
      if (mr == 4) {
        for (; p + 4 <= kc; p += 4) {
          const s = src + (<usize>p << 2);
          storeTransposed4x4(v128.load(s), v128.load(s + lda), v128.load(s + 2 * lda), v128.load(s + 3 * lda), dst + (<usize>p << 4), 16);
        }
      }
      for (; p < kc; p++) {
        for (let r = 0; r < mr; r++) store<f32>(dst + (<usize>p << 4) + (<usize>r << 2), load<f32>(src + <usize>r * lda + (<usize>p << 2)));
      }
    }
    dst += stripBytes;
  }
}

/**
 * Packs columns [0, nr) × steps [0, kc) of B into dst[kc][8], zero-padding columns nr..7.
 * `transposedB` true: element (p, j) at b + j·ldb + 4p (ABt, B is [n,k]); false: b + p·ldb + 4j.
 */
function packB(b: usize, ldb: usize, transposedB: bool, nr: i32, kc: i32, dst: usize): void {
  if (nr < 8) memory.fill(dst, 0, <usize>kc << 5);
  if (transposedB) {
    let p = 0;
    if (nr == 8) {
      for (; p + 4 <= kc; p += 4) {
        const s = b + (<usize>p << 2);
        const d = dst + (<usize>p << 5);
        storeTransposed4x4(v128.load(s), v128.load(s + ldb), v128.load(s + 2 * ldb), v128.load(s + 3 * ldb), d, 32);
        const s4 = s + 4 * ldb;
        storeTransposed4x4(v128.load(s4), v128.load(s4 + ldb), v128.load(s4 + 2 * ldb), v128.load(s4 + 3 * ldb), d + 16, 32);
      }
    }
    for (; p < kc; p++) {
      for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>p << 5) + (<usize>j << 2), load<f32>(b + <usize>j * ldb + (<usize>p << 2)));
    }
  } else if (nr == 8) {
    for (let p = 0; p < kc; p++) {
      const s = b + <usize>p * ldb;
      v128.store(dst + (<usize>p << 5), v128.load(s));
      v128.store(dst + (<usize>p << 5), v128.load(s, 16), 16);
    }
  } else {
    for (let p = 0; p < kc; p++) {
      for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>p << 5) + (<usize>j << 2), load<f32>(b + <usize>p * ldb + (<usize>j << 2)));
    }
  }
}

// ---- the 4×8 tile -------------------------------------------------------------------------------

/**
 * C[0..4, 0..8] (row stride ldc bytes) = (first ? 0 : C) + Σ_p strip[p] ⊗ panel[p] (+ bias[8]).
 * Not unrolled: see the header for what unrolling cost.
 */
function tile4x8(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, first: bool, bias: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (!first) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  }
  const end = bp + (<usize>kc << 5);
  while (bp < end) {
    const y0 = v128.load(bp), y1 = v128.load(bp, 16);
    let x = v128.load32_splat(ap); c00 = madd(c00, x, y0); c01 = madd(c01, x, y1);
    x = v128.load32_splat(ap, 4); c10 = madd(c10, x, y0); c11 = madd(c11, x, y1);
    x = v128.load32_splat(ap, 8); c20 = madd(c20, x, y0); c21 = madd(c21, x, y1);
    x = v128.load32_splat(ap, 12); c30 = madd(c30, x, y0); c31 = madd(c31, x, y1);
    ap += 16;
    bp += 32;
  }
  if (bias != 0) {
    const z0 = v128.load(bias), z1 = v128.load(bias, 16);
    c00 = f32x4.add(c00, z0); c01 = f32x4.add(c01, z1);
    c10 = f32x4.add(c10, z0); c11 = f32x4.add(c11, z1);
    c20 = f32x4.add(c20, z0); c21 = f32x4.add(c21, z1);
    c30 = f32x4.add(c30, z0); c31 = f32x4.add(c31, z1);
  }
  v128.store(c, c00); v128.store(c, c01, 16); c += ldc;
  v128.store(c, c10); v128.store(c, c11, 16); c += ldc;
  v128.store(c, c20); v128.store(c, c21, 16); c += ldc;
  v128.store(c, c30); v128.store(c, c31, 16);
}

// ---- ragged edges: stage C through an aligned [4, 8] tile -------------------------------------------

function stageIn(c: usize, ldc: usize, mr: i32, nr: i32, tile: usize): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) store<f32>(tile + (<usize>r << 5) + (<usize>j << 2), load<f32>(c + <usize>r * ldc + (<usize>j << 2)));
  }
}

function stageOut(c: usize, ldc: usize, mr: i32, nr: i32, tile: usize): void {
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) store<f32>(c + <usize>r * ldc + (<usize>j << 2), load<f32>(tile + (<usize>r << 5) + (<usize>j << 2)));
  }
}

// ---- the blocked loop ---------------------------------------------------------------------------------

/** Zero-padded [8] copy of bias[0 .. nr) at dst. */
function packBias(bias: usize, nr: i32, dst: usize): void {
  v128.store(dst, f32x4.splat(0));
  v128.store(dst, f32x4.splat(0), 16);
  for (let j = 0; j < nr; j++) store<f32>(dst + (<usize>j << 2), load<f32>(bias + (<usize>j << 2)));
}

/**
 * C[m,n] = op(A) · op(B) (+ bias). Loop order: row block (MC) → k-block (KC, pack A) → column
 * panel (8, pack B) → 4-row tiles. A is packed once; B once per row block.
 */
@inline function gemm(
  a: usize, lda: usize, transposedA: bool, b: usize, ldb: usize, transposedB: bool,
  c: usize, m: i32, n: i32, k: i32, bias: usize, scratch: usize,
): void {
  const ldc = <usize>n << 2;
  const aPack = scratch, bPanel = scratch + B_PANEL_OFFSET, biasPanel = scratch + BIAS_OFFSET, tile = scratch + TILE_OFFSET;
  for (let i0 = 0; i0 < m; i0 += MC) {
    const mc = min(MC, m - i0);
    let p0 = 0;
    do {
      const kc = min(KC, k - p0);
      const first = p0 == 0, last = p0 + kc >= k;
      const aBlock = transposedA ? a + <usize>p0 * lda + (<usize>i0 << 2) : a + <usize>i0 * lda + (<usize>p0 << 2);
      packA(aBlock, lda, transposedA, mc, kc, aPack);
      for (let j0 = 0; j0 < n; j0 += 8) {
        const nr = min(8, n - j0);
        const bBlock = transposedB ? b + <usize>j0 * ldb + (<usize>p0 << 2) : b + <usize>p0 * ldb + (<usize>j0 << 2);
        packB(bBlock, ldb, transposedB, nr, kc, bPanel);
        const addBias = last && bias != 0;
        if (addBias) packBias(bias + (<usize>j0 << 2), nr, biasPanel);
        for (let i = 0; i < mc; i += 4) {
          const mr = min(4, mc - i);
          const strip = aPack + <usize>i * (<usize>kc << 2);
          const ci = c + <usize>(i0 + i) * ldc + (<usize>j0 << 2);
          if (mr == 4 && nr == 8) {
            tile4x8(strip, bPanel, kc, ci, ldc, first, addBias ? biasPanel : 0);
          } else {
            if (!first) stageIn(ci, ldc, mr, nr, tile);
            tile4x8(strip, bPanel, kc, tile, 32, first, addBias ? biasPanel : 0);
            stageOut(ci, ldc, mr, nr, tile);
          }
        }
      }
      p0 += kc;
    } while (p0 < k);
  }
}

// ---- exports: pointers are byte addresses; bias = 0 means none -----------------------------------

/** C[m,n] = A[m,k] · B[n,k]ᵀ (+ bias[n] on every row). */
export function matmulABt(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, bias: usize, scratch: usize): void {
  gemm(a, <usize>k << 2, false, b, <usize>k << 2, true, c, m, n, k, bias, scratch);
}

/** C[m,n] = A[m,k] · B[k,n]. */
export function matmulAB(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, scratch: usize): void {
  gemm(a, <usize>k << 2, false, b, <usize>n << 2, false, c, m, n, k, 0, scratch);
}

/** C[m,n] = A[k,m]ᵀ · B[k,n]. */
export function matmulAtB(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, scratch: usize): void {
  gemm(a, <usize>m << 2, true, b, <usize>n << 2, false, c, m, n, k, 0, scratch);
}

// ---- element-wise: the batch mean and the Adam update -------------------------------------------
// Both give the same bits as the plain TypeScript loops: each float32 operation here is correctly
// rounded, and so is its TypeScript twin, an f64 operation rounded to float32 by Math.fround or a
// Float32Array store (for + − × ÷ √ a 53-bit result rounded to 24 bits cannot double-round), done in
// the same order (WebAssembly never contracts a·b + c).

/**
 * g[i] ← g[i] / n for i < len, in place; returns 1 when every result is finite, else 0.
 * A value v is finite exactly when v − v is 0 (NaN otherwise), so the check is branch-free.
 */
export function divideCheck(g: usize, len: i32, n: f32): i32 {
  const d = f32x4.splat(n);
  let bad = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const p = g + (<usize>i << 2);
    const q = f32x4.div(v128.load(p), d);
    v128.store(p, q);
    bad = f32x4.add(bad, f32x4.sub(q, q));
  }
  let tail: f32 = 0;
  for (; i < len; i++) {
    const p = g + (<usize>i << 2);
    const q = load<f32>(p) / n;
    store<f32>(p, q);
    tail += q - q;
  }
  const s = f32x4.extract_lane(bad, 0) + f32x4.extract_lane(bad, 1) + f32x4.extract_lane(bad, 2) + f32x4.extract_lane(bad, 3) + tail;
  return s == 0 ? 1 : 0;
}

/**
 * One Adam step for i < len (Kingma & Ba's efficient form; see libs/nn/src/optim.ts), all in float32
 * as PyTorch's Adam computes it, with the constants rounded to float32 once:
 *   m ← b1·m + a1·g;  v ← b2·v + (a2·g)·g;  w ← w − (α·m) / (√v + ε̂)
 */
export function adamStep(w: usize, g: usize, m: usize, v: usize, len: i32, b1: f32, b2: f32, a1: f32, a2: f32, alpha: f32, epsHat: f32): void {
  const B1 = f32x4.splat(b1), B2 = f32x4.splat(b2), A1 = f32x4.splat(a1), A2 = f32x4.splat(a2);
  const AL = f32x4.splat(alpha), EH = f32x4.splat(epsHat);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const mi = f32x4.add(f32x4.mul(B1, v128.load(m + o)), f32x4.mul(A1, gi));
    const vi = f32x4.add(f32x4.mul(B2, v128.load(v + o)), f32x4.mul(f32x4.mul(A2, gi), gi));
    v128.store(m + o, mi);
    v128.store(v + o, vi);
    v128.store(w + o, f32x4.sub(v128.load(w + o), f32x4.div(f32x4.mul(AL, mi), f32x4.add(f32x4.sqrt(vi), EH))));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const mi = b1 * load<f32>(m + o) + a1 * gi;
    const vi = b2 * load<f32>(v + o) + a2 * gi * gi;
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    store<f32>(w + o, load<f32>(w + o) - (alpha * mi) / (Mathf.sqrt(vi) + epsHat));
  }
}

// ---- element-wise: ReLU and bias gradients (the rest of a backprop step outside the products) ----
// Exact operations (a comparison, a select, float32 additions in row order), so each gives the same
// bits as its TypeScript loop.

/** z[i] = u[i] > 0 ? u[i] : 0 for i < len (NaN and −0 give +0). */
export function reluForward(u: usize, z: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    const x = v128.load(u + o);
    v128.store(z + o, v128.and(x, f32x4.gt(x, zero)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    const x = load<f32>(u + o);
    store<f32>(z + o, x > 0 ? x : 0);
  }
}

/** d[i] = u[i] > 0 ? d[i] : 0 for i < len: the ReLU derivative applied to the deltas. */
export function reluBackward(u: usize, d: usize, len: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(d + o, v128.and(v128.load(d + o), f32x4.gt(v128.load(u + o), zero)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    if (!(load<f32>(u + o) > 0)) store<f32>(d + o, 0);
  }
}

/** out[j] = Σ_r a[r, j] over rows 0..rows-1 in order, in float32 (a is [rows, cols]). */
export function columnSums(a: usize, rows: i32, cols: i32, out: usize): void {
  const rowBytes = <usize>cols << 2;
  let j = 0;
  for (; j + 4 <= cols; j += 4) {
    const o = <usize>j << 2;
    let s = f32x4.splat(0);
    for (let r = 0; r < rows; r++) s = f32x4.add(s, v128.load(a + <usize>r * rowBytes + o));
    v128.store(out + o, s);
  }
  for (; j < cols; j++) {
    const o = <usize>j << 2;
    let s: f32 = 0;
    for (let r = 0; r < rows; r++) s += load<f32>(a + <usize>r * rowBytes + o);
    store<f32>(out + o, s);
  }
}

/** dst[i] += src[i] for i < len, in float32 (two sibling nodes of a step's shard-sum tree). */
export function addInto(src: usize, dst: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}
