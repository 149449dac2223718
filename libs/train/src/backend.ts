import type { Block } from './tree-reducer.js';

/** One shard's (or one aligned block of shards') backprop result: the gradient SUM over its samples (not the mean). */
export interface ShardGradient {
  grad: Float32Array; // [paramCount], same layout as the parameters
  lossSum: number;
  count: number;
  correct: number;
}

export interface StepRequest {
  /** Global optimizer step, 0-based; with the job it names the step's weights and tasks. */
  step: number;
  epoch: number;
  /** The weights to differentiate at; read-only for the backend and only during the call. */
  params: Float32Array;
  /** Sample indices of each shard, in shard order: consecutive views of one array, so a block of shards is one slice. */
  shards: Uint32Array[];
}

/**
 * Where shard gradients are computed: in this process (LocalBackend) or on workers across Redis.
 * The training loop is the same for both; only this changes.
 */
export interface GradientBackend {
  /** The matrix kernel whose results this backend produces (recorded in the model). */
  readonly kernel: string;
  /**
   * Computes every shard of the step and hands over the sums of aligned blocks (tree-reducer.ts)
   * that together cover each shard exactly once, in any order. Each block's sum must be the
   * TreeReducer's sum of its shards. A result is only valid during the call: the loop adds it to
   * its tree and moves on.
   */
  computeStep(req: StepRequest, accept: (block: Block, result: ShardGradient) => void): Promise<void>;
  close(): Promise<void>;
}
