import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readInputBytes } from '@redgrad/errors';
import type { Dataset } from './dataset.js';
import { DataError } from './dataset.js';

/** Type code 0x08 (unsigned byte) with 3 dims (images) or 1 dim (labels): the MNIST layout. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

/** Class names of Fashion-MNIST label values 0..9 (Xiao, Rasul & Vollgraf, 2017). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** One decoded IDX file: its dims (big-endian in the file) and the ubyte payload. */
export interface IdxArray {
  source: string;
  dims: number[]; // [count] for labels, [count, rows, cols] for images
  data: Uint8Array; // [product of dims]
}

export interface IdxOptions {
  /** Class name per label value; default "0".."9". */
  classes?: string[];
  /** Data set name; default the images file's base name. */
  name?: string;
}

const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/**
 * Decodes one IDX file (raw, or gzip detected by its 1f 8b magic). `expected` is the magic it must carry.
 * Every problem is a DataError naming the source and the byte offset (in the decompressed stream).
 */
export function parseIdx(buffer: Uint8Array, source: string, expected: number): IdxArray {
  let bytes = buffer;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(`${source}: gzip data is corrupt (${(err as Error).message})`);
    }
  }
  if (bytes.length < 4)
    throw new DataError(`${source} byte 0: truncated header: expected 4 bytes of magic, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expected) {
    throw new DataError(`${source} byte 0: wrong IDX magic: expected ${hex(expected)}, got ${hex(magic)}`);
  }
  const ndims = magic & 0xff;
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(
      `${source} byte 4: truncated header: expected ${4 * ndims} bytes of dims, got ${bytes.length - 4}`,
    );
  }
  const dims: number[] = [];
  let size = 1;
  for (let d = 0; d < ndims; d++) {
    dims.push(view.getUint32(4 + 4 * d, false));
    size *= dims[d];
  }
  const got = bytes.length - headerBytes;
  if (got !== size) {
    const what = got < size ? 'truncated data' : 'trailing bytes after the data';
    throw new DataError(
      `${source} byte ${headerBytes}: ${what}: dims ${dims.join('x')} need ${size} bytes, got ${got}`,
    );
  }
  return { source, dims, data: bytes.subarray(headerBytes) };
}

/** Pairs an images file and a labels file into a classification Dataset: pixels / 255, labels one-hot. */
export function idxDataset(images: IdxArray, labels: IdxArray, opts: IdxOptions = {}): Dataset {
  const classes = opts.classes ?? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  const [n, rows, cols] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(`${images.source} has ${n} images but ${labels.source} has ${labels.dims[0]} labels`);
  }
  const features = rows * cols;
  const x = new Float32Array(n * features); // [n, rows*cols]
  for (let i = 0; i < x.length; i++) x[i] = images.data[i] / 255;
  const outputs = classes.length;
  const y = new Float32Array(n * outputs); // [n, classes] one-hot
  for (let i = 0; i < n; i++) {
    const label = labels.data[i];
    if (label >= outputs) {
      throw new DataError(
        `${labels.source} byte ${8 + i}: label ${label} out of range (${outputs} classes: 0..${outputs - 1})`,
      );
    }
    y[i * outputs + label] = 1;
  }
  const name = opts.name ?? basename(images.source);
  return { name, task: 'classification', n, features, outputs, x, y, classes: [...classes] };
}

/** Reads an MNIST-style pair of IDX files (raw or .gz). */
export async function readIdx(imagesPath: string, labelsPath: string, opts: IdxOptions = {}): Promise<Dataset> {
  const images = parseIdx(await readInputBytes(imagesPath), imagesPath, IDX_IMAGES_MAGIC);
  const labels = parseIdx(await readInputBytes(labelsPath), labelsPath, IDX_LABELS_MAGIC);
  return idxDataset(images, labels, opts);
}

export interface FashionMnistPaths {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/** Where Debian's package dataset-fashion-mnist installs the files. */
export const FASHION_MNIST_DIRS = ['/usr/share/datasets/fashion-mnist'];

/** Finds the installed Fashion-MNIST files, or throws a DataError saying how to install them. */
export function fashionMnistPaths(dirs: string[] = FASHION_MNIST_DIRS): FashionMnistPaths {
  for (const dir of dirs) {
    const paths = {
      trainImages: join(dir, 'train-images-idx3-ubyte.gz'),
      trainLabels: join(dir, 'train-labels-idx1-ubyte.gz'),
      testImages: join(dir, 't10k-images-idx3-ubyte.gz'),
      testLabels: join(dir, 't10k-labels-idx1-ubyte.gz'),
    };
    if (Object.values(paths).every((p) => existsSync(p))) return paths;
  }
  throw new DataError(
    `Fashion-MNIST files not found (looked in ${dirs.join(', ')}); install them with: apt-get install dataset-fashion-mnist`,
  );
}
