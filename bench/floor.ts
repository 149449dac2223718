/**
 * The physical floor of a step across Redis: the bytes that must move, at the speed this Redis
 * moves payloads of that size, plus the round trips that must happen one after another.
 *
 * What must move per step, whatever the implementation: the weights are written once and read
 * once by each worker, and each worker sends back one result (a task covers a block of shards, so
 * a worker's shards need not travel separately), which the coordinator reads. What must happen in
 * sequence: the coordinator publishes, a worker fetches the weights, the worker appends its result,
 * the coordinator reads it: STEP_ROUND_TRIPS.
 *
 * The payload speed is measured here, in the same run, against the Redis that carries the step
 * traffic: the median of a few hundred SET, GET, XADD and XREAD of a buffer of the step's size,
 * less the median PING (the round trip, counted separately); measured before and after each
 * configuration runs, the lesser of the two (lesserCosts).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Publish; fetch the weights; append the result; read it. */
export const STEP_ROUND_TRIPS = 4;

/** Medians in ms of one command carrying `bytes` (PING: none). */
export interface PayloadCosts {
  bytes: number;
  reps: number;
  pingMs: number;
  setMs: number;
  getMs: number;
  xaddMs: number;
  xreadMs: number;
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Times PING, SET, GET, XADD and XREAD of one `bytes`-sized buffer, `reps` times each after a
 * warm-up, on one connection, one command at a time (as the step path's critical commands are).
 * The stream is deleted after every read so memory (and the AOF, when on) stays small.
 */
export async function measurePayloadCosts(url: string, bytes: number, reps = 300): Promise<PayloadCosts> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: 'bench-floor' });
  const key = `bench-floor:${process.pid}:value`;
  const stream = `bench-floor:${process.pid}:stream`;
  const payload = randomBytes(bytes); // incompressible, like float32 weights
  const times = {
    ping: [] as number[],
    set: [] as number[],
    get: [] as number[],
    xadd: [] as number[],
    xread: [] as number[],
  };
  const timed = async (into: number[] | null, op: () => Promise<unknown>) => {
    const t0 = performance.now();
    await op();
    into?.push(performance.now() - t0);
  };
  try {
    for (let i = -Math.min(30, reps); i < reps; i++) {
      const keep = i >= 0; // the first rounds warm up the connection, the JIT and Redis' allocator
      await timed(keep ? times.ping : null, () => redis.ping());
      await timed(keep ? times.set : null, () => redis.set(key, payload));
      await timed(keep ? times.get : null, () => redis.getBuffer(key));
      await timed(keep ? times.xadd : null, () => redis.xadd(stream, '*', 'm', payload));
      await timed(keep ? times.xread : null, () => redis.xreadBuffer('COUNT', 1, 'STREAMS', stream, '0'));
      await redis.del(stream);
    }
    await redis.del(key);
  } finally {
    redis.disconnect();
  }
  return {
    bytes,
    reps,
    pingMs: median(times.ping),
    setMs: median(times.set),
    getMs: median(times.get),
    xaddMs: median(times.xadd),
    xreadMs: median(times.xread),
  };
}

/**
 * The lesser of two measurements, command by command. Other work on a shared machine only ever
 * adds time (a 1 MB GET takes 0.5 ms on a quiet 2-core host and 5–8 ms while both cores are
 * busy), so of two measurements around a run the lesser is the closer to the floor.
 */
export function lesserCosts(a: PayloadCosts, b: PayloadCosts): PayloadCosts {
  if (a.bytes !== b.bytes) throw new Error(`payload sizes differ: ${a.bytes} and ${b.bytes} bytes`);
  return {
    bytes: a.bytes,
    reps: a.reps + b.reps,
    pingMs: Math.min(a.pingMs, b.pingMs),
    setMs: Math.min(a.setMs, b.setMs),
    getMs: Math.min(a.getMs, b.getMs),
    xaddMs: Math.min(a.xaddMs, b.xaddMs),
    xreadMs: Math.min(a.xreadMs, b.xreadMs),
  };
}

export interface StepFloor {
  /** Bytes through Redis per step. */
  bytes: number;
  /** Moving them, ms (each command's time beyond a round trip, scaled to the payload's size). */
  transferMs: number;
  /** STEP_ROUND_TRIPS × the measured round trip, ms. */
  roundTripMs: number;
  floorMs: number;
}

/**
 * The floor for `workers` workers: weights (`weightBytes`) SET once and GET by each worker, one
 * result (`resultBytes`) per worker XADDed and XREAD. Commands are counted one after another:
 * Redis serves them on one thread.
 */
export function stepFloor(
  c: PayloadCosts,
  o: { workers: number; weightBytes: number; resultBytes: number },
): StepFloor {
  const beyondRoundTrip = (ms: number, bytes: number) => (Math.max(0, ms - c.pingMs) * bytes) / c.bytes;
  const w = o.workers;
  const transferMs =
    beyondRoundTrip(c.setMs, o.weightBytes) +
    w * beyondRoundTrip(c.getMs, o.weightBytes) +
    w * (beyondRoundTrip(c.xaddMs, o.resultBytes) + beyondRoundTrip(c.xreadMs, o.resultBytes));
  const roundTripMs = STEP_ROUND_TRIPS * c.pingMs;
  return {
    bytes: o.weightBytes * (1 + w) + 2 * o.resultBytes * w,
    transferMs,
    roundTripMs,
    floorMs: transferMs + roundTripMs,
  };
}
