// The binary frame of the two payloads every step moves: the weights and a block's result. A fixed
// little-endian header, then the raw tensor bytes at a 4-byte-aligned offset, so a reader checks
// sizes and identity and views the tensor in place instead of unpacking a megabyte of msgpack.
//
//   off  size  field
//     0     4  magic 'RGF2'
//     4     1  format version (FRAME_VERSION)
//     5     1  kind: 1 weights, 2 shard-result
//     6     1  dtype: 1 f32, 2 bf16
//     7     1  reserved, 0
//     8     4  step (u32)
//    12     4  level (u32)            0 in weights
//    16     4  index (u32)            0 in weights
//    20     4  count (u32)            samples in the block; 0 in weights
//    24     4  correct (u32)          0 in weights
//    28     4  element count (u32)
//    32     8  lossSum (f64)          0 in weights
//    40     8  computeMs (f64)        0 in weights
//    48     2  jobId length (u16)
//    50     2  workerId length (u16)  0 in weights
//    52        jobId, workerId (ASCII), zero padding to a multiple of 4
//     D        elements: element count × 4 (f32) or × 2 (bf16) bytes; the frame ends there
import { ProtocolError } from './errors.js';
import { describeValue } from './validate.js';

export const FRAME_MAGIC = 0x32464752; // 'R' 'G' 'F' '2' read as a little-endian u32
/** Format version of the weights and shard-result frames (msgpack payloads were version 1). */
export const FRAME_VERSION = 2;
export const FRAME_HEADER_BYTES = 52;

export const FRAME_KIND = { weights: 1, 'shard-result': 2 } as const;
export type FrameKind = keyof typeof FRAME_KIND;
export const FRAME_DTYPE = { f32: 1, bf16: 2 } as const;
export type FrameDtype = keyof typeof FRAME_DTYPE;

/** The header fields of a frame, as numbers and strings. */
export interface FrameHeader {
  kind: FrameKind;
  dtype: FrameDtype;
  step: number;
  level: number;
  index: number;
  count: number;
  correct: number;
  elements: number;
  lossSum: number;
  computeMs: number;
  jobId: string;
  workerId: string;
  /** Byte offset of the elements from the frame's start. */
  dataOffset: number;
}

/**
 * A growable output buffer an encoder writes frames into: allocated once and grown when a frame does
 * not fit, so a process that sends one frame per step allocates nothing per step. A frame encoded
 * into it is valid until the next encode into the same buffer; an owner encodes and hands the bytes
 * to Redis before it encodes again (ioredis copies a connected command's Buffer arguments into its
 * write buffer synchronously).
 */
export class FrameBuffer {
  private buf: Buffer = Buffer.allocUnsafe(0);

  /** At least `bytes` bytes starting at byte offset 0 of a 4-byte-aligned allocation. */
  take(bytes: number): Buffer {
    if (this.buf.length < bytes) {
      // past Buffer.poolSize / 2, allocUnsafe gives an ArrayBuffer of its own at byte offset 0
      this.buf = Buffer.allocUnsafe(Math.max(bytes, this.buf.length * 2, 8192));
    }
    return this.buf.subarray(0, bytes);
  }
}

const align4 = (n: number): number => (n + 3) & ~3;

function kindOf(code: number): FrameKind | undefined {
  return code === FRAME_KIND.weights ? 'weights' : code === FRAME_KIND['shard-result'] ? 'shard-result' : undefined;
}

function dtypeOf(code: number): FrameDtype | undefined {
  return code === FRAME_DTYPE.f32 ? 'f32' : code === FRAME_DTYPE.bf16 ? 'bf16' : undefined;
}

/** True when `buf` starts with the frame magic (so it is not a msgpack payload, whose first byte is a map's). */
export function isFrame(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x52 && buf[1] === 0x47 && buf[2] === 0x46 && buf[3] === 0x32;
}

export interface FrameInit {
  kind: FrameKind;
  step: number;
  level: number;
  index: number;
  count: number;
  correct: number;
  lossSum: number;
  computeMs: number;
  jobId: string;
  workerId: string;
  data: Float32Array | Uint16Array;
}

function u32Field(what: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new ProtocolError('out-of-range', `${what}: ${name} ${describeValue(v)} does not fit in 32 bits`);
  return v;
}

/** Writes a frame into `out` (reused) or a new Buffer; the bytes are the frame, nothing more. */
export function writeFrame(f: FrameInit, out?: FrameBuffer): Buffer {
  const what = `encode ${f.kind}`;
  const dtype: FrameDtype = f.data instanceof Uint16Array ? 'bf16' : 'f32';
  const jobLen = Buffer.byteLength(f.jobId, 'latin1');
  const workerLen = Buffer.byteLength(f.workerId, 'latin1');
  if (jobLen > 0xffff || workerLen > 0xffff)
    throw new ProtocolError('bad-field', `${what}: ids of ${jobLen} and ${workerLen} characters do not fit a frame`);
  const dataOffset = align4(FRAME_HEADER_BYTES + jobLen + workerLen);
  const bytes = dataOffset + f.data.byteLength;
  // every byte is written below, so uninitialised memory is safe; Node's pool hands out 8-aligned offsets
  const buf = out ? out.take(bytes) : Buffer.allocUnsafe(bytes);
  buf.writeUInt32LE(FRAME_MAGIC, 0);
  buf[4] = FRAME_VERSION;
  buf[5] = FRAME_KIND[f.kind];
  buf[6] = FRAME_DTYPE[dtype];
  buf[7] = 0;
  buf.writeUInt32LE(u32Field(what, 'step', f.step), 8);
  buf.writeUInt32LE(u32Field(what, 'level', f.level), 12);
  buf.writeUInt32LE(u32Field(what, 'index', f.index), 16);
  buf.writeUInt32LE(u32Field(what, 'count', f.count), 20);
  buf.writeUInt32LE(u32Field(what, 'correct', f.correct), 24);
  buf.writeUInt32LE(f.data.length, 28);
  buf.writeDoubleLE(f.lossSum, 32);
  buf.writeDoubleLE(f.computeMs, 40);
  buf.writeUInt16LE(jobLen, 48);
  buf.writeUInt16LE(workerLen, 50);
  buf.write(f.jobId, FRAME_HEADER_BYTES, 'latin1');
  buf.write(f.workerId, FRAME_HEADER_BYTES + jobLen, 'latin1');
  buf.fill(0, FRAME_HEADER_BYTES + jobLen + workerLen, dataOffset);
  buf.set(new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength), dataOffset);
  return buf;
}

/**
 * Reads and checks a frame's header: its size before anything else, then magic, version, kind,
 * dtype, the id lengths, and that the bytes end exactly where the elements do. Identity and
 * values are the caller's to check (it knows what it expects).
 */
export function readFrameHeader(buf: Uint8Array, what: string, kind: FrameKind): FrameHeader {
  if (!(buf instanceof Uint8Array))
    throw new ProtocolError('bad-field', `${what}: expected bytes, got ${describeValue(buf)}`);
  if (buf.length < FRAME_HEADER_BYTES)
    throw new ProtocolError('truncated', `${what}: ${buf.length} bytes, a frame header alone is ${FRAME_HEADER_BYTES}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, true);
  if (magic !== FRAME_MAGIC) {
    throw new ProtocolError(
      'bad-version',
      `${what}: magic 0x${magic.toString(16)} expected 0x${FRAME_MAGIC.toString(16)} (a format version ${FRAME_VERSION} frame)`,
    );
  }
  const version = buf[4];
  if (version !== FRAME_VERSION)
    throw new ProtocolError('bad-version', `${what}: format version ${version} expected ${FRAME_VERSION}`);
  const k = kindOf(buf[5]);
  if (k !== kind) throw new ProtocolError('bad-kind', `${what}: kind ${k ? `"${k}"` : buf[5]} expected "${kind}"`);
  const dtype = dtypeOf(buf[6]);
  if (!dtype) throw new ProtocolError('bad-shape', `${what}: dtype code ${buf[6]} expected 1 (f32) or 2 (bf16)`);
  if (buf[7] !== 0) throw new ProtocolError('bad-field', `${what}: reserved byte ${buf[7]} expected 0`);
  const elements = dv.getUint32(28, true);
  const jobLen = dv.getUint16(48, true);
  const workerLen = dv.getUint16(50, true);
  const dataOffset = align4(FRAME_HEADER_BYTES + jobLen + workerLen);
  const expectedBytes = dataOffset + elements * (dtype === 'f32' ? 4 : 2);
  if (buf.length < expectedBytes)
    throw new ProtocolError('truncated', `${what}: ${buf.length} bytes, the header declares ${expectedBytes}`);
  if (buf.length > expectedBytes)
    throw new ProtocolError('bad-shape', `${what}: ${buf.length} bytes, the header declares ${expectedBytes}`);
  const latin1 = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return {
    kind: k,
    dtype,
    step: dv.getUint32(8, true),
    level: dv.getUint32(12, true),
    index: dv.getUint32(16, true),
    count: dv.getUint32(20, true),
    correct: dv.getUint32(24, true),
    elements,
    lossSum: dv.getFloat64(32, true),
    computeMs: dv.getFloat64(40, true),
    jobId: latin1.toString('latin1', FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + jobLen),
    workerId: latin1.toString('latin1', FRAME_HEADER_BYTES + jobLen, FRAME_HEADER_BYTES + jobLen + workerLen),
    dataOffset,
  };
}

/**
 * The frame's f32 elements as a view of its bytes when they sit at a 4-byte-aligned address, else
 * as an aligned copy (ioredis getBuffer can hand out slices at any byte offset).
 */
export function f32Elements(buf: Uint8Array, h: FrameHeader): Float32Array {
  const at = buf.byteOffset + h.dataOffset;
  if (at % 4 === 0) return new Float32Array(buf.buffer, at, h.elements);
  const out = new Float32Array(h.elements);
  new Uint8Array(out.buffer).set(buf.subarray(h.dataOffset, h.dataOffset + h.elements * 4));
  return out;
}

/** The frame's bf16 elements, a view when aligned to 2 bytes, else a copy. */
export function bf16Elements(buf: Uint8Array, h: FrameHeader): Uint16Array {
  const at = buf.byteOffset + h.dataOffset;
  if (at % 2 === 0) return new Uint16Array(buf.buffer, at, h.elements);
  const out = new Uint16Array(h.elements);
  new Uint8Array(out.buffer).set(buf.subarray(h.dataOffset, h.dataOffset + h.elements * 2));
  return out;
}

/** Copies the frame's f32 elements into `into` (same length): one byte copy from any offset. */
export function copyF32Elements(buf: Uint8Array, h: FrameHeader, into: Float32Array): Float32Array {
  new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(
    buf.subarray(h.dataOffset, h.dataOffset + h.elements * 4),
  );
  return into;
}
