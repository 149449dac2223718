import type { Kernels } from '@redgrad/nn';
import type { ShardGradient } from './backend.js';

/**
 * An aligned block of a step's shards: the node (level, index) of the fixed pairwise tree over shard
 * indices, covering shards [index·2^level, min((index+1)·2^level, shardCount)). A leaf (level 0) is
 * one shard.
 */
export interface Block {
  level: number;
  index: number;
}

/** First shard of a block and one past its last, for a step of `shardCount` shards. */
export function blockRange(b: Block, shardCount: number): [number, number] {
  const start = b.index * 2 ** b.level;
  return [start, Math.min(start + 2 ** b.level, shardCount)];
}

/** Level of the tree's root for `shardCount` shards: the smallest L with 2^L ≥ shardCount. */
export function rootLevel(shardCount: number): number {
  let l = 0;
  while (2 ** l < shardCount) l++;
  return l;
}

/** True when `b` is a node of the tree over `shardCount` shards (its range is not empty). */
export function isBlock(b: Block, shardCount: number): boolean {
  return (
    Number.isSafeInteger(b.level) &&
    Number.isSafeInteger(b.index) &&
    b.level >= 0 &&
    b.index >= 0 &&
    b.level <= rootLevel(shardCount) &&
    b.index * 2 ** b.level < shardCount
  );
}

/**
 * The step's gradient sum as a fixed pairwise tree over shard indices: a node's sum is
 * fl(left + right) of its two children, or its left child alone when the right one covers no shard.
 * Block results may be added in any order and siblings are combined as soon as both are present;
 * float32 and float64 addition are commutative, so the root has the same bits whatever the arrival
 * order and whichever aligned blocks the shards were grouped into. Every process that sums shards
 * (the loop, a worker's block, the coordinator) uses this one reducer, so they all agree bit for bit.
 *
 * Allocation-free in steady state: sums live in a pool of `kernels.alloc` buffers (so WebAssembly
 * kernels add them in place) that grows to the most ever held at once and is then reused.
 */
export class TreeReducer {
  private readonly pool: Float32Array[] = [];
  private readonly free: number[] = [];
  // per pending node: its buffer in `pool`, loss sum, count and correct
  private readonly lossSums: number[] = [];
  private readonly counts: number[] = [];
  private readonly corrects: number[] = [];
  /** slotAt[level][index]: the pool buffer holding that node's sum, or -1. */
  private slotAt: Int32Array[] = [];
  private capacity = 0; // shards slotAt is sized for
  private shardCount = 0;
  private top = 0; // root level
  private root = -1;
  private readonly out: ShardGradient = { grad: new Float32Array(0), lossSum: 0, count: 0, correct: 0 };

  constructor(
    private readonly kernels: Kernels,
    readonly paramCount: number,
  ) {}

  /** Starts a new sum over `shardCount` shards; buffers held by the previous sum return to the pool. */
  reset(shardCount: number): void {
    if (!(Number.isSafeInteger(shardCount) && shardCount >= 1))
      throw new RangeError(`a step has at least one shard, got ${shardCount}`);
    this.top = rootLevel(shardCount);
    if (shardCount > this.capacity) {
      this.slotAt = Array.from({ length: this.top + 1 }, (_, l) => new Int32Array(Math.ceil(shardCount / 2 ** l)));
      this.capacity = shardCount;
    }
    this.free.length = 0;
    for (let i = this.pool.length - 1; i >= 0; i--) this.free.push(i);
    for (const row of this.slotAt) row.fill(-1);
    this.shardCount = shardCount;
    this.root = -1;
  }

  /** All shards are in: `result()` holds the root. */
  get done(): boolean {
    return this.root >= 0;
  }

  /**
   * Adds the sum of an aligned block. The caller guarantees blocks do not overlap (the queue backend
   * discards a result whose range is already covered before it gets here). `r` is read, not kept.
   */
  add(block: Block, r: ShardGradient): void {
    let { level, index } = block;
    if (!isBlock(block, this.shardCount))
      throw new RangeError(`block (${level}, ${index}) is not in a tree of ${this.shardCount} shards`);
    if (r.grad.length !== this.paramCount)
      throw new RangeError(
        `block (${level}, ${index}): gradient of ${r.grad.length} values, expected ${this.paramCount}`,
      );
    if (this.root >= 0) throw new RangeError(`block (${level}, ${index}) added to a complete tree`);
    while (level < this.top && this.emptySibling(level, index)) {
      level++;
      index >>= 1;
    }
    const sibling = level < this.top ? this.slotAt[level][index ^ 1] : -1;
    if (sibling >= 0) {
      // fl(a + b) = fl(b + a): adding into the sibling's buffer gives the parent's bits, without a copy
      this.kernels.addInto(this.pool[sibling], r.grad, this.paramCount);
      this.lossSums[sibling] += r.lossSum;
      this.counts[sibling] += r.count;
      this.corrects[sibling] += r.correct;
      this.slotAt[level][index ^ 1] = -1;
      this.settle(level + 1, index >> 1, sibling);
      return;
    }
    const slot = this.take();
    this.pool[slot].set(r.grad);
    this.lossSums[slot] = r.lossSum;
    this.counts[slot] = r.count;
    this.corrects[slot] = r.correct;
    this.settle(level, index, slot);
  }

  /** The root's sums; valid until the next reset. */
  result(): ShardGradient {
    if (this.root < 0) throw new Error('the tree is not complete');
    const o = this.out;
    o.grad = this.pool[this.root];
    o.lossSum = this.lossSums[this.root];
    o.count = this.counts[this.root];
    o.correct = this.corrects[this.root];
    return o;
  }

  /** Node (level, index) now holds `slot`: combine it upwards while its sibling is present or empty. */
  private settle(level: number, index: number, slot: number): void {
    for (;;) {
      if (level === this.top) {
        this.root = slot;
        return;
      }
      if (this.emptySibling(level, index)) {
        // the parent is this node itself
        level++;
        index >>= 1;
        continue;
      }
      const sib = index ^ 1;
      const other = this.slotAt[level][sib];
      if (other < 0) {
        this.slotAt[level][index] = slot;
        return;
      }
      this.kernels.addInto(this.pool[slot], this.pool[other], this.paramCount);
      this.lossSums[slot] += this.lossSums[other];
      this.counts[slot] += this.counts[other];
      this.corrects[slot] += this.corrects[other];
      this.slotAt[level][sib] = -1;
      this.free.push(other);
      level++;
      index >>= 1;
    }
  }

  /** The right sibling of a left node may cover no shard (a step's shard count is not a power of 2). */
  private emptySibling(level: number, index: number): boolean {
    return (index | 1) * 2 ** level >= this.shardCount;
  }

  private take(): number {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    this.pool.push(this.kernels.alloc(this.paramCount));
    this.lossSums.push(0);
    this.counts.push(0);
    this.corrects.push(0);
    return this.pool.length - 1;
  }
}
