import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, idxDataset, parseIdx, readIdx } from '@redgrad/data';

/** An IDX file: big-endian magic and dims, then the ubyte payload. */
function idxBytes(magic: number, dims: number[], payload: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d, false);
  });
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

// Three 2x2 images and their labels.
const PIXELS = [0, 255, 51, 102, 255, 255, 0, 0, 1, 2, 3, 4];
const LABELS = [7, 0, 9];
const images = idxBytes(IDX_IMAGES_MAGIC, [3, 2, 2], PIXELS);
const labels = idxBytes(IDX_LABELS_MAGIC, [3], LABELS);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return (err as Error).message;
  }
  throw new Error('expected a DataError');
}

describe('parseIdx', () => {
  it('decodes dims and payload, raw or gzip', () => {
    for (const buf of [images, gzipSync(images)]) {
      const idx = parseIdx(buf, 'img', IDX_IMAGES_MAGIC);
      expect(idx.dims).toEqual([3, 2, 2]);
      expect([...idx.data]).toEqual(PIXELS);
    }
  });

  it('rejects a wrong magic, in hex', () => {
    expect(errorOf(() => parseIdx(labels, 'lab.idx', IDX_IMAGES_MAGIC))).toBe(
      'lab.idx byte 0: wrong IDX magic: expected 0x00000803, got 0x00000801',
    );
    expect(errorOf(() => parseIdx(gzipSync(Buffer.from('hello world')), 'x.gz', IDX_LABELS_MAGIC))).toBe(
      'x.gz byte 0: wrong IDX magic: expected 0x00000801, got 0x68656c6c',
    );
  });

  it('rejects truncated headers and data, and trailing bytes', () => {
    expect(errorOf(() => parseIdx(images.subarray(0, 3), 'img', IDX_IMAGES_MAGIC))).toBe(
      'img byte 0: truncated header: expected 4 bytes of magic, got 3',
    );
    expect(errorOf(() => parseIdx(images.subarray(0, 10), 'img', IDX_IMAGES_MAGIC))).toBe(
      'img byte 4: truncated header: expected 12 bytes of dims, got 6',
    );
    expect(errorOf(() => parseIdx(images.subarray(0, images.length - 5), 'img', IDX_IMAGES_MAGIC))).toBe(
      'img byte 16: truncated data: dims 3x2x2 need 12 bytes, got 7',
    );
    expect(errorOf(() => parseIdx(gzipSync(labels.subarray(0, 10)), 'lab.gz', IDX_LABELS_MAGIC))).toBe(
      'lab.gz byte 8: truncated data: dims 3 need 3 bytes, got 2',
    );
    const longer = idxBytes(IDX_LABELS_MAGIC, [3], [1, 2, 3, 4]);
    expect(errorOf(() => parseIdx(longer, 'lab', IDX_LABELS_MAGIC))).toBe(
      'lab byte 8: trailing bytes after the data: dims 3 need 3 bytes, got 4',
    );
  });

  it('rejects corrupt gzip', () => {
    const gz = gzipSync(images);
    expect(errorOf(() => parseIdx(gz.subarray(0, gz.length - 6), 'img.gz', IDX_IMAGES_MAGIC))).toMatch(
      /^img\.gz: gzip data is corrupt/,
    );
  });
});

describe('idxDataset', () => {
  it('scales pixels to [0, 1] and one-hot encodes labels', () => {
    const ds = idxDataset(parseIdx(images, 'img', IDX_IMAGES_MAGIC), parseIdx(labels, 'lab', IDX_LABELS_MAGIC));
    expect(ds).toMatchObject({ name: 'img', task: 'classification', n: 3, features: 4, outputs: 10 });
    expect(ds.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect([...ds.x]).toEqual(PIXELS.map((p) => Math.fround(p / 255)));
    expect(ds.x[1]).toBe(1);
    const oneHot = (k: number) => Array.from({ length: 10 }, (_, j) => (j === k ? 1 : 0));
    expect([...ds.y]).toEqual([...oneHot(7), ...oneHot(0), ...oneHot(9)]);
  });

  it('uses given class names, and rejects labels outside them at their byte offset', () => {
    const img = parseIdx(images, 'img', IDX_IMAGES_MAGIC);
    const lab = parseIdx(idxBytes(IDX_LABELS_MAGIC, [3], [1, 0, 1]), 'lab', IDX_LABELS_MAGIC);
    const ds = idxDataset(img, lab, { classes: ['no', 'yes'] });
    expect(ds.outputs).toBe(2);
    expect([...ds.y]).toEqual([0, 1, 1, 0, 0, 1]);
    expect(errorOf(() => idxDataset(img, parseIdx(labels, 'lab', IDX_LABELS_MAGIC), { classes: ['no', 'yes'] }))).toBe(
      'lab byte 8: label 7 out of range (2 classes: 0..1)',
    );
    const bad = parseIdx(idxBytes(IDX_LABELS_MAGIC, [3], [1, 10, 1]), 'lab', IDX_LABELS_MAGIC);
    expect(errorOf(() => idxDataset(img, bad))).toBe('lab byte 9: label 10 out of range (10 classes: 0..9)');
  });

  it('rejects an image/label count mismatch', () => {
    const img = parseIdx(images, 'img', IDX_IMAGES_MAGIC);
    const lab = parseIdx(idxBytes(IDX_LABELS_MAGIC, [2], [1, 2]), 'lab', IDX_LABELS_MAGIC);
    expect(errorOf(() => idxDataset(img, lab))).toBe('img has 3 images but lab has 2 labels');
  });
});

describe('readIdx', () => {
  it('reads raw and gzip files from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redgrad-idx-'));
    writeFileSync(join(dir, 'img-idx3-ubyte'), images);
    writeFileSync(join(dir, 'lab-idx1-ubyte.gz'), gzipSync(labels));
    const ds = await readIdx(join(dir, 'img-idx3-ubyte'), join(dir, 'lab-idx1-ubyte.gz'));
    expect(ds.name).toBe('img-idx3-ubyte');
    expect(ds.n).toBe(3);
    expect(ds.y[7]).toBe(1);
    await expect(readIdx(join(dir, 'lab-idx1-ubyte.gz'), join(dir, 'img-idx3-ubyte'))).rejects.toThrow(
      `${join(dir, 'lab-idx1-ubyte.gz')} byte 0: wrong IDX magic: expected 0x00000803, got 0x00000801`,
    );
    await expect(readIdx(join(dir, 'nope'), join(dir, 'img-idx3-ubyte'))).rejects.toThrow(
      /nope: cannot read \(ENOENT\)/,
    );
  });
});
