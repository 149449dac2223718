import { createHash } from 'node:crypto';
import { HOST_LITTLE_ENDIAN } from '@redgrad/errors';
import type { Dataset } from './dataset.js';

// Bump when the encoding below changes, so old and new hashes never collide.
const HASH_FORMAT = 'redgrad-dataset-v1';

/**
 * sha256 (hex) of a canonical encoding of the data set's content, used to content-address it in Redis.
 * Covered: task, n, features, outputs, classes, x and y bytes (little-endian float32). Not covered: name,
 * feature and target names, so the same numbers loaded from two paths share one hash.
 */
export function datasetHash(ds: Dataset): string {
  const h = createHash('sha256');
  h.update(`${HASH_FORMAT}\0${ds.task}\0`);
  const dims = new DataView(new ArrayBuffer(16));
  dims.setUint32(0, ds.n, true);
  dims.setUint32(4, ds.features, true);
  dims.setUint32(8, ds.outputs, true);
  dims.setUint32(12, ds.classes?.length ?? 0, true);
  h.update(new Uint8Array(dims.buffer));
  for (const c of ds.classes ?? []) {
    const bytes = Buffer.from(c, 'utf8');
    const len = new DataView(new ArrayBuffer(4));
    len.setUint32(0, bytes.length, true);
    h.update(new Uint8Array(len.buffer));
    h.update(bytes);
  }
  h.update(littleEndianBytes(ds.x.subarray(0, ds.n * ds.features)));
  h.update(littleEndianBytes(ds.y.subarray(0, ds.n * ds.outputs)));
  return h.digest('hex');
}

function littleEndianBytes(a: Float32Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(4 * i, a[i], true);
  return out;
}
