import { blockRange, isBlock, rootLevel } from '@redgrad/train';
import type { Block } from '@redgrad/train';

/**
 * The aligned blocks a step's `shardCount` shards are handed out as for `slots` compute slots: from
 * the whole step, the largest block (the first of equals) is split in halves until there are at
 * least `slots` blocks or every block is one shard. Returned in shard order.
 */
export function planBlocks(shardCount: number, slots: number): Block[] {
  const want = Math.max(1, Math.floor(slots));
  const blocks: Block[] = [{ level: rootLevel(shardCount), index: 0 }];
  const size = (b: Block) => blockRange(b, shardCount)[1] - blockRange(b, shardCount)[0];
  while (blocks.length < want) {
    let at = -1;
    for (let i = 0; i < blocks.length; i++)
      if (blocks[i].level > 0 && (at < 0 || size(blocks[i]) > size(blocks[at]))) at = i;
    if (at < 0) break;
    blocks.splice(at, 1, ...children(blocks[at], shardCount));
  }
  return blocks;
}

/**
 * The plan for `workerSlots` slots, and the block the coordinator computes itself when `withOwn`:
 * the smallest block of a plan with one more slot, taken only when it makes the largest block left
 * to the workers smaller (with 1 worker it halves the step; with 2 workers and 4 shards it would not).
 */
export function planStep(
  shardCount: number,
  workerSlots: number,
  withOwn: boolean,
): { blocks: Block[]; own: Block | null } {
  const blocks = planBlocks(shardCount, workerSlots);
  if (!withOwn || workerSlots < 1) return { blocks, own: null };
  const shared = planBlocks(shardCount, workerSlots + 1);
  if (shared.length < 2) return { blocks, own: null };
  const size = (b: Block) => blockRange(b, shardCount)[1] - blockRange(b, shardCount)[0];
  let own = shared.length - 1;
  for (let i = shared.length - 1; i >= 0; i--) if (size(shared[i]) < size(shared[own])) own = i;
  const rest = shared.filter((_, i) => i !== own);
  const largest = (bs: Block[]) => Math.max(...bs.map(size));
  if (largest(rest) >= largest(blocks)) return { blocks, own: null };
  return { blocks: rest, own: shared[own] };
}

/** The shards of one step that have their result, and the tests on blocks the backend needs. */
export class Coverage {
  private readonly done: Uint8Array;
  private count = 0;

  constructor(readonly shardCount: number) {
    this.done = new Uint8Array(shardCount);
  }

  get complete(): boolean {
    return this.count === this.shardCount;
  }

  /** True when any shard of `b` has its result: a result for `b` would count a shard twice. */
  overlaps(b: Block): boolean {
    if (!isBlock(b, this.shardCount)) return false;
    const [from, to] = blockRange(b, this.shardCount);
    for (let s = from; s < to; s++) if (this.done[s]) return true;
    return false;
  }

  mark(b: Block): void {
    const [from, to] = blockRange(b, this.shardCount);
    for (let s = from; s < to; s++)
      if (!this.done[s]) {
        this.done[s] = 1;
        this.count++;
      }
  }

  /** `b` split into the largest aligned blocks none of whose shards has a result yet. */
  uncovered(b: Block): Block[] {
    if (!this.overlaps(b)) return [b];
    const [from, to] = blockRange(b, this.shardCount);
    let all = true;
    for (let s = from; s < to && all; s++) all = this.done[s] === 1;
    if (all || b.level === 0) return [];
    return children(b, this.shardCount).flatMap((c) => this.uncovered(c));
  }
}

/** The non-empty children of a block (one when the right child covers no shard). */
export function children(b: Block, shardCount: number): Block[] {
  return [
    { level: b.level - 1, index: 2 * b.index },
    { level: b.level - 1, index: 2 * b.index + 1 },
  ].filter((c) => isBlock(c, shardCount));
}

/** True when `inner` lies within `outer`. */
export function within(inner: Block, outer: Block): boolean {
  return inner.level <= outer.level && inner.index >> (outer.level - inner.level) === outer.index;
}
