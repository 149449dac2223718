import type { Redis } from 'ioredis';
import type { Keys } from '@redgrad/protocol';

/**
 * The live workers' compute slots, from the heartbeat registry (`keys.workers()`, a zset scored by
 * each worker's last heartbeat). Read every `pollMs` in the background, never on a step's path: a
 * step reads the last count. A worker counts while its last heartbeat is younger than `staleMs`.
 */
export class WorkerSlots {
  private count = 0;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;

  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly staleMs = 6000, private readonly pollMs = 1000) {}

  /** Reads once now (so the first step sees the workers), then every pollMs. */
  async start(): Promise<void> {
    await this.read();
    this.timer ??= setInterval(() => void this.read(), this.pollMs);
    this.timer.unref();
  }

  get slots(): number {
    return this.count;
  }

  private read(): Promise<void> {
    this.reading ??= this.redis.zcount(this.keys.workers(), Date.now() - this.staleMs, '+inf')
      .then((n) => { this.count = n; }, () => {}) // Redis down: keep the last count
      .finally(() => { this.reading = undefined; });
    return this.reading;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
