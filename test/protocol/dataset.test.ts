import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { DatasetLike } from '@redgrad/protocol';
import {
  decodeDatasetChunk,
  decodeDatasetMeta,
  encodeDatasetMeta,
  isU8Compactable,
  joinDataset,
  splitDataset,
} from '@redgrad/protocol';
import { errorOf } from './error-of.js';

const packr = new Packr({ moreTypes: true, useRecords: false });
const HASH = 'a1'.repeat(32);

/** Pixels like Fashion-MNIST after scaling by 1/255: every value is fround(k/255). */
function pixelSet(n: number, features: number, classes = 10): DatasetLike {
  const x = new Float32Array(n * features);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 37 + (i >> 3)) % 256) / 255;
  const y = new Float32Array(n * classes);
  for (let r = 0; r < n; r++) y[r * classes + (r % classes)] = 1;
  return {
    name: 'pixels',
    task: 'classification',
    n,
    features,
    outputs: classes,
    x,
    y,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
  };
}

function regressionSet(n: number): DatasetLike {
  const x = Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i) * 10);
  const y = Float32Array.from({ length: n * 2 }, (_, i) => Math.cos(i));
  return { name: 'reg', task: 'regression', n, features: 3, outputs: 2, x, y };
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  // Byte comparison: bit-exact (distinguishes -0 and NaN payloads) and fast on large arrays.
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('u8 compaction', () => {
  it('applies only when every value is exactly fround(k/255)', () => {
    const all = Float32Array.from({ length: 256 }, (_, k) => k / 255);
    expect(isU8Compactable(all)).toBe(true);
    const nudged = all.slice();
    nudged[100] = Math.fround(nudged[100] + 1e-7);
    expect(nudged[100]).not.toBe(all[100]);
    expect(isU8Compactable(nudged)).toBe(false);
    expect(isU8Compactable(Float32Array.of(-0))).toBe(false); // -0 has other bits than 0/255
    expect(isU8Compactable(Float32Array.of(NaN))).toBe(false);
    expect(isU8Compactable(Float32Array.of(1.5))).toBe(false);
    expect(isU8Compactable(Float32Array.of(-1 / 255))).toBe(false);
    expect(isU8Compactable(Float32Array.of(0.5))).toBe(false); // 0.5 is not k/255
  });

  it('reproduces the identical float32 bits for all 256 levels, and is ~4× smaller', () => {
    const ds = pixelSet(1000, 784);
    const split = splitDataset(ds, HASH, 300);
    expect(split.meta.xDtype).toBe('u8');
    const back = joinDataset(split.meta, split.xChunks, split.yChunks);
    expect(sameBits(back.x, ds.x)).toBe(true);
    const f32Bytes = 1000 * 784 * 4;
    const u8Bytes = split.xChunks.reduce((s, b) => s + b.length, 0);
    expect(u8Bytes).toBeLessThan(f32Bytes / 3.9);
  });
});

describe('splitDataset / joinDataset', () => {
  it('round-trips a classification set with a short last chunk', () => {
    const ds = pixelSet(1001, 20, 3);
    const { meta, xChunks, yChunks } = splitDataset(ds, HASH, 100);
    expect(meta).toMatchObject({
      kind: 'dataset',
      hash: HASH,
      n: 1001,
      features: 20,
      outputs: 3,
      chunkRows: 100,
      chunks: 11,
      xDtype: 'u8',
    });
    expect(meta.classes).toEqual(['c0', 'c1', 'c2']);
    expect(xChunks).toHaveLength(11);
    const last = decodeDatasetChunk(xChunks[10], meta, 'x-chunk', 10);
    expect(last.length).toBe(1 * 20);
    expect(joinDataset(meta, xChunks, yChunks)).toEqual(ds);
  });

  it('round-trips a regression set as f32 bit for bit', () => {
    const ds = regressionSet(257);
    const { meta, xChunks, yChunks } = splitDataset(ds, HASH, 64);
    expect(meta.xDtype).toBe('f32');
    const back = joinDataset(meta, xChunks, yChunks);
    expect(sameBits(back.x, ds.x)).toBe(true);
    expect(sameBits(back.y, ds.y)).toBe(true);
    expect(back.classes).toBeUndefined();
  });

  it('sizes chunks automatically and uses only the first n rows', () => {
    const ds = regressionSet(10);
    const longer = { ...ds, x: new Float32Array(100).fill(1) };
    longer.x.set(ds.x);
    const { meta, xChunks } = splitDataset(longer, HASH);
    expect(meta.chunks).toBe(1);
    expect(meta.chunkRows).toBe(10);
    expect(decodeDatasetChunk(xChunks[0], meta, 'x-chunk', 0).length).toBe(30);
  });

  it('round-trips the meta payload and checks the hash', () => {
    const { meta } = splitDataset(pixelSet(10, 4, 2), HASH, 3);
    expect(decodeDatasetMeta(encodeDatasetMeta(meta), HASH)).toEqual(meta);
    const e = errorOf(() => decodeDatasetMeta(encodeDatasetMeta(meta), 'b2'.repeat(32)));
    expect(e.code).toBe('mismatch');
    expect(e.message).toMatch(/^data set meta: hash "a1a1.*" expected "b2b2.*"$/);
  });

  it('rejects inconsistent meta', () => {
    const { meta } = splitDataset(pixelSet(10, 4, 2), HASH, 3);
    const raw = packr.unpack(encodeDatasetMeta(meta)) as Record<string, unknown>;
    expect(errorOf(() => decodeDatasetMeta(packr.pack({ ...raw, chunks: 3 }))).message).toBe(
      'data set meta: chunks 3 expected 4 (n 10 / chunkRows 3)',
    );
    expect(errorOf(() => decodeDatasetMeta(packr.pack({ ...raw, classes: ['a'] }))).message).toBe(
      'data set meta: 1 class names expected 2 (outputs)',
    );
    expect(errorOf(() => decodeDatasetMeta(packr.pack({ ...raw, xDtype: 'f16' }))).code).toBe('bad-field');
    expect(errorOf(() => decodeDatasetMeta(packr.pack({ ...raw, kind: 'x-chunk' }))).code).toBe('bad-kind');
    expect(errorOf(() => decodeDatasetMeta(packr.pack({ ...raw, v: 0 }))).code).toBe('bad-version');
  });

  it('rejects missing, swapped, short and non-finite chunks', () => {
    const { meta, xChunks, yChunks } = splitDataset(regressionSet(50), HASH, 20);
    expect(errorOf(() => joinDataset(meta, xChunks.slice(0, 2), yChunks)).message).toBe(
      `data set ${HASH}: 2 x and 3 y chunks expected 3 of each`,
    );
    const swapped = [xChunks[1], xChunks[0], xChunks[2]];
    expect(errorOf(() => joinDataset(meta, swapped, yChunks)).message).toBe('data set x-chunk 0: index 1 expected 0');
    expect(errorOf(() => joinDataset(meta, xChunks, [yChunks[0], yChunks[1], xChunks[2]])).message).toBe(
      'data set y-chunk 2: kind "x-chunk" expected "y-chunk"',
    );
    // last chunk holds 10 rows; claim it is chunk 1 (20 rows)
    const raw = packr.unpack(xChunks[2]) as Record<string, unknown>;
    const e = errorOf(() => decodeDatasetChunk(packr.pack({ ...raw, index: 1 }), meta, 'x-chunk', 1));
    expect(e.message).toBe('data set x-chunk 1: data length 30 expected 60');
    const bad = (packr.unpack(xChunks[0]) as { data: Float32Array }).data.slice();
    bad[7] = NaN;
    const nan = packr.pack({ ...(packr.unpack(xChunks[0]) as object), data: bad });
    expect(errorOf(() => decodeDatasetChunk(nan, meta, 'x-chunk', 0)).message).toBe(
      'data set x-chunk 0: data[7] is NaN, expected finite values only',
    );
    expect(errorOf(() => decodeDatasetChunk(xChunks[0].subarray(0, 40), meta, 'x-chunk', 0)).code).toBe('truncated');
  });

  it('refuses to split a data set that does not match its shape or holds NaN', () => {
    const ds = regressionSet(10);
    expect(errorOf(() => splitDataset({ ...ds, n: 11 }, HASH)).message).toBe(
      'data set reg: x has 30 values expected 33 (n × features)',
    );
    const y = ds.y.slice();
    y[3] = Infinity;
    expect(errorOf(() => splitDataset({ ...ds, y }, HASH)).message).toBe(
      'data set reg: y[3] is Infinity, expected finite values only',
    );
    expect(() => splitDataset(ds, 'bad hash')).toThrow(/hash/);
  });
});
