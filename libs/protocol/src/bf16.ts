// bfloat16: the top 16 bits of a float32 (same exponent range, 8 bits of mantissa). The optional
// compact gradient encoding: half the bytes of float32 on the wire, rounded to nearest even.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** out[i] = bf16(src[i]), round to nearest even; NaN stays NaN. */
export function toBf16(src: Float32Array, out: Uint16Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0)
      out[i] = (b >>> 16) | 0x40; // quiet NaN
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** out[i] = float32 value of bf16 src[i] (exact). */
export function fromBf16(src: Uint16Array, out: Float32Array): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

/** The float32 value of one bf16-rounded number (tests, error feedback). */
export function roundBf16(v: number): number {
  f32[0] = v;
  const b = u32[0];
  u32[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
  return f32[0];
}

/**
 * Error feedback (Seide et al., 2014; Karimireddy et al., 2019): encodes g + residual to bf16 and keeps
 * what rounding lost in `residual`, so the error is sent with the next gradient instead of being dropped.
 */
export function toBf16WithFeedback(g: Float32Array, residual: Float32Array, out: Uint16Array): Uint16Array {
  for (let i = 0; i < g.length; i++) {
    f32[0] = g[i] + residual[i];
    const v = f32[0];
    const b = u32[0];
    const q = (b & 0x7f800000) === 0x7f800000 ? b >>> 16 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    out[i] = q;
    u32[0] = q << 16;
    residual[i] = Number.isFinite(v) ? v - f32[0] : 0;
  }
  return out;
}
