import type { Redis } from 'ioredis';
import { WORKER_ID_PATTERN, validateHeartbeat } from '@redgrad/protocol';
import type { Keys } from '@redgrad/protocol';

/**
 * The live workers' compute slots, from the heartbeat registry (`keys.workers()`, a zset scored by
 * each worker's last heartbeat, and each worker's heartbeat record, which carries its concurrency).
 * Read every `pollMs` in the background, never on a step's path: a step reads the last count. A
 * worker counts while its last heartbeat is younger than `staleMs`.
 */
export class WorkerSlots {
  private count = 0;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly staleMs = 6000,
    private readonly pollMs = 1000,
  ) {}

  /** Reads once now (so the first step sees the workers), then every pollMs. */
  async start(): Promise<void> {
    await this.read();
    this.timer ??= setInterval(() => void this.read(), this.pollMs);
    this.timer.unref();
  }

  /** Reads now: a job about to start plans its first steps for the workers live at that moment. */
  refresh(): Promise<void> {
    return this.read();
  }

  get slots(): number {
    return this.count;
  }

  private read(): Promise<void> {
    this.reading ??= this.countSlots()
      .then(
        (n) => {
          this.count = n;
        },
        () => {},
      ) // Redis down: keep the last count
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }

  private async countSlots(): Promise<number> {
    const ids = (await this.redis.zrangebyscore(this.keys.workers(), Date.now() - this.staleMs, '+inf')).filter((id) =>
      WORKER_ID_PATTERN.test(id),
    );
    if (!ids.length) return 0;
    const records = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    let slots = 0;
    for (const text of records) {
      try {
        slots += text ? (validateHeartbeat(text).concurrency ?? 1) : 1;
      } catch {
        slots += 1; // a worker is there; its record is unreadable
      }
    }
    return slots;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
