import type { Redis } from 'ioredis';
import { Network } from '@redgrad/nn';
import type { Kernels } from '@redgrad/nn';
import type { Dataset } from '@redgrad/data';
import { decodeWeightsInto } from '@redgrad/protocol';
import type { Keys } from '@redgrad/protocol';
import { datasetFromWire, downloadDataset, readJobRecord } from '@redgrad/cluster';
import type { JobRecord } from '@redgrad/cluster';
import { TreeReducer, architecture, selectKernels } from '@redgrad/train';
import type { ShardGradient } from '@redgrad/train';

/** Data sets by content hash, least recently used evicted past a byte budget. */
export class DatasetCache {
  private readonly sets = new Map<string, { ds: Dataset; bytes: number }>();
  private bytes = 0;
  private readonly loading = new Map<string, Promise<Dataset | null>>();

  constructor(private readonly maxBytes: number) {}

  async get(redis: Redis, keys: Keys, hash: string): Promise<Dataset | null> {
    const hit = this.sets.get(hash);
    if (hit) {
      this.sets.delete(hash);
      this.sets.set(hash, hit); // most recently used last
      return hit.ds;
    }
    let p = this.loading.get(hash);
    if (!p) {
      p = downloadDataset(redis, keys, hash).then((wire) => (wire ? datasetFromWire(wire) : null));
      this.loading.set(hash, p);
      p.finally(() => this.loading.delete(hash)).catch(() => {});
    }
    const ds = await p;
    if (ds && !this.sets.has(hash)) {
      const bytes = ds.x.byteLength + ds.y.byteLength;
      this.sets.set(hash, { ds, bytes });
      this.bytes += bytes;
      for (const [k, v] of this.sets) {
        if (this.bytes <= this.maxBytes || k === hash) break;
        this.sets.delete(k);
        this.bytes -= v.bytes;
      }
    }
    return ds;
  }

  get size(): number {
    return this.sets.size;
  }
}

/** Per training job: its record, a network sized for its shards, and the weights version loaded. */
export interface JobContext {
  record: JobRecord;
  net: Network;
  kernels: Kernels;
  classification: boolean;
  /**
   * The last weights frame fetched (once per version, kept as Redis returned it), and the version
   * net.params holds: the frame is decoded straight into net.params when a task needs another version.
   */
  weights: { key: string; frame: Buffer } | null;
  paramsKey: string | null;
  /** Sums a block's shards in tree order; `leaf` carries one shard's result into it. */
  reducer: TreeReducer;
  leaf: ShardGradient;
  /** bf16 gradients: what rounding lost so far (error feedback), and the encoded buffer. */
  residual?: Float32Array; // [paramCount]
  bf16?: Uint16Array; // [paramCount]
}

/** Job contexts, a few at a time (a worker serves the jobs of the moment). */
export class JobCache {
  private readonly jobs = new Map<string, JobContext>();

  constructor(private readonly maxJobs = 4) {}

  async get(redis: Redis, keys: Keys, jobId: string, data: Dataset, kernelName: string): Promise<JobContext> {
    const hit = this.jobs.get(jobId);
    if (hit && hit.kernels.name === kernelName) return hit;
    const record = await readJobRecord(redis, keys, jobId);
    const kernels = selectKernels(kernelName);
    if (kernels.name !== kernelName) throw new Error(`this worker cannot run kernel ${kernelName}`);
    const arch = architecture(record.spec, data);
    const net = new Network(arch, kernels, record.spec.shardSize);
    const ctx: JobContext = {
      record,
      net,
      kernels,
      classification: data.task === 'classification',
      weights: null,
      paramsKey: null,
      reducer: new TreeReducer(kernels, net.paramCount),
      leaf: { grad: net.grad, lossSum: 0, count: 0, correct: 0 },
    };
    this.jobs.set(jobId, ctx);
    if (this.jobs.size > this.maxJobs) this.jobs.delete(this.jobs.keys().next().value!);
    return ctx;
  }

  /** A step's weights frame, fetched once per version; null when the step is gone. */
  async weightsFor(redis: Redis, ctx: JobContext, weightsKey: string): Promise<Buffer | null> {
    const cached = ctx.weights;
    if (cached?.key === weightsKey) return (await redis.exists(weightsKey)) === 1 ? cached.frame : null;
    const frame = await redis.getBuffer(weightsKey);
    if (!frame) return null;
    ctx.weights = { key: weightsKey, frame };
    return frame;
  }

  /**
   * Puts a step's weights into the job's network unless it holds them already: the frame is checked
   * and copied once, into net.params (no intermediate array). Synchronous, so with concurrency > 1
   * no other task can load other weights between this and the gradient.
   */
  loadWeights(ctx: JobContext, jobId: string, step: number, weightsKey: string, frame: Buffer): void {
    if (ctx.paramsKey === weightsKey) return;
    ctx.paramsKey = null; // a frame that fails its checks may leave part of itself in net.params
    decodeWeightsInto(frame, { jobId, step, length: ctx.net.paramCount }, ctx.net.params);
    ctx.paramsKey = weightsKey;
  }
}
