/** One shard's backprop result: the gradient SUM over its samples (not the mean). */
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
  /** Sample indices of each shard, in shard order. */
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
   * Computes every shard of the step and calls `accept` exactly once per shard, in shard order
   * (0, 1, 2, …). The result is only valid during the call: the loop adds it and moves on.
   */
  computeStep(req: StepRequest, accept: (shard: number, result: ShardGradient) => void): Promise<void>;
  close(): Promise<void>;
}
