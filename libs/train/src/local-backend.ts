import { Network } from '@redgrad/nn';
import type { Architecture, Kernels, Samples } from '@redgrad/nn';
import type { GradientBackend, ShardGradient, StepRequest } from './backend.js';

/** Computes shards in-process, in order: the reference every distributed run must match bit for bit. */
export class LocalBackend implements GradientBackend {
  readonly kernel: string;
  private readonly net: Network;
  private readonly result: ShardGradient;

  constructor(arch: Architecture, kernels: Kernels, private readonly data: Samples, private readonly classification: boolean, maxShard: number) {
    this.kernel = kernels.name;
    this.net = new Network(arch, kernels, maxShard);
    this.result = { grad: this.net.grad, lossSum: 0, count: 0, correct: 0 };
  }

  async computeStep(req: StepRequest, accept: (shard: number, result: ShardGradient) => void): Promise<void> {
    this.net.useParams(req.params); // the loop's buffer: no copy per step
    for (let s = 0; s < req.shards.length; s++) {
      const stats = this.net.shardGradient(this.data, req.shards[s], this.classification);
      this.result.lossSum = stats.lossSum;
      this.result.count = stats.count;
      this.result.correct = stats.correct;
      accept(s, this.result);
    }
  }

  async close(): Promise<void> {}
}
