// Data sets as Redis values: one meta payload plus fixed-row chunks of x and y.
// x travels as 'u8' (one byte per value, 4× smaller) when every value is
// exactly Math.fround(k/255) — true for image pixels scaled by 1/255 such as
// Fashion-MNIST — and decoding rebuilds the identical float32 bits.
import { checkHeader, packPayload, readTensorFields, unpackPayload, wireTensor } from './codec.js';
import { ProtocolError } from './errors.js';
import { DATA_HASH_PATTERN } from './keys.js';
import type { DatasetChunk, DatasetLike, DatasetMeta } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { Fields } from './validate.js';
import {
  expectAllFinite,
  expectEqual,
  expectInt,
  expectOneOf,
  expectRecord,
  expectString,
  expectStringArray,
} from './validate.js';

/** Largest x or y buffer (elements) a data set may declare: 4 GiB of float32. */
const MAX_DATASET_ELEMENTS = 2 ** 30;
/** Default chunk size target: ~4 MiB of x per chunk keeps each Redis value and pipeline write moderate. */
const TARGET_CHUNK_BYTES = 4 * 1024 * 1024;

// U8_TO_F32[k] = Math.fround(k/255): the only values the u8 encoding can carry.
const U8_TO_F32 = new Float32Array(256);
for (let k = 0; k < 256; k++) U8_TO_F32[k] = k / 255;

/** True when every value is exactly Math.fround(k/255) for an integer k in 0..255 (-0 excluded: its bits differ). */
export function isU8Compactable(x: Float32Array): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const k = Math.round(v * 255);
    // NaN fails the range test; the last clause (only reached for ±0) rules out -0.
    if (!(k >= 0 && k <= 255) || U8_TO_F32[k] !== v || (v === 0 && 1 / v < 0)) return false;
  }
  return true;
}

function toU8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.round(x[i] * 255);
  return out;
}

function fromU8(bytes: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = U8_TO_F32[bytes[i]];
}

function defaultChunkRows(features: number, xDtype: 'f32' | 'u8'): number {
  const rowBytes = features * (xDtype === 'u8' ? 1 : 4);
  return Math.max(1, Math.floor(TARGET_CHUNK_BYTES / Math.max(1, rowBytes)));
}

/** Rows held by chunk `index`: chunkRows, except the last. */
function chunkRowCount(meta: Pick<DatasetMeta, 'n' | 'chunkRows'>, index: number): number {
  return Math.min(meta.chunkRows, meta.n - index * meta.chunkRows);
}

/** Check a meta object's fields and their consistency (chunks = ceil(n / chunkRows), …). */
function validateDatasetMeta(data: unknown, expectHash?: string): DatasetMeta {
  const what = 'data set meta';
  const obj = expectRecord(data, what);
  checkHeader(obj, what, 'dataset');
  const hash = expectString(obj, 'hash', what, { pattern: DATA_HASH_PATTERN });
  if (expectHash !== undefined) expectEqual(what, 'hash', hash, expectHash);
  const name = expectString(obj, 'name', what, { maxLength: 256, allowEmpty: true });
  const task = expectOneOf(obj, 'task', what, ['classification', 'regression'] as const);
  const n = expectInt(obj, 'n', what, 1);
  const features = expectInt(obj, 'features', what, 1);
  const outputs = expectInt(obj, 'outputs', what, 1);
  if (n * features > MAX_DATASET_ELEMENTS || n * outputs > MAX_DATASET_ELEMENTS) {
    throw new ProtocolError(
      'out-of-range',
      `${what}: ${n}×${features} / ${n}×${outputs} values exceed ${MAX_DATASET_ELEMENTS}`,
    );
  }
  let classes: string[] | undefined;
  if (obj.classes !== undefined) {
    classes = expectStringArray(obj, 'classes', what);
    if (classes.length !== outputs) {
      throw new ProtocolError('bad-shape', `${what}: ${classes.length} class names expected ${outputs} (outputs)`);
    }
  }
  const chunkRows = expectInt(obj, 'chunkRows', what, 1);
  const chunks = expectInt(obj, 'chunks', what, 1);
  const expectedChunks = Math.ceil(n / chunkRows);
  if (chunks !== expectedChunks) {
    throw new ProtocolError(
      'bad-shape',
      `${what}: chunks ${chunks} expected ${expectedChunks} (n ${n} / chunkRows ${chunkRows})`,
    );
  }
  const xDtype = expectOneOf(obj, 'xDtype', what, ['f32', 'u8'] as const);
  const meta: DatasetMeta = {
    v: PROTOCOL_VERSION,
    kind: 'dataset',
    hash,
    name,
    task,
    n,
    features,
    outputs,
    chunkRows,
    chunks,
    xDtype,
  };
  if (classes) meta.classes = classes;
  return meta;
}

export function encodeDatasetMeta(meta: DatasetMeta): Buffer {
  const checked = validateDatasetMeta(meta);
  return packPayload({ ...checked } as Fields);
}

export function decodeDatasetMeta(buf: Uint8Array, expectHash?: string): DatasetMeta {
  return validateDatasetMeta(unpackPayload(buf, 'data set meta'), expectHash);
}

function encodeDatasetChunk(chunk: Omit<DatasetChunk, 'v' | 'length'>): Buffer {
  const tensor =
    chunk.dtype === 'u8' ? wireTensor('u8', chunk.data as Uint8Array) : wireTensor('f32', chunk.data as Float32Array);
  return packPayload({ v: PROTOCOL_VERSION, kind: chunk.kind, index: chunk.index, ...tensor });
}

/** Decode chunk `index` of x or y and check its dtype and length against the meta. */
export function decodeDatasetChunk(
  buf: Uint8Array,
  meta: DatasetMeta,
  kind: 'x-chunk' | 'y-chunk',
  index: number,
): DatasetChunk {
  const what = `data set ${kind} ${index}`;
  const obj = unpackPayload(buf, what);
  checkHeader(obj, what, kind);
  expectEqual(what, 'index', expectInt(obj, 'index', what), index);
  const rows = chunkRowCount(meta, index);
  const cols = kind === 'x-chunk' ? meta.features : meta.outputs;
  const dtype = kind === 'x-chunk' ? meta.xDtype : 'f32';
  const data =
    dtype === 'u8'
      ? readTensorFields(obj, what, 'data', 'u8', rows * cols, buf)
      : readTensorFields(obj, what, 'data', 'f32', rows * cols, buf);
  if (data instanceof Float32Array) expectAllFinite(data, what, 'data');
  return { v: PROTOCOL_VERSION, kind, index, dtype, length: data.length, data };
}

export interface SplitDataset {
  meta: DatasetMeta;
  xChunks: Buffer[];
  yChunks: Buffer[];
}

function checkDatasetShape(ds: DatasetLike, what: string): void {
  for (const k of ['n', 'features', 'outputs'] as const) {
    if (!Number.isSafeInteger(ds[k]) || ds[k] < 1)
      throw new ProtocolError('bad-shape', `${what}: ${k} ${ds[k]} must be an integer ≥ 1`);
  }
  if (!(ds.x instanceof Float32Array) || ds.x.length < ds.n * ds.features) {
    throw new ProtocolError(
      'bad-shape',
      `${what}: x has ${ds.x?.length} values expected ${ds.n * ds.features} (n × features)`,
    );
  }
  if (!(ds.y instanceof Float32Array) || ds.y.length < ds.n * ds.outputs) {
    throw new ProtocolError(
      'bad-shape',
      `${what}: y has ${ds.y?.length} values expected ${ds.n * ds.outputs} (n × outputs)`,
    );
  }
}

/**
 * Cut a data set into a meta payload and row chunks, addressed by `hash` (use
 * libs/data datasetHash). x is stored as 'u8' when that is exact, else 'f32'.
 */
export function splitDataset(ds: DatasetLike, hash: string, chunkRows?: number): SplitDataset {
  const what = `data set ${ds.name}`;
  checkDatasetShape(ds, what);
  const x = ds.x.subarray(0, ds.n * ds.features); // [n, features]
  const y = ds.y.subarray(0, ds.n * ds.outputs); // [n, outputs]
  expectAllFinite(x, what, 'x');
  expectAllFinite(y, what, 'y');
  const xDtype = isU8Compactable(x) ? 'u8' : 'f32';
  const rows = chunkRows ?? Math.min(ds.n, defaultChunkRows(ds.features, xDtype));
  if (!Number.isSafeInteger(rows) || rows < 1)
    throw new ProtocolError('out-of-range', `${what}: chunkRows ${rows} must be an integer ≥ 1`);
  const meta: DatasetMeta = {
    v: PROTOCOL_VERSION,
    kind: 'dataset',
    hash,
    name: ds.name,
    task: ds.task,
    n: ds.n,
    features: ds.features,
    outputs: ds.outputs,
    chunkRows: rows,
    chunks: Math.ceil(ds.n / rows),
    xDtype,
  };
  if (ds.classes) meta.classes = [...ds.classes];
  validateDatasetMeta(meta);

  const xChunks: Buffer[] = [];
  const yChunks: Buffer[] = [];
  for (let c = 0; c < meta.chunks; c++) {
    const r0 = c * rows;
    const r1 = r0 + chunkRowCount(meta, c);
    const xs = x.subarray(r0 * ds.features, r1 * ds.features);
    xChunks.push(
      xDtype === 'u8'
        ? encodeDatasetChunk({ kind: 'x-chunk', index: c, dtype: 'u8', data: toU8(xs) })
        : encodeDatasetChunk({ kind: 'x-chunk', index: c, dtype: 'f32', data: xs }),
    );
    yChunks.push(
      encodeDatasetChunk({
        kind: 'y-chunk',
        index: c,
        dtype: 'f32',
        data: y.subarray(r0 * ds.outputs, r1 * ds.outputs),
      }),
    );
  }
  return { meta, xChunks, yChunks };
}

/** Rebuild the data set from its meta and every chunk, checking each one. */
export function joinDataset(
  meta: DatasetMeta,
  xBufs: readonly Uint8Array[],
  yBufs: readonly Uint8Array[],
): DatasetLike {
  const m = validateDatasetMeta(meta);
  const what = `data set ${m.hash}`;
  if (xBufs.length !== m.chunks || yBufs.length !== m.chunks) {
    throw new ProtocolError(
      'truncated',
      `${what}: ${xBufs.length} x and ${yBufs.length} y chunks expected ${m.chunks} of each`,
    );
  }
  const x = new Float32Array(m.n * m.features); // [n, features]
  const y = new Float32Array(m.n * m.outputs); // [n, outputs]
  for (let c = 0; c < m.chunks; c++) {
    const xc = decodeDatasetChunk(xBufs[c], m, 'x-chunk', c);
    const offset = c * m.chunkRows * m.features;
    if (xc.data instanceof Float32Array) x.set(xc.data, offset);
    else fromU8(xc.data, x, offset);
    const yc = decodeDatasetChunk(yBufs[c], m, 'y-chunk', c);
    y.set(yc.data as Float32Array, c * m.chunkRows * m.outputs);
  }
  const ds: DatasetLike = { name: m.name, task: m.task, n: m.n, features: m.features, outputs: m.outputs, x, y };
  if (m.classes) ds.classes = [...m.classes];
  return ds;
}
