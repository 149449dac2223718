// msgpackr framing shared by every binary payload: version + kind header, and
// typed arrays wrapped as { dtype, length, data } so a reader can check them.
import { Packr, Unpackr } from 'msgpackr';
import { ProtocolError } from './errors.js';
import type { Dtype, PayloadKind } from './messages.js';
import { PROTOCOL_VERSION } from './messages.js';
import type { Fields } from './validate.js';
import { describeValue, expectRecord, typedArrayTag } from './validate.js';

// moreTypes: typed arrays travel as msgpackr typed-array extensions (a
// Float32Array comes back as one, not as a Buffer). useRecords: false keeps
// objects as standard MessagePack maps: single payloads gain nothing from
// record structures, and plain maps stay readable by any MessagePack decoder.
const packr = new Packr({ moreTypes: true, useRecords: false });
const unpackr = new Unpackr({ moreTypes: true, useRecords: false });

export type TypedArrayOf<D extends Dtype> = D extends 'f32'
  ? Float32Array
  : D extends 'u8'
    ? Uint8Array
    : D extends 'bf16'
      ? Uint16Array
      : Uint32Array;

/** How a typed array sits inside a payload. */
export interface WireTensor<D extends Dtype = Dtype> {
  dtype: D;
  length: number;
  data: TypedArrayOf<D>;
}

const TAG_OF: Record<Dtype, string> = {
  f32: 'Float32Array',
  u8: 'Uint8Array',
  u32: 'Uint32Array',
  bf16: 'Uint16Array',
};

export function packPayload(obj: Fields): Buffer {
  return packr.pack(obj);
}

/** Unpack bytes into an object; undecodable or cut-short bytes → 'truncated'. */
export function unpackPayload(buf: Uint8Array, what: string): Fields {
  if (!(buf instanceof Uint8Array)) {
    throw new ProtocolError('bad-field', `${what}: expected bytes, got ${describeValue(buf)}`);
  }
  if (buf.length === 0) throw new ProtocolError('truncated', `${what}: empty payload (0 bytes)`);
  let value: unknown;
  try {
    value = unpackr.unpack(buf);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ProtocolError('truncated', `${what}: ${buf.length} bytes are not one complete msgpack message (${msg})`);
  }
  return expectRecord(value, what);
}

/** Check `v` then `kind`; the first thing a reader learns is whether it can read this at all. */
export function checkHeader(obj: Fields, what: string, kind: PayloadKind | readonly PayloadKind[]): void {
  if (obj.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      'bad-version',
      `${what}: format version ${describeValue(obj.v)} expected ${PROTOCOL_VERSION}`,
    );
  }
  const kinds: readonly PayloadKind[] = typeof kind === 'string' ? [kind] : kind;
  if (typeof obj.kind !== 'string' || !(kinds as readonly string[]).includes(obj.kind)) {
    throw new ProtocolError(
      'bad-kind',
      `${what}: kind ${describeValue(obj.kind)} expected ${kinds.map((k) => `"${k}"`).join(' or ')}`,
    );
  }
}

export function wireTensor<D extends Dtype>(dtype: D, data: TypedArrayOf<D>): WireTensor<D> {
  if (typedArrayTag(data) !== TAG_OF[dtype]) {
    throw new ProtocolError(
      'bad-shape',
      `encode: ${dtype} tensor needs a ${TAG_OF[dtype]}, got ${describeValue(data)}`,
    );
  }
  // A Buffer is a Uint8Array subclass that msgpackr would write as plain bin; wrap it as a Uint8Array view.
  const plain = Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
  return { dtype, length: data.length, data: plain as TypedArrayOf<D> };
}

/**
 * Read `obj[key]` as a wire tensor of `dtype`, checking dtype, declared length,
 * actual length and (when given) the expected length. Returns an array that owns
 * aligned memory: never a view into `source`, whose byte offset may be unaligned
 * (ioredis getBuffer can hand out such slices).
 */
export function readTensor<D extends Dtype>(
  obj: Fields,
  key: string,
  what: string,
  dtype: D,
  expectedLength: number | undefined,
  source: Uint8Array,
): TypedArrayOf<D> {
  return readTensorFields(expectRecord(obj[key], `${what}: ${key}`), what, key, dtype, expectedLength, source);
}

/** Same as readTensor, for an object that itself has `dtype`, `length` and `data` fields. */
export function readTensorFields<D extends Dtype>(
  t: Fields,
  what: string,
  name: string,
  dtype: D,
  expectedLength: number | undefined,
  source: Uint8Array,
): TypedArrayOf<D> {
  if (t.dtype !== dtype) {
    throw new ProtocolError('bad-shape', `${what}: ${name} dtype ${describeValue(t.dtype)} expected "${dtype}"`);
  }
  const declared = t.length;
  if (typeof declared !== 'number' || !Number.isSafeInteger(declared) || declared < 0) {
    throw new ProtocolError('bad-shape', `${what}: ${name} length ${describeValue(declared)} is not a count`);
  }
  const data = t.data;
  const tag = typedArrayTag(data);
  if (tag !== TAG_OF[dtype]) {
    throw new ProtocolError('bad-shape', `${what}: ${name} data is ${describeValue(data)} expected ${TAG_OF[dtype]}`);
  }
  const arr = data as TypedArrayOf<D>;
  if (arr.length !== declared) {
    throw new ProtocolError('truncated', `${what}: ${name} holds ${arr.length} values but declares length ${declared}`);
  }
  if (expectedLength !== undefined && declared !== expectedLength) {
    throw new ProtocolError('bad-shape', `${what}: ${name} length ${declared} expected ${expectedLength}`);
  }
  const aligned = arr.byteOffset % arr.BYTES_PER_ELEMENT === 0;
  const sharesSource = arr.buffer === source.buffer;
  if (aligned && !sharesSource && !Buffer.isBuffer(arr)) return arr;
  return copyTyped(dtype, arr);
}

function copyTyped<D extends Dtype>(dtype: D, arr: TypedArrayOf<D>): TypedArrayOf<D> {
  // Byte-wise copy: works from any offset, and the new array owns aligned memory.
  const bytes = new Uint8Array(arr.byteLength);
  bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  const out =
    dtype === 'f32'
      ? new Float32Array(bytes.buffer)
      : dtype === 'u8'
        ? bytes
        : dtype === 'bf16'
          ? new Uint16Array(bytes.buffer)
          : new Uint32Array(bytes.buffer);
  return out as TypedArrayOf<D>;
}
