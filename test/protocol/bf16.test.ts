import { describe, expect, it } from 'vitest';
import {
  decodeShardResult,
  encodeShardResult,
  fromBf16,
  roundBf16,
  toBf16,
  toBf16WithFeedback,
} from '@redgrad/protocol';

describe('bf16 gradient encoding', () => {
  it('rounds to nearest even and decodes exactly', () => {
    const src = Float32Array.from([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 3.3, 0, -0, 1e30]);
    const q = toBf16(src, new Uint16Array(src.length));
    const back = fromBf16(q, new Float32Array(src.length));
    expect(back[0]).toBe(1);
    expect(back[1]).toBe(-2.5);
    expect(back[2]).toBe(1); // halfway between 1 and 1+2^-7: ties to even
    expect(back[3]).toBe(1 + 2 ** -7); // above halfway rounds up
    expect(Math.abs(back[4] - 3.3)).toBeLessThan(3.3 * 2 ** -8);
    expect(Object.is(back[6], -0)).toBe(true);
    for (let i = 0; i < src.length; i++) expect(back[i]).toBe(roundBf16(src[i]));
  });

  it('error feedback carries the rounding error into the next gradient', () => {
    const g = Float32Array.from([1 + 2 ** -9, 0.1, -7.77]);
    const residual = new Float32Array(3);
    const q = new Uint16Array(3);
    let sent = new Float64Array(3);
    for (let round = 0; round < 64; round++) {
      const dec = fromBf16(toBf16WithFeedback(g, residual, q), new Float32Array(3));
      sent = sent.map((s, i) => s + dec[i]);
    }
    // what was sent plus what is still owed equals what was computed, to float32 accuracy
    for (let i = 0; i < 3; i++) expect(sent[i] + residual[i]).toBeCloseTo(64 * g[i], 4);
    expect(Math.abs(sent[0] - 64 * g[0])).toBeLessThan(Math.abs(64 * (roundBf16(g[0]) - g[0])));
  });

  it('a bf16 shard result is half the size and decodes to float32', () => {
    const grad = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const base = {
      jobId: 'j',
      step: 3,
      level: 0,
      index: 1,
      count: 8,
      lossSum: 1.5,
      correct: 4,
      workerId: 'w1',
      computeMs: 1,
    };
    const f32 = encodeShardResult({ ...base, grad });
    const b16 = encodeShardResult({ ...base, grad: toBf16(grad, new Uint16Array(1000)) });
    expect(b16.length).toBeLessThan(f32.length * 0.55);
    const r = decodeShardResult(b16, { jobId: 'j', step: 3, level: 0, index: 1, count: 8, length: 1000 });
    expect(r.grad).toBeInstanceOf(Float32Array);
    expect(r.grad[10]).toBe(roundBf16(grad[10]));
  });
});
