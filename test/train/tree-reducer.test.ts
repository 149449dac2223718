import { describe, expect, it } from 'vitest';
import { createWasmKernels, jsKernels } from '@redgrad/nn';
import { TreeReducer, blockRange, isBlock, rootLevel } from '@redgrad/train';
import type { Block, ShardGradient } from '@redgrad/train';

const shard = (grad: number[], lossSum = 0, count = 1, correct = 0): ShardGradient => ({
  grad: Float32Array.from(grad),
  lossSum,
  count,
  correct,
});
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** A seeded generator of float32 values spread over many magnitudes, so the order of additions shows. */
/** A linear congruential generator of floats in [0, 1): the test's own, fixed sequence. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function values(seed: number, n: number): number[] {
  const rnd = lcg(seed);
  return Array.from({ length: n }, () => Math.fround((rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 4)));
}

/** Sums `leaves` (shards) handed over as the given blocks, each pre-summed by a reducer of its own as a worker does. */
function sumAsBlocks(leaves: ShardGradient[], blocks: Block[], paramCount: number): ShardGradient {
  const root = new TreeReducer(jsKernels, paramCount);
  const inner = new TreeReducer(jsKernels, paramCount);
  root.reset(leaves.length);
  for (const b of blocks) {
    const [from, to] = blockRange(b, leaves.length);
    inner.reset(to - from);
    for (let s = from; s < to; s++) inner.add({ level: 0, index: s - from }, leaves[s]);
    root.add(b, inner.result());
  }
  const r = root.result();
  return { ...r, grad: Float32Array.from(r.grad) };
}

/** Every partition of `n` shards into aligned blocks, with a seeded shuffle of their order. */
function randomPartition(n: number, seed: number): Block[] {
  const rnd = lcg(seed);
  const out: Block[] = [];
  const split = (level: number, index: number) => {
    if (!isBlock({ level, index }, n)) return;
    if (level === 0 || rnd() < 0.4) out.push({ level, index });
    else {
      split(level - 1, 2 * index);
      split(level - 1, 2 * index + 1);
    }
  };
  split(rootLevel(n), 0);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('pairwise tree reduction over shards', () => {
  it('matches a hand-computed sum where sequential addition differs', () => {
    // float32: 1 + 2^-24 rounds to 1 (ties to even), so the sequential sum ((1 + e) + e) + e stays 1,
    // while the tree (1 + e) + (e + e) = 1 + 2^-23
    const e = 2 ** -24;
    const r = new TreeReducer(jsKernels, 1);
    r.reset(4);
    for (const [i, v] of [1, e, e, e].entries()) r.add({ level: 0, index: i }, shard([v], v, 2, 1));
    expect(r.result().grad[0]).toBe(1 + 2 ** -23);
    expect(r.result().lossSum).toBe(1 + e + (e + e));
    expect([r.result().count, r.result().correct]).toEqual([8, 4]);
    // 3 shards: the right child of the root's right child is empty, so the root is (a + b) + c
    r.reset(3);
    for (const i of [2, 1, 0]) r.add({ level: 0, index: i }, shard([[1, e, e][i]]));
    expect(r.result().grad[0]).toBe(1);
  });

  it('gives the same bits for any arrival order and any partition into aligned blocks', () => {
    for (const n of [1, 2, 3, 5, 7, 8, 13]) {
      const leaves = Array.from({ length: n }, (_, s) =>
        shard(values(s + 1, 33), values(s + 100, 1)[0] * 1e3, 3, s % 2),
      );
      const reference = sumAsBlocks(
        leaves,
        Array.from({ length: n }, (_, s) => ({ level: 0, index: s })),
        33,
      );
      expect(reference.count).toBe(3 * n);
      for (let seed = 1; seed <= 25; seed++) {
        const got = sumAsBlocks(leaves, randomPartition(n, seed * 7919 + n), 33);
        expect(bits(got.grad), `${n} shards, partition ${seed}`).toBe(bits(reference.grad));
        expect(got.lossSum).toBe(reference.lossSum);
        expect([got.count, got.correct]).toEqual([reference.count, reference.correct]);
      }
    }
  });

  it('adds the same bits with the WebAssembly kernels and reuses its buffers', () => {
    const wasm = createWasmKernels();
    const leaves = Array.from({ length: 6 }, (_, s) => shard(values(s + 9, 100)));
    const js = sumAsBlocks(leaves, randomPartition(6, 3), 100);
    const r = new TreeReducer(wasm, 100);
    const held = new Set<Float32Array>();
    for (let round = 0; round < 3; round++) {
      r.reset(6);
      for (const s of [5, 0, 3, 1, 4, 2]) r.add({ level: 0, index: s }, leaves[s]);
      expect(bits(r.result().grad)).toBe(bits(js.grad));
      held.add(r.result().grad);
    }
    expect(held.size).toBe(1); // the same pool buffer each round: nothing allocated after the first
  });

  it('refuses a block outside the tree and a gradient of the wrong length', () => {
    const r = new TreeReducer(jsKernels, 2);
    r.reset(5);
    expect(() => r.add({ level: 1, index: 3 }, shard([0, 0]))).toThrow(/block \(1, 3\) is not in a tree of 5 shards/);
    expect(() => r.add({ level: 0, index: 0 }, shard([0]))).toThrow(/gradient of 1 values, expected 2/);
    expect(blockRange({ level: 2, index: 1 }, 5)).toEqual([4, 5]);
    expect(rootLevel(5)).toBe(3);
  });
});
