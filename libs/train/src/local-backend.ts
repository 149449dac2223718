import { Network } from '@redgrad/nn';
import type { Architecture, Kernels, Samples } from '@redgrad/nn';
import type { GradientBackend, ShardGradient, StepRequest } from './backend.js';
import type { Block } from './tree-reducer.js';

/** Computes shards in-process, each handed over as a leaf of the tree: the reference every distributed run must match bit for bit. */
export class LocalBackend implements GradientBackend {
  readonly kernel: string;
  private readonly net: Network;
  private readonly result: ShardGradient;

  constructor(
    arch: Architecture,
    kernels: Kernels,
    private readonly data: Samples,
    private readonly classification: boolean,
    maxShard: number,
  ) {
    this.kernel = kernels.name;
    this.net = new Network(arch, kernels, maxShard);
    this.result = { grad: this.net.grad, lossSum: 0, count: 0, correct: 0 };
  }

  private readonly leaf: Block = { level: 0, index: 0 };

  async computeStep(req: StepRequest, accept: (block: Block, result: ShardGradient) => void): Promise<void> {
    this.computeShards(req.params, req.shards, 0, req.shards.length, accept);
  }

  /** Shards [from, to) of a step, synchronously: the queue backend runs a block of its own this way. */
  computeShards(
    params: Float32Array,
    shards: Uint32Array[],
    from: number,
    to: number,
    accept: (block: Block, result: ShardGradient) => void,
  ): void {
    this.net.useParams(params); // the loop's buffer: no copy per step
    for (let s = from; s < to; s++) {
      const stats = this.net.shardGradient(this.data, shards[s], this.classification);
      this.result.lossSum = stats.lossSum;
      this.result.count = stats.count;
      this.result.correct = stats.correct;
      this.leaf.index = s;
      accept(this.leaf, this.result);
    }
  }

  async close(): Promise<void> {}
}
