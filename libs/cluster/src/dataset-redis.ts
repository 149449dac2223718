// Upload and download data sets by content hash. The meta key is written last
// with SET NX: while an upload is half done the set is simply absent, and of two
// concurrent uploaders exactly one reports `uploaded: true`.
import type { Redis } from 'ioredis';
import { ProtocolError, decodeDatasetMeta, encodeDatasetMeta, joinDataset, splitDataset } from '@redgrad/protocol';
import type { DatasetLike, DatasetMeta, Keys } from '@redgrad/protocol';

/** Chunks outlive the meta by this much, so the meta always expires first and a reader never sees meta without chunks. */
const CHUNK_TTL_MARGIN_SECONDS = 300;
/** Chunks per pipeline round trip: bounds the bytes queued in one write. */
const CHUNKS_PER_PIPELINE = 16;

export interface UploadResult {
  uploaded: boolean; // false: the set was already present (or another uploader finished first)
  meta: DatasetMeta;
  bytes: number; // bytes written (0 when already present)
}

function pipelineErrors(results: [Error | null, unknown][] | null, what: string): unknown[] {
  if (!results) throw new Error(`${what}: pipeline returned no results`);
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Store `ds` under `hash` unless it is already there. With `ttlSeconds`, keys
 * expire (chunks a little after the meta); a set found present gets its TTL
 * refreshed if it had one, so a reused set does not vanish under a new job.
 */
export async function uploadDataset(
  redis: Redis,
  keys: Keys,
  ds: DatasetLike,
  hash: string,
  ttlSeconds?: number,
  chunkRows?: number,
): Promise<UploadResult> {
  if (ttlSeconds !== undefined && (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1)) {
    throw new ProtocolError('out-of-range', `uploadDataset: ttlSeconds ${ttlSeconds} must be an integer ≥ 1`);
  }
  const metaKey = keys.dataMeta(hash);
  const existing = await redis.getBuffer(metaKey);
  if (existing) {
    const meta = decodeDatasetMeta(existing, hash);
    if (ttlSeconds !== undefined) await refreshTtl(redis, keys, meta, ttlSeconds);
    return { uploaded: false, meta, bytes: 0 };
  }

  const { meta, xChunks, yChunks } = splitDataset(ds, hash, chunkRows);
  const chunkTtl = ttlSeconds === undefined ? undefined : ttlSeconds + CHUNK_TTL_MARGIN_SECONDS;
  let bytes = 0;
  for (let c0 = 0; c0 < meta.chunks; c0 += CHUNKS_PER_PIPELINE) {
    const p = redis.pipeline();
    for (let c = c0; c < Math.min(meta.chunks, c0 + CHUNKS_PER_PIPELINE); c++) {
      if (chunkTtl === undefined) {
        p.set(keys.dataX(hash, c), xChunks[c]);
        p.set(keys.dataY(hash, c), yChunks[c]);
      } else {
        p.set(keys.dataX(hash, c), xChunks[c], 'EX', chunkTtl);
        p.set(keys.dataY(hash, c), yChunks[c], 'EX', chunkTtl);
      }
      bytes += xChunks[c].length + yChunks[c].length;
    }
    pipelineErrors(await p.exec(), 'uploadDataset');
  }

  const metaBuf = encodeDatasetMeta(meta);
  const set =
    ttlSeconds === undefined
      ? await redis.set(metaKey, metaBuf, 'NX')
      : await redis.set(metaKey, metaBuf, 'EX', ttlSeconds, 'NX');
  // null: another uploader's meta landed first. Its chunks hold the same bytes (same hash), so ours did no harm.
  return { uploaded: set === 'OK', meta, bytes: set === 'OK' ? bytes + metaBuf.length : bytes };
}

async function refreshTtl(redis: Redis, keys: Keys, meta: DatasetMeta, ttlSeconds: number): Promise<void> {
  const metaKey = keys.dataMeta(meta.hash);
  // -1: stored without expiry; keep it that way.
  if ((await redis.ttl(metaKey)) === -1) return;
  const p = redis.pipeline();
  for (let c = 0; c < meta.chunks; c++) {
    p.expire(keys.dataX(meta.hash, c), ttlSeconds + CHUNK_TTL_MARGIN_SECONDS);
    p.expire(keys.dataY(meta.hash, c), ttlSeconds + CHUNK_TTL_MARGIN_SECONDS);
  }
  p.expire(metaKey, ttlSeconds);
  pipelineErrors(await p.exec(), 'uploadDataset');
}

/** The meta of a stored data set, or null when it is absent (or still uploading). */
export async function readDatasetMeta(redis: Redis, keys: Keys, hash: string): Promise<DatasetMeta | null> {
  const buf = await redis.getBuffer(keys.dataMeta(hash));
  return buf ? decodeDatasetMeta(buf, hash) : null;
}

/** Load and check a stored data set; null when absent. A missing chunk is a 'missing' ProtocolError. */
export async function downloadDataset(redis: Redis, keys: Keys, hash: string): Promise<DatasetLike | null> {
  const meta = await readDatasetMeta(redis, keys, hash);
  if (!meta) return null;
  const xBufs: Buffer[] = [];
  const yBufs: Buffer[] = [];
  for (let c0 = 0; c0 < meta.chunks; c0 += CHUNKS_PER_PIPELINE) {
    const p = redis.pipeline();
    const end = Math.min(meta.chunks, c0 + CHUNKS_PER_PIPELINE);
    for (let c = c0; c < end; c++) {
      p.getBuffer(keys.dataX(hash, c));
      p.getBuffer(keys.dataY(hash, c));
    }
    const values = pipelineErrors(await p.exec(), 'downloadDataset');
    for (let c = c0; c < end; c++) {
      const xb = values[2 * (c - c0)];
      const yb = values[2 * (c - c0) + 1];
      if (!Buffer.isBuffer(xb) || !Buffer.isBuffer(yb)) {
        throw new ProtocolError(
          'missing',
          `data set ${hash}: chunk ${c} of ${meta.chunks} is missing (${Buffer.isBuffer(xb) ? 'y' : 'x'})`,
        );
      }
      xBufs.push(xb);
      yBufs.push(yb);
    }
  }
  return joinDataset(meta, xBufs, yBufs);
}
